"""The SLURM launcher configs compose, and the local executor (the dry run of a cluster sweep) runs a sweep."""

import json
import subprocess
import sys

import pytest

from conftest import ROOT, TINY_RUN


@pytest.mark.parametrize("launcher, target", [("slurm", "SlurmLauncher"), ("slurm_local", "LocalLauncher")])
def test_the_slurm_launchers_compose(launcher, target):
    command = [sys.executable, "-m", "ppo_suite", "+experiment=ads", "+sweep=kl", f"hydra/launcher={launcher}",
               "hydra.launcher.partition=gpu" if launcher == "slurm" else "hydra.launcher.cpus_per_task=1", "--cfg", "hydra"]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"hydra_plugins.hydra_submitit_launcher.submitit_launcher.{target}" in result.stdout
    assert "timeout_min: 240" in result.stdout


def test_a_dry_run_through_submitits_local_executor_runs_the_jobs_and_writes_the_report(tmp_path):
    command = [sys.executable, "-m", "ppo_suite", "-m", "hydra/launcher=slurm_local", f"hydra.sweep.dir={tmp_path}",
               *TINY_RUN, "ppo.steps=1", "seed=0,1"]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    for job in (0, 1):
        assert "final" in json.loads((tmp_path / str(job) / "summary.json").read_text())
    assert (tmp_path / "report.md").is_file() and (tmp_path / "summary.csv").is_file()
