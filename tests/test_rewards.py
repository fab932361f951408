"""Rewards on literal strings, and the checks every reward's output goes through."""

import math

import pytest
import torch

from ppo_suite.errors import RewardError
from ppo_suite.rewards import WeightedReward, parse_rewards, score
from ppo_suite.rewards import ad_similarity as ad_module
from ppo_suite.rewards.ad_similarity import AdSimilarity, AdSimilaritySettings


class TableEmbedder:
    """Fixed unit vectors per text, so the reward's arithmetic can be checked by hand."""

    VECTORS = {"q": [1.0, 0.0], "rewrite": [0.6, 0.8], "original": [0.0, 1.0], "c1": [0.8, 0.6], "c2": [0.0, 1.0]}

    def __init__(self, *args, **kwargs):
        pass

    def embed(self, texts, cache=False):
        return torch.tensor([self.VECTORS[t] for t in texts])


def test_ad_similarity_formula_by_hand(monkeypatch):
    monkeypatch.setattr(ad_module, "CachedEmbedder", TableEmbedder)
    reward = AdSimilarity(AdSimilaritySettings(alpha=1.0, beta=1.0, gamma=0.5, margin=0.05))
    scores = reward(["p", "p"], ["rewrite", "rewrite"], query=["q", "q"], ad_text=["original", "original"],
                    competitors=[["c1", "c2"], []])
    # relevance cos(q, rewrite) = 0.6; content cos(original, rewrite) = 0.8;
    # ranking = -mean(relu(0.8 - 0.6 + 0.05), relu(0.0 - 0.6 + 0.05)) = -0.125 (0 with no competitors)
    assert scores == pytest.approx([0.6 - 0.125 + 0.4, 0.6 + 0.4])
    assert reward.last_terms["ranking"] == pytest.approx([-0.125, 0.0])


def test_ad_similarity_with_minilm_prefers_a_relevant_faithful_rewrite():
    reward = AdSimilarity(AdSimilaritySettings())
    original = "Book cheap flights to Lisbon with SkyFly. Fares from $99 with no booking fees."
    good = "Cheap flights to Lisbon from $99 with SkyFly, no booking fees."
    off_topic = "Fresh organic vegetables delivered to your door every week."
    competitors = ["Hotels in Lisbon from $59 a night.", "Flights to Porto from $89 with AirLow."]
    scores = reward(["p", "p"], [good, off_topic], query=["cheap flights to lisbon"] * 2,
                    ad_text=[original] * 2, competitors=[competitors] * 2)
    assert scores[0] > scores[1] + 0.5
    assert all(-3.0 < s < 2.0 for s in scores)


def constant(value):
    return lambda prompts, completions, **_: [value] * len(completions)


def test_score_weights_and_logs_each_reward():
    rewards = [WeightedReward("a", constant(1.0), 2.0), WeightedReward("b", constant(0.5), -1.0)]
    matrix, total, stats = score(rewards, ["p"] * 3, ["x", "y", "z"], {})
    assert matrix.shape == (3, 2)
    torch.testing.assert_close(total, torch.full((3,), 1.5))
    assert stats["reward/a/mean"] == 1.0 and stats["reward/b/mean"] == 0.5 and stats["reward/total/mean"] == 1.5


def test_none_is_a_logged_skip():
    skip_first = lambda prompts, completions, **_: [None] + [1.0] * (len(completions) - 1)  # noqa: E731
    rewards = [WeightedReward("sometimes", skip_first, 1.0), WeightedReward("always", constant(2.0), 1.0)]
    matrix, total, stats = score(rewards, ["p"] * 2, ["x", "y"], {})
    assert math.isnan(matrix[0, 0]) and total.tolist() == [2.0, 3.0]
    assert stats["reward/sometimes/skipped"] == 1.0


@pytest.mark.parametrize(
    "fn, message",
    [
        (lambda prompts, completions, **_: [1.0], "returned 1 scores for 2"),
        (lambda prompts, completions, **_: [1.0, float("nan")], "returned nan for completion 1"),
        (lambda prompts, completions, **_: None, "returned None"),
        (lambda prompts, completions, **_: [None, None], "every reward skipped"),
        (lambda prompts, completions, **_: 1 / 0, "raised ZeroDivisionError"),
    ],
)
def test_bad_reward_output_is_an_error_naming_the_reward(fn, message):
    with pytest.raises(RewardError, match=f"'bad'|{message}") as err:
        score([WeightedReward("bad", fn, 1.0)], ["p", "p"], ["x", "y"], {})
    assert message in str(err.value)


def my_reward(prompts, completions, **columns):
    return [float(len(c)) for c in completions]


def test_user_reward_plugs_in_with_target():
    [spec] = parse_rewards({"mine": {"weight": 0.5, "_target_": "test_rewards.my_reward", "_partial_": True}})
    reward = spec.build()
    assert reward.weight == 0.5 and reward.fn(prompts=["p"], completions=["abc"]) == [3.0]


def test_sentiment_repetition_and_length_compose_by_config_and_log_each_reward():
    from conftest import make_config

    cfg = make_config("reward=[sentiment,repetition,length]")
    rewards = [spec.build() for spec in parse_rewards(cfg.reward)]
    assert [(r.name, r.weight) for r in rewards] == [("sentiment", 1.0), ("repetition", 0.5), ("length", 0.1)]
    matrix, total, stats = score(rewards, ["p", "p"], ["A great film.", "bad bad bad bad bad bad bad bad"], {})
    # sentiment: (compound + 1) / 2 with compound 3.1/sqrt(3.1^2 + 15) = 0.6249 and -20/sqrt(20^2 + 15) = -0.9818;
    # repetition: 3/3 - 1 and 1/8 - 1; length (8 to 40 words, step): 3 words is out, 8 is in.
    expected = torch.tensor([[0.81245, 0.0, -1.0], [0.0091, -0.875, 0.0]])
    torch.testing.assert_close(matrix, expected, rtol=0, atol=1e-6)
    torch.testing.assert_close(total, torch.tensor([0.81245 - 0.1, 0.0091 - 0.4375]), rtol=0, atol=1e-6)
    assert stats["reward/sentiment/mean"] == pytest.approx((0.81245 + 0.0091) / 2)
    assert stats["reward/repetition/mean"] == pytest.approx(-0.4375)
    assert stats["reward/length/mean"] == pytest.approx(-0.5)
