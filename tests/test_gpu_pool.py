"""`hydra/launcher=gpu_pool` through the real CLI, with a stand-in job that records what it saw."""

import json
import os
import subprocess
import sys

import pytest

from conftest import ROOT
from hydra_plugins.gpu_pool_launcher.gpu_pool_launcher import device_slots


def sweep(tmp_path, *overrides):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "tests"), os.environ.get("PYTHONPATH", "")])}
    command = [sys.executable, "-m", "ppo_suite", "-m", "hydra/launcher=gpu_pool", "hydra.launcher.module=gpu_pool_job",
               f"hydra.sweep.dir={tmp_path}", *overrides]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def records(tmp_path, jobs):
    return [json.loads((tmp_path / str(job) / "seen.json").read_text()) for job in range(jobs)]


def most_at_once(seen):
    events = sorted([(r["start"], 1) for r in seen] + [(r["end"], -1) for r in seen])
    running = peak = 0
    for _, change in events:
        running += change
        peak = max(peak, running)
    return peak


def test_four_jobs_on_two_gpus_two_at_a_time_each_on_its_own_device(tmp_path):
    result = sweep(tmp_path, "hydra.launcher.gpus=[0,1]", "seed=0,1,2,3")
    assert result.returncode == 0, result.stderr[-3000:]
    seen = records(tmp_path, 4)
    assert most_at_once(seen) == 2
    assert {r["cuda_visible_devices"] for r in seen} == {"0", "1"}
    for job, record in enumerate(seen):  # what the job saw is what the launcher recorded giving it
        assert record["cuda_visible_devices"] == json.loads((tmp_path / str(job) / "launcher.json").read_text())["cuda_visible_devices"]
    assert json.loads(seen[2]["sweep_job"]) == {"sweep": tmp_path.name, "overrides": ["seed=2"]}  # for W&B's group and name
    # Two jobs never share a device at the same time.
    for device in ("0", "1"):
        assert most_at_once([r for r in seen if r["cuda_visible_devices"] == device]) == 1


def test_a_failed_job_frees_its_gpu_and_is_reported(tmp_path):
    result = sweep(tmp_path, "hydra.launcher.gpus=[3]", "+fail=0,1,0")
    assert result.returncode != 0
    assert "job #1 exited with 1" in result.stderr
    seen = records(tmp_path, 3)  # the job after the failed one still ran, on the freed device
    assert [r["cuda_visible_devices"] for r in seen] == ["3", "3", "3"] and most_at_once(seen) == 1


def test_without_gpus_cpu_jobs_split_the_threads(tmp_path):
    result = sweep(tmp_path, "hydra.launcher.gpus=[]", "hydra.launcher.cpu_jobs=2", "seed=0,1")
    assert result.returncode == 0, result.stderr[-3000:]
    threads = str(max(1, (os.cpu_count() or 1) // 2))
    for record in records(tmp_path, 2):
        assert record["cuda_visible_devices"] == "" and record["threads"] == threads
        assert f"hardware.num_threads={threads}" in record["argv"]


def test_device_slots():
    assert device_slots([0, 1, 2, 3, 4], 2) == [(0, 1), (2, 3)]
    assert device_slots([], 1) == []
    with pytest.raises(ValueError, match="gpus_per_job=3 but only 2 GPUs"):
        device_slots([0, 1], 3)


def test_the_kl_sweep_preset_and_the_launcher_compose():
    command = [sys.executable, "-m", "ppo_suite", "+experiment=sentiment", "+sweep=kl", "hydra/launcher=gpu_pool",
               "--cfg", "hydra"]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "ppo.kl_coef: 0.05,0.1,0.3" in result.stdout and "seed: 0,1" in result.stdout
    assert "GPUPoolLauncher" in result.stdout and "gpus_per_job: 1" in result.stdout


def test_an_optuna_search_launches_trials_through_the_pool_and_keeps_the_best(tmp_path):
    result = sweep(tmp_path, "hydra/sweeper=optuna_search", "hydra.launcher.gpus=[0,1]", "hydra.sweeper.n_trials=6",
                   "hydra.sweeper.n_jobs=2", "hydra.sweeper.seed=0", "x=interval(0,1)")
    assert result.returncode == 0, result.stderr[-2000:]
    seen = records(tmp_path, 6)
    assert most_at_once(seen) <= 2
    trials = (tmp_path / "optuna_trials.csv").read_text().splitlines()
    assert trials[0] == "trial,x,value,job_dir" and len(trials) == 7
    values = [float(line.split(",")[2]) for line in trials[1:]]
    xs = [float(line.split(",")[1]) for line in trials[1:]]
    assert values == pytest.approx([-((x - 0.3) ** 2) for x in xs])  # each trial was told its own job's objective
    best = (tmp_path / "optuna_best.yaml").read_text()
    assert f"best_value: {max(values)}" in best


def test_the_optuna_preset_composes():
    command = [sys.executable, "-m", "ppo_suite", "+experiment=sentiment", "+hparams_search=optuna", "--cfg", "hydra"]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "OptunaSearch" in result.stdout and "ppo.learning_rate: tag(log, interval(5e-5, 5e-4))" in result.stdout
