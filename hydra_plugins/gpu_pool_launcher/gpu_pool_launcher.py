"""`hydra/launcher=gpu_pool`: run a sweep's jobs on a pool of GPUs, each job on devices of its own.

No maintained Hydra launcher pins one job per local GPU (hydra#2757, #3002), so this one does: every job is a
fresh `python -m ppo_suite <its overrides>` process whose CUDA_VISIBLE_DEVICES names only the `gpus_per_job`
devices it was given, set before CUDA initialises; while all devices are busy the next jobs wait. A job that
fails frees its devices and is reported; the others go on. Without GPUs it runs `cpu_jobs` jobs at once and
splits the CPU threads between them. Each job's output goes to `launcher.log` in its own dir.

(No `from __future__ import annotations` here: Hydra's plugin scan executes this module outside sys.modules,
where dataclasses cannot resolve string annotations.)
"""

import json
import logging
import os
import queue
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Sequence

from hydra.core.config_store import ConfigStore
from hydra.core.utils import JobReturn, JobStatus, filter_overrides
from hydra.plugins.launcher import Launcher
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig

log = logging.getLogger(__name__)


@dataclass
class GPUPoolLauncherConf:
    _target_: str = "hydra_plugins.gpu_pool_launcher.gpu_pool_launcher.GPUPoolLauncher"
    gpus: Optional[List[int]] = None  # device ids to share out; null: every visible GPU
    gpus_per_job: int = 1
    cpu_jobs: int = 2  # jobs at once on a machine without GPUs, the CPU threads split between them
    module: str = "ppo_suite"  # what each job runs: python -m <module> <the job's overrides>


ConfigStore.instance().store(group="hydra/launcher", name="gpu_pool", node=GPUPoolLauncherConf, provider="ppo_suite")


class JobFailed(RuntimeError):
    pass


def visible_gpus() -> List[int]:
    """The GPUs this process may use, without initialising CUDA in it."""
    listed = os.environ.get("CUDA_VISIBLE_DEVICES")
    if listed is not None:
        return [int(d) for d in listed.split(",") if d.strip().lstrip("-").isdigit() and int(d) >= 0]
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=index", "--format=csv,noheader"], capture_output=True,
                             text=True, timeout=30, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [int(line) for line in out.split() if line.strip().isdigit()]


def device_slots(gpus: List[int], gpus_per_job: int) -> List[tuple]:
    """The GPUs cut into groups of `gpus_per_job`; a remainder too small for a job stays unused."""
    if gpus_per_job < 1:
        raise ValueError(f"hydra.launcher.gpus_per_job={gpus_per_job} must be >= 1")
    if gpus and len(gpus) < gpus_per_job:
        raise ValueError(f"hydra.launcher.gpus_per_job={gpus_per_job} but only {len(gpus)} GPUs: {gpus}")
    return [tuple(gpus[i : i + gpus_per_job]) for i in range(0, len(gpus) - gpus_per_job + 1, gpus_per_job)]


class GPUPoolLauncher(Launcher):
    def __init__(self, gpus=None, gpus_per_job: int = 1, cpu_jobs: int = 2, module: str = "ppo_suite") -> None:
        self.gpus = None if gpus is None else [int(g) for g in gpus]
        self.gpus_per_job = gpus_per_job
        self.cpu_jobs = cpu_jobs
        self.module = module
        self.config: Optional[DictConfig] = None

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        self.config = config

    def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> Sequence[JobReturn]:
        sweep_dir = Path(str(self.config.hydra.sweep.dir))
        sweep_dir.mkdir(parents=True, exist_ok=True)
        slots = device_slots(visible_gpus() if self.gpus is None else self.gpus, self.gpus_per_job)
        if slots:
            threads = None
            log.info("gpu_pool: %d jobs on %d device slots %s", len(job_overrides), len(slots), slots)
        else:
            if self.cpu_jobs < 1:
                raise ValueError(f"hydra.launcher.cpu_jobs={self.cpu_jobs} must be >= 1")
            slots = [()] * self.cpu_jobs
            threads = max(1, (os.cpu_count() or 1) // self.cpu_jobs)
            log.info("gpu_pool: no GPU; %d jobs, %d at once with %d CPU threads each", len(job_overrides), len(slots), threads)
        free: queue.Queue = queue.Queue()
        for slot in slots:
            free.put(slot)

        def run(idx: int, overrides: Sequence[str]) -> JobReturn:
            slot = free.get()
            try:
                return self._run_job(idx, list(overrides), sweep_dir, slot, threads)
            finally:
                free.put(slot)

        with ThreadPoolExecutor(max_workers=len(slots)) as pool:
            futures = [pool.submit(run, initial_job_idx + i, o) for i, o in enumerate(job_overrides)]
            results = [f.result() for f in futures]
        failed = [r for r in results if r.status == JobStatus.FAILED]
        if failed:
            log.error("gpu_pool: %d of %d jobs failed: %s", len(failed), len(results),
                      "; ".join(f"{r.working_dir} ({r._return_value})" for r in failed))
        return results

    def _run_job(self, idx: int, overrides: List[str], sweep_dir: Path, slot: tuple, threads: Optional[int]) -> JobReturn:
        job_dir = sweep_dir / str(idx)
        job_dir.mkdir(parents=True, exist_ok=True)
        # The job is a single run of its own: tell it which sweep it belongs to (W&B groups and names its run).
        job = {"sweep": sweep_dir.name, "overrides": list(filter_overrides(overrides))}
        env = {**os.environ, "PPO_SUITE_SWEEP_JOB": json.dumps(job)}
        args = [*overrides, f"hydra.run.dir={job_dir}"]
        if slot:
            env["CUDA_VISIBLE_DEVICES"] = ",".join(map(str, slot))
        else:
            env["CUDA_VISIBLE_DEVICES"] = ""  # a CPU job must not grab a GPU the machine might have
            env["OMP_NUM_THREADS"] = str(threads)
            if not any(o.startswith("hardware.num_threads=") for o in overrides):
                args.append(f"hardware.num_threads={threads}")
        log.info("gpu_pool: #%d on %s: %s", idx, f"GPU {env['CUDA_VISIBLE_DEVICES']}" if slot else "CPU",
                 " ".join(filter_overrides(overrides)))
        start = time.time()
        with open(job_dir / "launcher.log", "w") as out:
            code = subprocess.run([sys.executable, "-m", self.module, *args], env=env, stdout=out,
                                  stderr=subprocess.STDOUT).returncode
        record = {"job": idx, "overrides": overrides, "cuda_visible_devices": env["CUDA_VISIBLE_DEVICES"],
                  "start": start, "end": time.time(), "returncode": code}
        (job_dir / "launcher.json").write_text(json.dumps(record, indent=2) + "\n")
        if code != 0:
            error = JobFailed(f"job #{idx} exited with {code}; see {job_dir / 'launcher.log'}")
            return JobReturn(overrides=overrides, working_dir=str(job_dir), status=JobStatus.FAILED, _return_value=error)
        summary_file = job_dir / "summary.json"
        summary = json.loads(summary_file.read_text()) if summary_file.exists() else {}
        value = summary.get("objective")  # what `main` returns, for sweepers
        return JobReturn(overrides=overrides, working_dir=str(job_dir), status=JobStatus.COMPLETED, _return_value=value)
