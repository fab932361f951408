"""What the TRL-based stages (sft, reward_model) share: reading rows, turning them into the chat layout TRL reads,
the trainer's arguments from `stage.trainer` and `hardware`, and the record each stage leaves in its run dir."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import torch
from omegaconf import DictConfig

from ppo_suite.chat import PromptFormat
from ppo_suite.errors import ConfigError, DataError
from ppo_suite.models import autocast_dtype, base_identity
from ppo_suite.paths import resolve_path
from ppo_suite.tasks.io import read_rows, require
from ppo_suite.tracking import Tracker

log = logging.getLogger(__name__)


def read_examples(path_setting: str, fields: list[str], key: str, limit: int | None = None) -> list[dict]:
    """The rows of a JSONL/Parquet file, each checked to hold every field as a non-empty string (the first `limit`)."""
    rows = []
    for where, row in read_rows(resolve_path(path_setting)):
        require(row, fields, where)
        bad = [f for f in fields if not isinstance(row[f], str) or not row[f].strip()]
        if bad:
            raise DataError(f"{where}: field(s) {bad} must be non-empty strings ({key}={path_setting})")
        rows.append(row)
        if limit is not None and len(rows) == limit:
            break
    return rows


def prompt_messages(fmt: PromptFormat, prompt: str) -> list[dict] | str:
    """The prompt as TRL's trainers take it: chat messages (system, user) when the model has a chat template."""
    if not fmt.use_chat:
        return prompt
    system = [{"role": "system", "content": fmt.system_prompt}] if fmt.system_prompt else []
    return system + [{"role": "user", "content": prompt}]


def response_messages(fmt: PromptFormat, completion: str) -> list[dict] | str:
    return [{"role": "assistant", "content": completion}] if fmt.use_chat else completion


def trainer_arguments(config_class, cfg: DictConfig, run_dir: Path, device: torch.device, **extra):
    """A TRL config (SFTConfig, RewardConfig) from `stage.trainer`, the seed and the hardware's precision."""
    t = cfg.stage.trainer
    micro = t.micro_batch_size or t.batch_size
    if t.batch_size % micro:
        raise ConfigError(f"stage.trainer.batch_size={t.batch_size} is not divisible by stage.trainer.micro_batch_size={micro}")
    compute = autocast_dtype(cfg.hardware.autocast, device)
    return config_class(
        output_dir=str(run_dir / "trainer"),
        num_train_epochs=t.epochs,
        learning_rate=t.learning_rate,
        lr_scheduler_type=t.lr_scheduler,
        warmup_steps=t.warmup_ratio,  # a float below 1 is a ratio of the total steps
        per_device_train_batch_size=micro,
        per_device_eval_batch_size=micro,
        gradient_accumulation_steps=t.batch_size // micro,
        max_length=t.max_length,
        bf16=compute == torch.bfloat16,  # mixed precision (autocast), as PPO's forward passes
        fp16=compute == torch.float16,
        use_cpu=device.type == "cpu",
        gradient_checkpointing=cfg.hardware.gradient_checkpointing,
        seed=cfg.seed,
        logging_steps=1,
        save_strategy="no",
        report_to=[],  # the log history goes to metrics.jsonl (and W&B) through the suite's Tracker
        dataloader_num_workers=0,
        disable_tqdm=True,  # the log lines say the same, without a bar per evaluation
        **extra,
    )



def finish_record(cfg: DictConfig, run_dir: Path, name: str, started: float, log_history: list[dict], report: dict) -> dict:
    """Log the trainer's history to metrics.jsonl (and W&B), and write `<name>.json`: the report, the base it was
    trained on, and the wall time."""
    tracker = Tracker(cfg.logger, run_dir, cfg)
    for entry in log_history:
        step = int(entry.get("step", 0))
        tracker.log({k: v for k, v in entry.items() if isinstance(v, (int, float)) and k != "step"}, step=step)
    report = {**report, "base": base_identity(cfg.model), "wall_time_s": round(time.perf_counter() - started, 1)}
    tracker.summary({k: v for k, v in report.items() if isinstance(v, (int, float))})
    tracker.finish()
    (run_dir / f"{name}.json").write_text(json.dumps(report, indent=2))
    return report
