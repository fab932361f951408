"""`make bench` runs: one iteration on the tiny test model writes its results. Nothing here is timed."""

import importlib.util
import json
import subprocess
import sys

import pytest
from omegaconf import OmegaConf

from conftest import ROOT

BENCH = [sys.executable, str(ROOT / "experiments/bench/bench.py"), "--models", "tiny_test", "--warmup", "0",
         "--iterations", "1"]


def test_the_bench_runs_one_iteration_and_writes_its_results(tmp_path):
    command = [*BENCH, "--variant", "fp32=hardware.autocast=off", "--out", str(tmp_path)]
    subprocess.run(command, check=True)  # pytest captures its output; the model cache is conftest's
    results = json.loads((tmp_path / "results.json").read_text())
    (model,) = results["models"]
    assert (model["model"], model["variant"], model["compute_dtype"]) == ("tiny_test", "fp32", "float32")
    passes = model["ppo"]["passes_per_iteration"]
    # Old log-probs and values come with the rollout; the reference takes one pass; none after training.
    assert passes["no_grad"] == 1 and passes["no_grad_after_training"] == 0
    assert passes["train"] == 2  # ppo_epochs
    assert passes["sequence_lengths"] == [64]  # 32 prompt tokens + 32 forced new tokens
    assert model["base_weight_copies"] == 1
    assert (model["micro_batch"], model["gradient_checkpointing"]) == (8, False)  # the cpu preset's, not the shape's
    assert model["ppo"]["median_seconds"]["step"] > 0 and model["floor"]["median_seconds"]["total"] > 0
    assert model["ppo"]["peak_memory"] > 0 and model["inference"]["peak_memory"] > 0
    # the peak before the first iteration plus what each phase raised it by is the peak of the run
    raised = model["ppo"]["peak_raised_by"]
    assert set(raised) == {"generate", "reward", "reference", "optimise"} and min(raised.values()) >= 0
    assert model["ppo"]["peak_before_first_iteration"] + sum(raised.values()) <= model["ppo"]["peak_memory"]
    assert 0 <= model["rollout_mismatch"] < 1e-3  # fp32: the rollout's and the training pass's log-probs agree
    # 2 FLOPs per weight and token: generation and the reference pass see 16 x 64 tokens (the head only 16 x 32).
    flops = model["flops"]
    assert flops["optimise"] == 4 * flops["generate"] and flops["generate"] == flops["reference"] > 0
    rates = results["environment"]["matmul_rates"]
    assert set(rates) == {"float32", "bfloat16"} and all(r["gflops"] > 0 and r["size"] >= 256 for r in rates.values())
    assert len(results["environment"]["commit"].split()[0]) >= 7  # the measured code's commit
    report = (tmp_path / "results.md").read_text()
    assert "| **iteration / fp32 floor**" in report and "FLOP limit" in report
    assert "| micro-batch; gradient checkpointing | 8; off |" in report
    assert "The reward (sentence embeddings)" in report and "holds the reward's sentence embedder" in report
    # a run given another reward (the GPU run's reward=length) names that one instead of the embedder
    results["environment"]["settings"]["overrides"] = ["reward=length"]
    renamed = load_bench().markdown(results["environment"], results["models"], {})
    assert "The reward (`reward=length`)" in renamed and "sentence embedder" not in renamed


def load_bench():
    spec = importlib.util.spec_from_file_location("bench", ROOT / "experiments/bench/bench.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    return bench


def test_a_bf16_variant_is_skipped_only_on_a_cpu_without_fast_bf16_matmuls():
    bench = load_bench()

    def hardware(device="cpu", autocast="bfloat16", dtype="float32"):
        return OmegaConf.create({"hardware": {"device": device, "autocast": autocast, "dtype": dtype}})

    slow = {"float32": {"gflops": 111.0, "size": 2048}, "bfloat16": {"gflops": 0.32, "size": 256}}
    fast = {"float32": {"gflops": 150.0, "size": 2048}, "bfloat16": {"gflops": 411.0, "size": 2048}}
    why = bench.too_slow_to_measure(hardware(), slow)
    assert "bf16 matmul runs at 0.003x fp32's speed" in why
    assert "no fast bf16 kernel" in bench.too_slow_to_measure(hardware(autocast="off", dtype="bfloat16"), slow)
    assert bench.too_slow_to_measure(hardware(autocast="off"), slow) is None  # fp32 runs anywhere
    assert bench.too_slow_to_measure(hardware(), fast) is None


def test_a_faster_mode_is_timed_against_the_plain_fp32_variants_floor_not_its_checkpointed_own():
    bench = load_bench()

    def result(label, dtype, checkpointing, step, floor, code="this checkout"):
        return {"label": label, "model": "smollm2", "code": code, "compute_dtype": dtype,
                "gradient_checkpointing": checkpointing, "ppo": {"median_seconds": {"step_without_reward": step}},
                "floor": {"median_seconds": {"total": floor}},
                "ratios": {"iteration_over_floor": step / floor}, "targets": {"time": step / floor <= 0.45}}

    results = [result("fp32", "float32", False, 16.0, 15.0), result("low", "bfloat16", True, 12.0, 30.0),
               result("bf16", "bfloat16", False, 6.0, 16.0), result("old bf16", "bfloat16", False, 6.0, 16.0, "abc")]
    bench.against_fp32_floor(results)
    fp32, low, bf16, old = results
    assert low["ratios"]["iteration_over_fp32_floor"] == 12.0 / 15.0 and not low["targets"]["time"]  # own: 0.40
    assert bf16["ratios"]["iteration_over_fp32_floor"] == 6.0 / 15.0 and bf16["targets"]["time"]
    assert "iteration_over_fp32_floor" not in old["ratios"] and old["fp32_floor_from"] == "old bf16"  # no fp32 of its code
    assert low["fp32_floor_from"] == "fp32" and "iteration_over_fp32_floor" not in fp32["ratios"]


@pytest.mark.slow
def test_the_bench_measures_an_older_commit_from_its_own_worktree(tmp_path):
    command = [*BENCH, "--variant", "fp32=hardware.autocast=off", "--baseline", "HEAD", "--out", str(tmp_path)]
    subprocess.run(command, check=True)  # exits non-zero if the baseline imported this checkout's code
    labels = [m["label"] for m in json.loads((tmp_path / "results.json").read_text())["models"]]
    assert labels == ["tiny_test fp32", "tiny_test fp32 @ HEAD"]
