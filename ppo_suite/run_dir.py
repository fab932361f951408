"""Run directories: a new, collision-free one for every run (or the resumed run's own), used by one process at a time.

Hydra's default `outputs/<date>/<time>` gives two runs started in the same second the same dir. The name here
adds a random suffix drawn once per process, and `claimed` holds an exclusive lock on the dir while a run writes
into it, so a second process (a resume of a run that is still going, say) stops with a clear error.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
import time
from pathlib import Path

from omegaconf import OmegaConf

from ppo_suite.distributed import ranks
from ppo_suite.errors import ConfigError

LOCK_FILE = ".lock"


_stamp: list[str] = []


def _process_stamp() -> str:
    """`<date>/<time>-<6 hex>`, the same for every call in this process (Hydra resolves the dir more than once)."""
    if not _stamp:
        _stamp.append(time.strftime("%Y-%m-%d/%H-%M-%S") + "-" + secrets.token_hex(3))
    return _stamp[0]


def share_across_ranks() -> None:
    """Data-parallel ranks (torchrun, accelerate launch) are processes of one run: all take rank 0's stamp, so they
    resolve the same run dir."""
    _stamp[:] = [ranks().broadcast_object(_process_stamp())]


def run_dir_for(root: str, resume: str | None) -> str:
    """Hydra's run (or sweep) dir: the run being resumed, else a new dir under `root`."""
    return str(resume) if resume else f"{root}/{_process_stamp()}"


def hydra_subdir_for(resume: str | None) -> str | None:
    """Where Hydra writes the composed config: a resume keeps the original run's `.hydra/` and adds its own; a
    data-parallel rank other than 0 writes none."""
    if not ranks().main:
        return None
    return f".hydra/resumed_{_process_stamp().replace('/', '_')}" if resume else ".hydra"


def register_resolvers() -> None:
    for name, fn in (("ppo_suite.run_dir", run_dir_for), ("ppo_suite.hydra_subdir", hydra_subdir_for)):
        if not OmegaConf.has_resolver(name):
            OmegaConf.register_new_resolver(name, fn)


@contextlib.contextmanager
def claimed(run_dir: Path):
    """Hold an exclusive lock on `run_dir` for the duration; the OS drops it when the process dies, even by kill -9."""
    run_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(run_dir / LOCK_FILE, os.O_CREAT | os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise ConfigError(
            f"{run_dir} is in use by another run (it holds {run_dir / LOCK_FILE}); wait for it to end, or give "
            "this run a directory of its own"
        ) from None
    try:
        yield run_dir
    finally:
        os.close(fd)
