"""Where things live: the project root (for paths in configs), and the cache of converted and built models."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def cache_root() -> Path:
    return Path(os.environ.get("PPO_SUITE_CACHE", Path.home() / ".cache" / "ppo_suite"))


def resolve_path(path: str) -> Path:
    """A path from a config: relative to the project root unless absolute (or `~`)."""
    p = Path(path).expanduser()
    return p if p.is_absolute() else PROJECT_ROOT / p
