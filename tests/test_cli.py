"""The command line a user types: `python -m ppo_suite ...` in a subprocess."""

import os
import subprocess
import sys

from conftest import ROOT, TINY_RUN


def ppo_suite(*args, cwd):
    env = {**os.environ, "WANDB_MODE": "disabled", "HYDRA_FULL_ERROR": "0"}
    return subprocess.run([sys.executable, "-m", "ppo_suite", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


def test_cfg_job_prints_the_composed_config(tmp_path):
    result = ppo_suite("+experiment=ads", "ppo.kl_coef=0.1", "--cfg", "job", cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert "kl_coef: 0.1" in result.stdout and "ad_similarity:" in result.stdout


def test_misspelled_key_exits_non_zero_naming_it():
    result = ppo_suite("+experiment=ads", "ppo.kl_coeff=0.1", "--cfg", "job", cwd=ROOT)
    assert result.returncode != 0 and "kl_coeff" in result.stderr


def test_a_data_error_is_one_paragraph_and_exit_code_2(tmp_path):
    result = ppo_suite("+experiment=ads", "model=tiny_test", f"task.data_dir={tmp_path}/nowhere",
                       f"hydra.run.dir={tmp_path}/run", cwd=ROOT)
    assert result.returncode == 2
    assert "sampled_ads.json: file not found" in result.stderr and "Traceback" not in result.stderr


def test_multirun_sweep_writes_one_run_dir_per_job(tmp_path):
    overrides = [o for o in TINY_RUN if not o.startswith("ppo.steps")]
    result = ppo_suite("-m", *overrides, "ppo.steps=1", "eval.num_prompts=0", "ppo.kl_coef=0.05,0.2",
                       f"hydra.sweep.dir={tmp_path}/sweep", cwd=ROOT)
    assert result.returncode == 0, result.stderr[-3000:]
    for job, kl_coef in (("0", "0.05"), ("1", "0.2")):
        assert (tmp_path / "sweep" / job / "metrics.jsonl").exists()
        assert f"kl_coef: {kl_coef}" in (tmp_path / "sweep" / job / "config.yaml").read_text()
