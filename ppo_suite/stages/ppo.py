"""stage=ppo (the default): the PPO runner (ppo_suite.runner); its objective is the final held-out mean reward, less
the KL beyond `eval.kl_budget` if one is set."""

from __future__ import annotations

from pathlib import Path

from omegaconf import DictConfig

from ppo_suite.runner import run as run_ppo


def run(cfg: DictConfig, run_dir: Path | None = None) -> float | None:
    summary = run_ppo(cfg, run_dir) or {}
    return summary.get("objective")
