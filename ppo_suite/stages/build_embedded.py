"""stage=build_embedded: train the small embedded models the composed config names into the model cache, once.

Loading never trains: `model.embedded` (the test and benchmark models) and a reward's embedded reward model or task
model are built by this stage, and a run that names one not built yet stops with an error pointing here.
"""

from __future__ import annotations

import logging
from pathlib import Path

from omegaconf import DictConfig

from ppo_suite.embedded_model import build_embedded_model
from ppo_suite.rewards import parse_rewards

log = logging.getLogger(__name__)


def run(cfg: DictConfig, run_dir: Path | None = None) -> None:
    if cfg.model.embedded is not None:
        log.info("model.embedded: %s", build_embedded_model(cfg.model.embedded))
    for spec in parse_rewards(cfg.reward):
        build = getattr(spec.builtin, "build_embedded", None)
        if build is not None:
            build(spec.settings)
            log.info("reward.%s: its embedded model is built", spec.name)
