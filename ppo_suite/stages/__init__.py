"""Stages: what `python -m ppo_suite stage=<name>` runs. One module per stage, each with `run(cfg, run_dir)`.

Every stage writes into its run dir (Hydra's output dir) an artifact the next one takes by path: `sft` an adapter
(`model.adapter=<dir>`), `reward_model` a reward adapter (`reward=learned reward.learned.run_dir=<dir>`), `ppo` its
policy (`final/`), `evaluate` a comparison; `pipeline` runs several in order.
"""

from __future__ import annotations

import importlib
import time
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from ppo_suite.config import validate
from ppo_suite.distributed import ranks
from ppo_suite.errors import ConfigError


def run_stage(cfg: DictConfig, run_dir: Path | None = None) -> float | None:
    """Run the configured stage; returns its objective (what a sweeper optimises), or None."""
    validate(cfg)
    if cfg.stage.name != "ppo" and ranks().world > 1:
        raise ConfigError(
            f"stage={cfg.stage.name} runs in one process; only stage=ppo is data-parallel: start this stage with "
            "`python -m ppo_suite`, not torchrun or accelerate launch"
        )
    stage = importlib.import_module(f"ppo_suite.stages.{cfg.stage.name}")
    return stage.run(cfg, run_dir)


def output_dir(run_dir: Path | None) -> Path:
    """`run_dir`, or Hydra's output dir of this run."""
    if run_dir is not None:
        return Path(run_dir)
    from hydra.core.hydra_config import HydraConfig

    return Path(HydraConfig.get().runtime.output_dir)


def start_record(cfg: DictConfig, run_dir: Path) -> float:
    """Write the resolved config into the run dir (what later stages read back, e.g. model.adapter); the start time."""
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "config.yaml").write_text(OmegaConf.to_yaml(cfg, resolve=True))
    return time.perf_counter()


def text_model(cfg: DictConfig):
    """(device, model source, tokenizer, prompt format) of `cfg.model` on `cfg.hardware`: what every stage reads text with."""
    from ppo_suite.chat import prompt_format
    from ppo_suite.models import load_tokenizer, model_source, resolve_device

    source = model_source(cfg.model)
    tokenizer = load_tokenizer(source, cfg.model)
    fmt = prompt_format(tokenizer, cfg.model.chat_template, cfg.model.system_prompt)
    return resolve_device(cfg.hardware.device), source, tokenizer, fmt
