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


def test_multirun_sweep_writes_one_run_dir_per_job_and_the_report(tmp_path):
    overrides = [o for o in TINY_RUN if not o.startswith(("ppo.steps", "eval.num_prompts"))]
    result = ppo_suite("-m", *overrides, "ppo.steps=1", "eval.num_prompts=2", "ppo.kl_coef=0.05,0.2",
                       f"hydra.sweep.dir={tmp_path}/sweep", cwd=ROOT)
    assert result.returncode == 0, result.stderr[-3000:]
    sweep = tmp_path / "sweep"
    for job, kl_coef in (("0", "0.05"), ("1", "0.2")):
        assert (sweep / job / "metrics.jsonl").exists()
        assert f"kl_coef: {kl_coef}" in (sweep / job / "config.yaml").read_text()
    # The callback wrote the sweep report when the multirun ended.
    rows = (sweep / "summary.csv").read_text().splitlines()
    assert [row.split(",")[:2] for row in rows[1:]] == [["0", "ppo.kl_coef=0.05"], ["1", "ppo.kl_coef=0.2"]]
    assert "| ppo.kl_coef=0.2 | 0 |" in (sweep / "report.md").read_text()
    for png in ("reward_vs_kl.png", "curves.png"):
        assert (sweep / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
