"""Metrics to `metrics.jsonl` in the run dir, always; to Weights & Biases when `logger.backend=wandb`."""

from __future__ import annotations

import json
import logging
import math
import os
import uuid
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from ppo_suite.config import LoggerConfig
from ppo_suite.errors import ConfigError

BACKENDS = ("none", "wandb")
log = logging.getLogger(__name__)


def _jsonable(value):
    return None if isinstance(value, float) and (math.isnan(value) or math.isinf(value)) else value


class Tracker:
    """`resume_at`: the `positions()` saved with the checkpoint a run resumes from; what was logged after it is
    set aside, since the resumed run logs those steps again. `enabled=False` (a data-parallel rank other than 0)
    writes nothing anywhere."""

    def __init__(
        self, cfg: LoggerConfig, run_dir: Path, full_config: DictConfig, resume_at: dict[str, int] | None = None,
        enabled: bool = True,
    ) -> None:
        if cfg.backend not in BACKENDS:
            raise ConfigError(f"logger.backend={cfg.backend!r} is not one of {BACKENDS}")
        self.enabled = enabled
        self.cfg = cfg
        self.metrics_path = run_dir / "metrics.jsonl"
        self.samples_path = run_dir / "samples.jsonl"
        self.wandb_run = None
        if not enabled:
            return
        if resume_at is not None:
            for path in (self.metrics_path, self.samples_path):
                _truncate_to(path, resume_at.get(path.name, 0))
        if cfg.backend == "wandb":
            self.wandb_run = _start_wandb(cfg, run_dir, full_config)

    def positions(self) -> dict[str, int]:
        """The size of each log file now: saved with a checkpoint, where a resumed run picks them up."""
        return {p.name: p.stat().st_size if p.exists() else 0 for p in (self.metrics_path, self.samples_path)}

    def log(self, metrics: dict[str, float], step: int) -> None:
        if not self.enabled:
            return
        with self.metrics_path.open("a") as f:
            f.write(json.dumps({"step": step, **{k: _jsonable(v) for k, v in metrics.items()}}) + "\n")
        if self.wandb_run is not None:
            self.wandb_run.log(metrics, step=step)

    def log_samples(self, rows: list[dict], step: int) -> None:
        if not self.enabled:
            return
        with self.samples_path.open("a") as f:
            for row in rows:
                f.write(json.dumps({"step": step, **row}) + "\n")
        if self.wandb_run is not None:
            import wandb

            columns = list(rows[0])
            table = wandb.Table(columns=columns, data=[[row[c] for c in columns] for row in rows])
            self.wandb_run.log({"samples": table}, step=step)

    def summary(self, values: dict) -> None:
        if self.wandb_run is not None:
            self.wandb_run.summary.update(values)

    def finish(self) -> None:
        if self.wandb_run is not None:
            self.wandb_run.finish()


def _truncate_to(path: Path, size: int) -> None:
    """Cut `path` back to `size` bytes; the lines past it (the steps a resumed run repeats, and a line torn by a
    crash mid-write) are kept aside in `<name>.before_resume.jsonl`, not lost."""
    if not path.exists() or path.stat().st_size <= size:
        return
    data = path.read_bytes()
    tail = data[size:]
    lines = tail.splitlines()
    torn = 0 if tail.endswith(b"\n") else 1
    aside = path.with_suffix(".before_resume.jsonl")
    with aside.open("ab") as f:
        f.write(tail if not torn else tail + b"\n")
    path.write_bytes(data[:size])
    log.warning(
        "resume: set aside %d line(s) of %s logged after the checkpoint%s, in %s",
        len(lines), path.name, " (the last one torn by a crash mid-write)" if torn else "", aside.name,
    )


SWEEP_JOB_ENV = "PPO_SUITE_SWEEP_JOB"  # set by the gpu_pool launcher, whose jobs are single runs of their own


def sweep_job() -> dict | None:
    """{"sweep": sweep dir name, "overrides": [...]} when this run is a job of a multirun, else None."""
    if os.environ.get(SWEEP_JOB_ENV):
        return json.loads(os.environ[SWEEP_JOB_ENV])
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    if not HydraConfig.initialized() or HydraConfig.get().mode != RunMode.MULTIRUN:
        return None
    hydra = HydraConfig.get()
    return {"sweep": Path(hydra.sweep.dir).name, "overrides": list(hydra.overrides.task)}


def wandb_group_and_name(cfg: LoggerConfig, job: dict | None) -> tuple[str | None, str | None]:
    """A multirun's jobs share one group (the logger's group and the sweep's dir) and are named by their overrides."""
    if job is None:
        return cfg.group, cfg.name
    group = "-".join(part for part in (cfg.group, job["sweep"]) if part)
    label = " ".join(o for o in job["overrides"] if not o.lstrip("+~").startswith(("hydra.", "logger")))
    return group, cfg.name or label or None


def _start_wandb(cfg: LoggerConfig, run_dir: Path, full_config: DictConfig):
    import wandb

    id_file = run_dir / "wandb_run_id.txt"
    run_id = id_file.read_text().strip() if id_file.exists() else uuid.uuid4().hex[:8]
    id_file.write_text(run_id)
    group, name = wandb_group_and_name(cfg, sweep_job())
    return wandb.init(
        project=cfg.project,
        entity=cfg.entity,
        group=group,
        name=name,
        tags=list(cfg.tags),
        mode=cfg.mode,
        dir=str(run_dir),
        id=run_id,
        resume="allow",
        config=OmegaConf.to_container(full_config, resolve=True),
    )
