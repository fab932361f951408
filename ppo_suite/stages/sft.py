"""stage=sft: supervised fine-tuning with TRL's SFTTrainer on prompt/completion demonstrations.

The prompts go through the model's chat template as the user turn (with `model.system_prompt`), exactly as PPO
renders them, and the loss covers the completion only. LoRA (`model.finetune=lora`) saves `adapter/`, which PPO
starts from with `model.adapter=<this run dir>`; full fine-tuning saves `model/` (then `model.name_or_path=`).
Writes sft.json: eval loss before and after (with `stage.eval_file`), the base, the wall time.
"""

from __future__ import annotations

import logging
from pathlib import Path

from omegaconf import DictConfig

from ppo_suite.models import load_model, lora_config
from ppo_suite.stages import output_dir, start_record, text_model
from ppo_suite.stages.training import (
    finish_record, prompt_messages, read_examples, response_messages, trainer_arguments,
)

log = logging.getLogger(__name__)
FIELDS = ["prompt", "completion"]


def run(cfg: DictConfig, run_dir: Path | None = None) -> float | None:
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    run_dir = output_dir(run_dir)
    s = cfg.stage
    train_rows = read_examples(s.train_file, FIELDS, "stage.train_file", s.trainer.max_examples)
    eval_rows = read_examples(s.eval_file, FIELDS, "stage.eval_file", s.trainer.max_eval_examples) if s.eval_file else []
    started = start_record(cfg, run_dir)
    device, source, tokenizer, fmt = text_model(cfg)

    def dataset(rows: list[dict]):
        return Dataset.from_list([
            {"prompt": prompt_messages(fmt, r["prompt"]), "completion": response_messages(fmt, r["completion"])}
            for r in rows
        ])

    lm = load_model(source, cfg.model, cfg.hardware, device)
    lora = cfg.model.finetune == "lora"
    trainer = SFTTrainer(
        model=lm,
        args=trainer_arguments(SFTConfig, cfg, run_dir, device, completion_only_loss=True, packing=False),
        train_dataset=dataset(train_rows),
        eval_dataset=dataset(eval_rows) if eval_rows else None,
        processing_class=tokenizer,
        peft_config=lora_config(cfg.model, "CAUSAL_LM") if lora else None,
    )
    report = {"train_examples": len(train_rows), "eval_examples": len(eval_rows)}
    if eval_rows:
        report["eval_loss_before"] = trainer.evaluate()["eval_loss"]
    result = trainer.train()
    report["train_loss"] = result.training_loss
    if eval_rows:
        report["eval_loss_after"] = trainer.evaluate()["eval_loss"]
    if lora:
        trainer.model.save_pretrained(run_dir / "adapter")
        log.info("sft: adapter saved; start PPO from it with model.adapter=%s", run_dir)
    else:
        trainer.model.save_pretrained(run_dir / "model")
        tokenizer.save_pretrained(run_dir / "model")
        log.info("sft: model saved; start PPO from it with model.name_or_path=%s", run_dir / "model")
    report = finish_record(cfg, run_dir, "sft", started, trainer.state.log_history, report)
    log.info("sft: %s", {k: v for k, v in report.items() if "loss" in k})
    return report.get("eval_loss_after", report["train_loss"])
