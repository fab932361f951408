"""Resumable checkpoints: adapter (or full weights), value head, optimizer, scheduler, KL controller, log offsets.

Every random draw of step k is seeded from (seed, k), so restoring these and the step is enough for a
resumed run to repeat exactly what the uninterrupted run would have done.

Nothing in a checkpoint can run code when loaded: weights are safetensors, the optimizer's tensors go through
`torch.load(weights_only=True)` (tensors and plain containers only), and the rest is JSON.
"""

from __future__ import annotations

import json
import pickle
import shutil
from pathlib import Path

import torch

from ppo_suite.errors import ConfigError

CHECKPOINTS = "checkpoints"
STATE_FILE = "trainer_state.json"
OPTIMIZER_FILE = "optimizer.pt"


def save_checkpoint(run_dir: Path, step: int, policy, optimizer, state: dict, ranks) -> Path | None:
    """Rank 0 writes the checkpoint; every rank calls this (a ZeRO optimizer gathers its partitions to rank 0)."""
    optimizer_state = optimizer.optimizer_state()
    if not ranks.main:
        return None
    final = run_dir / CHECKPOINTS / f"step_{step:06d}"
    staging = final.with_name(final.name + ".partial")  # a kill mid-save leaves no half checkpoint
    shutil.rmtree(staging, ignore_errors=True)
    policy.save(staging)
    torch.save(optimizer_state, staging / OPTIMIZER_FILE)
    (staging / STATE_FILE).write_text(json.dumps({"step": step, "scheduler": optimizer.scheduler.state_dict(), **state}))
    shutil.rmtree(final, ignore_errors=True)
    staging.rename(final)
    return final


def latest_checkpoint(run_dir: Path) -> Path | None:
    found = sorted(p for p in (run_dir / CHECKPOINTS).glob("step_*") if not p.name.endswith(".partial"))
    return found[-1] if found else None


def load_checkpoint(directory: Path, policy, optimizer) -> dict:
    try:
        state = json.loads((directory / STATE_FILE).read_text())
        optimizer_state = torch.load(directory / OPTIMIZER_FILE, weights_only=True)
    except FileNotFoundError as err:
        raise ConfigError(f"{directory}: not a checkpoint of this version ({Path(err.filename).name} is missing)") from err
    except (json.JSONDecodeError, pickle.UnpicklingError, RuntimeError) as err:
        raise ConfigError(
            f"{directory}: refusing to load this checkpoint: it is not plain JSON and tensors "
            f"({type(err).__name__}: {str(err).splitlines()[0]})"
        ) from err
    policy.load(directory)
    optimizer.load_optimizer_state(optimizer_state)
    optimizer.scheduler.load_state_dict(state.pop("scheduler"))
    return state
