#!/usr/bin/env python3
"""Replay tests/test_resume.py's kill-and-resume case N times and print every metric that differs.

    .venv/bin/python experiments/replay_resume.py N DELAYS [override ...]

e.g. `experiments/replay_resume.py 24 0,0.2,0.8 hardware.autocast=bfloat16`. Each replay runs the test's config
uninterrupted, runs it again and kills it (SIGKILL) DELAYS[i] seconds after its step-4 checkpoint appears, resumes
it, and compares the two metrics.jsonl files key by key (wall-clock keys aside). Models build into a cache of their
own; run dirs go to a temporary folder, kept when a replay differs. Nothing may change under data/ or ppo_suite/
while it runs: the tiny model's cache key covers every text under data/, and the subprocesses import the code anew.
"""

import os
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests"), str(ROOT)]

from conftest import TINY_RUN, built, make_config  # noqa: E402
from test_resume import cli, finish, metric_lines  # noqa: E402


def replay(config, delay, folder):
    finish(cli(*config, f"hydra.run.dir={folder / 'uninterrupted'}", cwd=folder))
    killed = cli(*config, cwd=folder)
    while not list(folder.glob("outputs/*/*/checkpoints/step_000004")):
        assert killed.poll() is None, killed.communicate()[1][-3000:]
        time.sleep(0.02)
    time.sleep(delay)
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    (run_dir,) = folder.glob("outputs/*/*")
    lines_at_kill = (run_dir / "metrics.jsonl").read_text().count("\n")
    finish(cli(f"resume={run_dir}", cwd=folder))
    resumed, reference = metric_lines(run_dir), metric_lines(folder / "uninterrupted")
    diffs = [(r.get("step"), k, r.get(k), u[k]) for r, u in zip(resumed, reference) for k in u if r.get(k) != u[k]]
    return lines_at_kill, diffs if diffs or len(resumed) == len(reference) else [("rows", len(resumed), len(reference))]


def main():
    n, delays, overrides = int(sys.argv[1]), [float(d) for d in sys.argv[2].split(",")], sys.argv[3:]
    scratch = Path(tempfile.mkdtemp(prefix="replay_resume_"))
    os.environ["PPO_SUITE_CACHE"] = str(scratch / "cache")
    built(make_config(*TINY_RUN))
    config = [*TINY_RUN, "ppo.steps=8", "checkpoint_every=4", *overrides]
    failed = 0
    for i in range(n):
        folder = scratch / f"replay_{i}"
        folder.mkdir()
        delay = delays[i % len(delays)]
        lines_at_kill, diffs = replay(config, delay, folder)
        failed += bool(diffs)
        print(f"replay {i}: {'DIFFERS' if diffs else 'identical'} (killed {delay} s after the checkpoint, "
              f"{lines_at_kill} metric lines written)", flush=True)
        for diff in diffs[:12]:
            print("   ", diff, flush=True)
        if not diffs:
            shutil.rmtree(folder)
    print(f"{failed} of {n} replays differed; kept in {scratch}")


if __name__ == "__main__":
    main()
