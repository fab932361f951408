"""Resumable checkpoints: adapter (or full weights), value head, optimizer, scheduler, KL controller.

Every random draw of step k is seeded from (seed, k), so restoring these and the step is enough for a
resumed run to repeat exactly what the uninterrupted run would have done.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import torch

CHECKPOINTS = "checkpoints"


def save_checkpoint(run_dir: Path, step: int, policy, optimizer, scheduler, state: dict) -> Path:
    final = run_dir / CHECKPOINTS / f"step_{step:06d}"
    staging = final.with_name(final.name + ".partial")  # a kill mid-save leaves no half checkpoint
    shutil.rmtree(staging, ignore_errors=True)
    policy.save(staging)
    torch.save(
        {"step": step, "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(), **state},
        staging / "trainer_state.pt",
    )
    shutil.rmtree(final, ignore_errors=True)
    staging.rename(final)
    return final


def latest_checkpoint(run_dir: Path) -> Path | None:
    found = sorted(p for p in (run_dir / CHECKPOINTS).glob("step_*") if not p.name.endswith(".partial"))
    return found[-1] if found else None


def load_checkpoint(directory: Path, policy, optimizer, scheduler) -> dict:
    policy.load(directory)
    state = torch.load(directory / "trainer_state.pt", weights_only=False)
    optimizer.load_state_dict(state.pop("optimizer"))
    scheduler.load_state_dict(state.pop("scheduler"))
    return state
