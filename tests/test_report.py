"""The sweep report on a hand-made sweep dir (settings told apart by their overrides, seeds pooled, exact numbers),
and the W&B group and name of a sweep's jobs."""

import json

import pytest
import yaml

from ppo_suite.errors import PPOSuiteError
from ppo_suite.report import legend_names, read_jobs, write_report


def make_job(sweep, name, overrides, seed, initial=None, final=None, kl=None, rewards=(0.1, 0.2)):
    job = sweep / name
    (job / ".hydra").mkdir(parents=True)
    (job / ".hydra/overrides.yaml").write_text(yaml.safe_dump(overrides))
    (job / ".hydra/config.yaml").write_text(yaml.safe_dump({"seed": seed}))
    steps = [{"step": i + 1, "reward/total/mean": r, "objective/kl": 0.5 * i, "time/step": 2.0} for i, r in enumerate(rewards)]
    (job / "metrics.jsonl").write_text("".join(json.dumps(s) + "\n" for s in steps))
    if final is not None:
        summary = {"initial": {"reward/total/mean": initial, "kl_to_reference": 0.0},
                   "final": {"reward/total/mean": final, "kl_to_reference": kl}}
        (job / "summary.json").write_text(json.dumps(summary))


def test_settings_seeds_spreads_and_an_unfinished_job(tmp_path):
    common = ["+experiment=ads", "logger=none"]
    make_job(tmp_path, "0", [*common, "ppo.kl_coef=0.05", "seed=0"], 0, initial=0.5, final=0.8, kl=4.0)
    make_job(tmp_path, "1", [*common, "ppo.kl_coef=0.05", "seed=1"], 1, initial=0.5, final=0.7, kl=3.0)
    make_job(tmp_path, "2", [*common, "ppo.kl_coef=0.2", "seed=0"], 0, initial=0.5, final=0.6, kl=1.0)
    make_job(tmp_path, "3", [*common, "ppo.kl_coef=0.2", "seed=1"], 1)  # still running: no summary
    rows = write_report(tmp_path)
    assert [(r["setting"], r["seeds"]) for r in rows] == [("ppo.kl_coef=0.05", [0, 1]), ("ppo.kl_coef=0.2", [0])]
    low = rows[0]
    assert low["final_mean"] == pytest.approx(0.75) and low["spread"] == pytest.approx(0.1)
    assert low["min_gain"] == pytest.approx(0.2) and low["kl_mean"] == pytest.approx(3.5)
    csv_rows = [line.split(",") for line in (tmp_path / "summary.csv").read_text().splitlines()]
    assert csv_rows[1][:6] == ["0", "ppo.kl_coef=0.05", "0", "0.5", "0.8", "0.3"]
    assert csv_rows[4][:5] == ["3", "ppo.kl_coef=0.2", "1", "", ""] and csv_rows[4][-2:] == ["2", "4.0"]
    report = (tmp_path / "report.md").read_text()
    assert "| ppo.kl_coef=0.05 | 0, 1 | 0.5000 | 0.7500 (0.7000 – 0.8000) | 0.1000 | +0.2000 | yes | 3.500 |" in report
    assert "| 3 | ppo.kl_coef=0.2 | 1 | unfinished |" in report
    for png in ("reward_vs_kl.png", "curves.png"):
        assert (tmp_path / png).read_bytes()[:4] == b"\x89PNG"


def test_one_setting_is_labelled_by_its_overrides_and_errors_name_the_file(tmp_path):
    make_job(tmp_path, "a", ["+experiment=sentiment", "seed=0"], 0, initial=0.4, final=0.6, kl=2.0)
    assert write_report(tmp_path)[0]["setting"] == "+experiment=sentiment"
    (tmp_path / "a/metrics.jsonl").write_text('{"step": 1, "objective/kl": 0}\n{"step": 2, "objective/k\n')
    with pytest.raises(PPOSuiteError, match=r"a/metrics.jsonl:2: not a JSON line"):
        write_report(tmp_path)
    with pytest.raises(PPOSuiteError, match="no job dirs"):
        write_report(tmp_path / "a")


def test_plot_legends_name_one_setting_not_at_all_and_cut_long_names_short(tmp_path):
    long_path = "reward.learned.run_dir=/" + "very/long/" * 10 + "reward_model"
    make_job(tmp_path / "one", "0", ["+experiment=rlhf_prompts", long_path, "seed=0"], 0, initial=4.7, final=6.1, kl=9.0)
    assert list(legend_names(read_jobs(tmp_path / "one")).values()) == [""]  # the plots say "seed 0", "mean (1 seed)"
    for kl in ("0.1", "0.3"):
        make_job(tmp_path / "two", kl, ["+experiment=rlhf_prompts", long_path, f"ppo.kl_coef={kl}", "seed=0"], 0)
    names = list(legend_names(read_jobs(tmp_path / "two")).values())
    assert names == ["ppo.kl_coef=0.1", "ppo.kl_coef=0.3"]  # the shared overrides are left out
    make_job(tmp_path / "three", "a", [long_path, "seed=0"], 0)
    make_job(tmp_path / "three", "b", ["ppo.kl_coef=0.3", "seed=0"], 0)
    assert all(len(name) <= 60 for name in legend_names(read_jobs(tmp_path / "three")).values())


def test_a_multiruns_jobs_share_a_wandb_group_and_are_named_by_their_overrides():
    from ppo_suite.config import LoggerConfig
    from ppo_suite.tracking import wandb_group_and_name

    job = {"sweep": "10-00-00-1a2b3c", "overrides": ["+experiment=ads", "logger=wandb", "ppo.kl_coef=0.2", "seed=1"]}
    assert wandb_group_and_name(LoggerConfig(group="ads"), job) == ("ads-10-00-00-1a2b3c", "+experiment=ads ppo.kl_coef=0.2 seed=1")
    assert wandb_group_and_name(LoggerConfig(group="ads", name="mine"), job) == ("ads-10-00-00-1a2b3c", "mine")
    assert wandb_group_and_name(LoggerConfig(group="ads"), None) == ("ads", None)  # a single run keeps its settings
