"""Stages: what `python -m ppo_suite stage=<name>` runs. One module per stage, each with `run(cfg, run_dir)`.

Every stage writes into its run dir (Hydra's output dir) an artifact the next one takes by path: `sft` an adapter
(`model.adapter=<dir>`), `reward_model` a reward adapter (`reward=learned reward.learned.run_dir=<dir>`), `ppo` its
policy (`final/`), `evaluate` a comparison; `pipeline` runs several in order.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from omegaconf import DictConfig

from ppo_suite.config import validate


def run_stage(cfg: DictConfig, run_dir: Path | None = None) -> float | None:
    """Run the configured stage; returns its objective (what a sweeper optimises), or None."""
    validate(cfg)
    stage = importlib.import_module(f"ppo_suite.stages.{cfg.stage.name}")
    return stage.run(cfg, run_dir)


def output_dir(run_dir: Path | None) -> Path:
    """`run_dir`, or Hydra's output dir of this run."""
    if run_dir is not None:
        return Path(run_dir)
    from hydra.core.hydra_config import HydraConfig

    return Path(HydraConfig.get().runtime.output_dir)
