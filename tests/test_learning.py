"""PPO moves the policy towards the reward: a reward for short answers must shorten them."""

import pytest

from conftest import make_config
from ppo_suite.runner import run


def fewer_words(prompts, completions, **_):
    return [-len(c.split()) / 10 for c in completions]


@pytest.mark.slow
def test_ppo_raises_a_simple_reward(tmp_path):
    cfg = make_config(
        "+experiment=ads", "model=tiny_test", "model.finetune=full", "logger=none",
        "~reward.ad_similarity", "+reward.short={_target_:test_learning.fewer_words,_partial_:true}",
        "ppo.steps=25", "ppo.batch_size=16", "ppo.learning_rate=1e-3",
        "generation.max_new_tokens=16", "eval.num_prompts=16",
    )
    summary = run(cfg, run_dir=tmp_path)
    # measured: -0.52 -> -0.14 (held-out sd of one sample is about 0.2, of the 16-sample mean about 0.05)
    assert summary["reward_gain"] > 0.15
