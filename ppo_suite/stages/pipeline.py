"""stage=pipeline: several stages in order, each a `python -m ppo_suite` run in its own sub-dir of this run's dir.

`stage.steps` lists them (see conf/experiment/ads_pipeline.yaml); in a step's overrides `@{name}` stands for the
run dir of the earlier step `name`, so a step reads what an earlier one wrote (`model.adapter=@{sft}`). Every step
also gets `stage.common_overrides` and this run's own command-line overrides (say `model=...` or
`hardware.num_threads=...`). A step that fails stops the pipeline with its name and dir; what the earlier steps
wrote stays.
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
import time
from pathlib import Path

from omegaconf import DictConfig

from ppo_suite.errors import ConfigError, PPOSuiteError
from ppo_suite.stages import output_dir

log = logging.getLogger(__name__)
REFERENCE = re.compile(r"@\{([^}]*)\}")
NOT_PASSED_ON = ("stage", "+stage", "+experiment", "experiment", "hydra")  # the pipeline's own settings


def run(cfg: DictConfig, run_dir: Path | None = None) -> float | None:
    run_dir = output_dir(run_dir).resolve()
    steps = cfg.stage.steps
    if not steps:
        raise ConfigError("stage=pipeline has no stage.steps: list them in an experiment (see conf/experiment/ads_pipeline.yaml)")
    dirs: dict[str, Path] = {}
    commands = []
    for i, step in enumerate(steps):
        if step.name in dirs:
            raise ConfigError(f"stage.steps[{i}].name={step.name!r} is used twice")
        overrides = [_resolve(o, dirs, f"stage.steps[{i}].overrides") for o in [*cfg.stage.common_overrides, *_inherited(), *step.overrides]]
        dirs[step.name] = run_dir / f"{i + 1}_{step.name}"
        commands.append((step, [sys.executable, "-m", "ppo_suite", f"stage={step.stage}", *overrides,
                                f"hydra.run.dir={dirs[step.name]}"]))
    timings = []
    for step, command in commands:  # every reference resolved before the first step starts
        log.info("pipeline: %s (stage=%s) in %s", step.name, step.stage, dirs[step.name])
        started = time.perf_counter()
        done = subprocess.run(command, env=os.environ.copy())
        timings.append(f"{step.name}: {time.perf_counter() - started:.0f} s")
        if done.returncode != 0:
            raise PPOSuiteError(
                f"pipeline: step {step.name!r} (stage={step.stage}) failed with exit code {done.returncode}; its log is "
                f"{dirs[step.name] / '__main__.log'}; the earlier steps' outputs are in {run_dir}"
            )
    (run_dir / "pipeline.log").write_text("\n".join(timings) + "\n")
    log.info("pipeline: done (%s); steps in %s", ", ".join(timings), run_dir)
    return None


def _resolve(override: str, dirs: dict[str, Path], key: str) -> str:
    def path_of(match: re.Match) -> str:
        name = match.group(1)
        if name not in dirs:
            raise ConfigError(f"{key}: {override!r} refers to @{{{name}}}, which is not an earlier step ({sorted(dirs) or 'none'})")
        return str(dirs[name])

    return REFERENCE.sub(path_of, override)


def _inherited() -> list[str]:
    """This run's command-line overrides that every step should get too (not the pipeline's own)."""
    from hydra.core.hydra_config import HydraConfig

    if not HydraConfig.initialized():
        return []
    return [o for o in HydraConfig.get().overrides.task if not o.split("=", 1)[0].split(".", 1)[0].startswith(NOT_PASSED_ON)]
