"""Resume: bit-identical after kill -9, safe checkpoints, torn logs, finished runs, run dirs of their own."""

import errno
import json
import logging
import os
import pickle
import signal
import subprocess
import sys
import time

import pytest

from conftest import ROOT, TINY_RUN, make_config
from ppo_suite.errors import ConfigError, PPOSuiteError
from ppo_suite.run_dir import claimed
from ppo_suite.runner import _resumed_run, run
from ppo_suite.tracking import Tracker

WALL_CLOCK = ("time/", "throughput/")  # the only values two runs of the same config may differ in


def metric_lines(run_dir):
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    return [{k: v for k, v in row.items() if not k.startswith(WALL_CLOCK)} for row in rows]


def cli(*args, cwd):
    return subprocess.Popen(
        [sys.executable, "-m", "ppo_suite", *args], cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        text=True, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def finish(process):
    _, err = process.communicate(timeout=300)
    assert process.returncode == 0, err[-3000:]


RESUMABLE = [*TINY_RUN, "ppo.steps=8", "checkpoint_every=4"]


def test_a_run_killed_after_a_checkpoint_resumes_bit_identical(tmp_path):
    run(make_config(*TINY_RUN, "ppo.steps=0"), run_dir=tmp_path / "warm-up")  # builds the tiny model into the cache
    finish(cli(*RESUMABLE, f"hydra.run.dir={tmp_path / 'uninterrupted'}", cwd=tmp_path))

    killed = cli(*RESUMABLE, cwd=tmp_path)
    deadline = time.monotonic() + 240
    while not list(tmp_path.glob("outputs/*/*/checkpoints/step_000004")):
        assert killed.poll() is None and time.monotonic() < deadline, "the run ended before its step-4 checkpoint"
        time.sleep(0.02)
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    (run_dir,) = tmp_path.glob("outputs/*/*")
    assert not (run_dir / "summary.json").exists(), "killed too late: the run had already finished"

    finish(cli(f"resume={run_dir}", cwd=tmp_path))
    assert list(tmp_path.glob("outputs/*/*")) == [run_dir]  # the resume wrote into the run's dir, no new one
    reference = tmp_path / "uninterrupted"
    assert metric_lines(run_dir) == metric_lines(reference)  # exact: every float of every line
    assert (run_dir / "summary.json").read_bytes() == (reference / "summary.json").read_bytes()
    for name in ("policy/adapter_model.safetensors", "value_head.pt"):
        assert (run_dir / "final" / name).read_bytes() == (reference / "final" / name).read_bytes(), name


def test_resuming_a_finished_run_changes_nothing(tmp_path):
    summary = run(make_config(*TINY_RUN), run_dir=tmp_path)
    before = {p: p.read_bytes() for p in (tmp_path / "metrics.jsonl", tmp_path / "summary.json")}
    assert run(make_config(*TINY_RUN, f"resume={tmp_path}")) == summary
    assert {p: p.read_bytes() for p in before} == before  # no second final evaluation appended


def test_a_crafted_checkpoint_cannot_run_code(tmp_path):
    run(make_config(*TINY_RUN, "checkpoint_every=1"), run_dir=tmp_path)
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return exec, (f"open({str(marker)!r}, 'w').write('ran')",)

    (checkpoint,) = [p for p in (tmp_path / "checkpoints").iterdir() if p.name == "step_000001"]
    (checkpoint / "optimizer.pt").write_bytes(pickle.dumps({"state": Payload()}, protocol=2))
    for later in (tmp_path / "checkpoints").glob("step_00000[2-9]"):
        os.rename(later, later.with_name(later.name + ".partial"))  # make step 1 the latest
    (tmp_path / "summary.json").unlink()
    with pytest.raises(ConfigError, match="refusing to load this checkpoint"):
        run(make_config(*TINY_RUN, f"resume={tmp_path}"))
    assert not marker.exists()


def test_a_torn_last_line_and_the_steps_after_the_checkpoint_are_set_aside(tmp_path, caplog):
    cfg = make_config(*TINY_RUN)
    tracker = Tracker(cfg.logger, tmp_path, cfg)
    tracker.log({"a": 1.0}, step=1)
    at_checkpoint = tracker.positions()
    tracker.log({"a": 2.0}, step=2)
    with (tmp_path / "metrics.jsonl").open("a") as f:
        f.write('{"step": 3, "a": 3.')  # a crash mid-write
    with caplog.at_level(logging.WARNING):
        Tracker(cfg.logger, tmp_path, cfg, resume_at=at_checkpoint)
    assert (tmp_path / "metrics.jsonl").read_text() == '{"step": 1, "a": 1.0}\n'
    assert (tmp_path / "metrics.before_resume.jsonl").read_text() == '{"step": 2, "a": 2.0}\n{"step": 3, "a": 3.\n'
    assert "torn" in caplog.text


def test_resume_warns_only_about_overrides_actually_given(tmp_path, caplog):
    run(make_config(*TINY_RUN), run_dir=tmp_path)
    cfg = make_config(f"resume={tmp_path}")  # the defaults differ from the saved run's config: not a change
    with caplog.at_level(logging.WARNING):
        _resumed_run(cfg, [])
    assert "ignoring" not in caplog.text
    with caplog.at_level(logging.WARNING):
        _resumed_run(cfg, ["ppo.kl_coef=0.3"])
    assert "ignoring the command-line overrides ['ppo.kl_coef=0.3']" in caplog.text


def test_a_run_dir_is_used_by_one_run_at_a_time(tmp_path):
    with claimed(tmp_path):
        with pytest.raises(ConfigError, match="in use by another run"):
            run(make_config(*TINY_RUN), run_dir=tmp_path)
    with claimed(tmp_path):  # released when the holder ends
        pass


def test_runs_started_in_the_same_second_get_their_own_dirs(tmp_path):
    show = ["+experiment=ads", "--cfg", "all", "--resolve", "--package", "hydra.run.dir"]  # the dir Hydra would use
    procs = [subprocess.Popen([sys.executable, "-m", "ppo_suite", *show], cwd=tmp_path, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    dirs = [p.communicate(timeout=120)[0].strip() for p in procs]
    assert all(d.startswith("outputs/") for d in dirs) and dirs[0] != dirs[1], dirs


def test_a_full_disk_is_reported_and_what_was_written_stays(tmp_path, monkeypatch):
    import ppo_suite.runner as runner

    def full_disk(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "checkpoints/step_000002.partial"))

    monkeypatch.setattr(runner, "save_checkpoint", full_disk)
    with pytest.raises(PPOSuiteError, match="the disk is full: no space left to write .*step_000002.partial"):
        run(make_config(*TINY_RUN), run_dir=tmp_path)
    assert [m["step"] for m in metric_lines(tmp_path)] == [0, 1, 2]  # the initial eval and both steps' metrics
