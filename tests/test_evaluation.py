"""The evaluation's metrics on literal samples, with values worked out by hand."""

import math

import pytest

from ppo_suite.evaluation import metrics_of, spread


def test_spread_skips_nan_and_a_single_value_has_no_std():
    assert spread([1.0, math.nan, 3.0]) == {"mean": 2.0, "std": pytest.approx(math.sqrt(2)), "min": 1.0, "max": 3.0}
    assert spread([5.0])["std"] == 0.0
    assert math.isnan(spread([math.nan])["mean"])


def test_metrics_of_literal_samples():
    samples = [
        {"completion": "a b", "reward": 1.0, "terms": {"x": 1.0, "y": math.nan}, "kl": 0.5, "tokens": 3, "finished": True},
        {"completion": "a a", "reward": 3.0, "terms": {"x": 2.0, "y": 1.0}, "kl": 1.5, "tokens": 5, "finished": False},
    ]
    m = metrics_of(samples, ["x", "y"])
    assert m["reward/total/mean"] == 2.0 and m["reward/total/std"] == pytest.approx(math.sqrt(2))
    assert (m["reward/total/min"], m["reward/total/max"]) == (1.0, 3.0)
    assert m["reward/x/mean"] == 1.5
    assert (m["reward/y/mean"], m["reward/y/std"]) == (1.0, 0.0)  # the skipped sample does not count
    assert m["kl_to_reference"] == 1.0 and m["kl_to_reference/max"] == 1.5
    assert m["response/tokens/mean"] == 4.0
    assert m["response/finished_frac"] == 0.5
    assert m["text/distinct_1"] == 0.5  # words a b a a: 2 distinct of 4
    assert m["text/unique_word_ratio"] == 0.75  # (2/2 + 1/2) / 2
