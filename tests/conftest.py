import os
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

from ppo_suite.config import register_configs

ROOT = Path(__file__).resolve().parent.parent
CONF = ROOT / "conf"
register_configs()

# A few PPO steps on the tiny test model: the shape of every end-to-end test.
TINY_RUN = [
    "+experiment=ads",
    "model=tiny_test",
    "logger=none",
    "ppo.steps=2",
    "ppo.batch_size=4",
    "ppo.num_mini_batches=2",
    "hardware.micro_batch_size=1",
    "generation.max_new_tokens=8",
    "eval.num_prompts=4",
]


@pytest.fixture(scope="session", autouse=True)
def model_cache(tmp_path_factory):
    """Tests build their embedded models into a fresh cache, never the user's."""
    cache = tmp_path_factory.mktemp("ppo_suite_cache")
    previous = os.environ.get("PPO_SUITE_CACHE")
    os.environ["PPO_SUITE_CACHE"] = str(cache)
    yield cache
    if previous is None:
        os.environ.pop("PPO_SUITE_CACHE", None)
    else:
        os.environ["PPO_SUITE_CACHE"] = previous


def make_config(*overrides: str):
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return compose(config_name="config", overrides=list(overrides))
