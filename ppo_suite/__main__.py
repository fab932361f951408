"""`python -m ppo_suite +experiment=ads [overrides]`: compose the config and run PPO."""

import logging
import sys

import hydra
from omegaconf import DictConfig

from ppo_suite.config import register_configs
from ppo_suite.errors import PPOSuiteError
from ppo_suite.run_dir import register_resolvers

register_configs()
register_resolvers()
log = logging.getLogger("ppo_suite")


@hydra.main(version_base="1.3", config_path="../conf", config_name="config")
def main(cfg: DictConfig) -> float | None:
    """Returns the final held-out mean reward, the value a sweeper (e.g. Optuna) optimises."""
    from ppo_suite.runner import run

    try:
        summary = run(cfg) or {}
        return summary.get("final", {}).get("reward/total/mean")
    except PPOSuiteError as err:
        log.error("%s", err)
        sys.exit(2)


if __name__ == "__main__":
    main()
