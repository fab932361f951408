"""`make bench` runs: one iteration on the tiny test model writes its results. Nothing here is timed."""

import json
import subprocess
import sys

from conftest import ROOT


def test_the_bench_runs_one_iteration_and_writes_its_results(tmp_path):
    command = [sys.executable, str(ROOT / "experiments/bench/bench.py"), "--models", "tiny_test",
               "--warmup", "0", "--iterations", "1", "--out", str(tmp_path)]
    subprocess.run(command, check=True)  # pytest captures its output; the model cache is conftest's
    results = json.loads((tmp_path / "results.json").read_text())
    (model,) = results["models"]
    assert model["model"] == "tiny_test"
    passes = model["ppo"]["passes_per_iteration"]
    # Old log-probs and values come with the rollout; the reference takes one pass; none after training.
    assert passes["no_grad"] == 1 and passes["no_grad_after_training"] == 0
    assert passes["train"] == 2  # ppo_epochs
    assert passes["sequence_lengths"] == [64]  # 32 prompt tokens + 32 forced new tokens
    assert model["base_weight_copies"] == 1
    assert model["ppo"]["median_seconds"]["step"] > 0 and model["floor"]["median_seconds"]["total"] > 0
    assert model["ppo"]["peak_memory"] > 0 and model["inference"]["peak_memory"] > 0
    assert "| **iteration / floor**" in (tmp_path / "results.md").read_text()
