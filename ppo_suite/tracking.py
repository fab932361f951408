"""Metrics to `metrics.jsonl` in the run dir, always; to Weights & Biases when `logger.backend=wandb`."""

from __future__ import annotations

import json
import math
import uuid
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from ppo_suite.config import LoggerConfig
from ppo_suite.errors import ConfigError

BACKENDS = ("none", "wandb")


def _jsonable(value):
    return None if isinstance(value, float) and (math.isnan(value) or math.isinf(value)) else value


class Tracker:
    def __init__(self, cfg: LoggerConfig, run_dir: Path, full_config: DictConfig, resume_step: int = 0) -> None:
        if cfg.backend not in BACKENDS:
            raise ConfigError(f"logger.backend={cfg.backend!r} is not one of {BACKENDS}")
        self.cfg = cfg
        self.metrics_path = run_dir / "metrics.jsonl"
        self.samples_path = run_dir / "samples.jsonl"
        if resume_step:
            _drop_entries_after(self.metrics_path, resume_step)
            _drop_entries_after(self.samples_path, resume_step)
        self.wandb_run = None
        if cfg.backend == "wandb":
            self.wandb_run = _start_wandb(cfg, run_dir, full_config)

    def log(self, metrics: dict[str, float], step: int) -> None:
        with self.metrics_path.open("a") as f:
            f.write(json.dumps({"step": step, **{k: _jsonable(v) for k, v in metrics.items()}}) + "\n")
        if self.wandb_run is not None:
            self.wandb_run.log(metrics, step=step)

    def log_samples(self, rows: list[dict], step: int) -> None:
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


def _drop_entries_after(path: Path, step: int) -> None:
    """A resumed run repeats the steps after its checkpoint; keep the old lines aside, not in the curve."""
    if not path.exists():
        return
    lines = path.read_text().splitlines()
    keep = [line for line in lines if json.loads(line)["step"] <= step]
    if len(keep) < len(lines):
        path.with_suffix(".before_resume.jsonl").write_text("\n".join(lines) + "\n")
        path.write_text("".join(line + "\n" for line in keep))


def _start_wandb(cfg: LoggerConfig, run_dir: Path, full_config: DictConfig):
    import wandb

    id_file = run_dir / "wandb_run_id.txt"
    run_id = id_file.read_text().strip() if id_file.exists() else uuid.uuid4().hex[:8]
    id_file.write_text(run_id)
    return wandb.init(
        project=cfg.project,
        entity=cfg.entity,
        group=cfg.group,
        name=cfg.name,
        tags=list(cfg.tags),
        mode=cfg.mode,
        dir=str(run_dir),
        id=run_id,
        resume="allow",
        config=OmegaConf.to_container(full_config, resolve=True),
    )
