"""`python -m ppo_suite +experiment=ads [stage=<name>] [overrides]`: compose the config and run the stage (PPO by default)."""

import logging
import sys

import hydra
from omegaconf import DictConfig

from ppo_suite.config import register_configs
from ppo_suite.errors import PPOSuiteError
from ppo_suite.distributed import ranks
from ppo_suite.run_dir import register_resolvers, share_across_ranks

register_configs()
register_resolvers()
share_across_ranks()
if not ranks().main:  # one log of a data-parallel run, rank 0's; the other ranks print warnings and errors only
    sys.argv.append("hydra/job_logging=stdout")
log = logging.getLogger("ppo_suite")


@hydra.main(version_base="1.3", config_path="../conf", config_name="config")
def main(cfg: DictConfig) -> float | None:
    """Returns the stage's objective (PPO: the final held-out mean reward), the value a sweeper (e.g. Optuna) optimises."""
    from ppo_suite.stages import run_stage

    if not ranks().main:
        logging.getLogger().setLevel(logging.WARNING)
    try:
        return run_stage(cfg)
    except PPOSuiteError as err:
        log.error("%s", err)
        sys.exit(2)


if __name__ == "__main__":
    main()
