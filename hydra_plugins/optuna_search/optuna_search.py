"""`hydra/sweeper=optuna_search`: a hyper-parameter search with Optuna, each trial a job of the configured launcher.

The official hydra-optuna-sweeper (1.3.0, the last release) pins optuna<3; this sweeper does the same job on
current Optuna with the same search-space syntax, in Hydra's override grammar:
    ppo.learning_rate: tag(log, interval(5e-5, 5e-4))   a float, sampled on a log scale
    ppo.kl_coef: interval(0.02, 0.3)                     a float
    model.lora.r: choice(4, 8, 16)                       one of these values (also `4,8,16` or range(...))
Search-space entries given on the command line join (or replace) `params`; plain `key=value` overrides go to every
trial. Trials are asked `n_jobs` at a time and launched together (gpu_pool runs them on a GPU each); each job's
return value (`main`'s: the PPO stage's `objective`) is told to the study, and a failed job is a failed trial.
The sweep dir gets `optuna_trials.csv` and `optuna_best.yaml`.

(No `from __future__ import annotations` here: Hydra's plugin scan executes this module outside sys.modules.)
"""

import csv
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

from hydra.core.config_store import ConfigStore
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import ChoiceSweep, IntervalSweep, Override, RangeSweep
from hydra.core.plugins import Plugins
from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf

log = logging.getLogger(__name__)


@dataclass
class OptunaSearchConf:
    _target_: str = "hydra_plugins.optuna_search.optuna_search.OptunaSearch"
    direction: str = "maximize"  # maximize | minimize the jobs' return value
    n_trials: int = 12
    n_jobs: int = 2  # trials launched at once
    seed: Optional[int] = None  # of the TPE sampler
    study_name: Optional[str] = None
    storage: Optional[str] = None  # e.g. sqlite:///optuna.db to share or continue a study; null = in memory
    params: Dict[str, str] = field(default_factory=dict)  # key -> search space (see the module doc)


ConfigStore.instance().store(group="hydra/sweeper", name="optuna_search", node=OptunaSearchConf, provider="ppo_suite")


def distribution(override: Override):
    """The Optuna distribution of a sweep override: interval -> float (log with the `log` tag), choice/range ->
    categorical."""
    import optuna.distributions as d

    value = override.value()
    if isinstance(value, IntervalSweep):
        return d.FloatDistribution(float(value.start), float(value.end), log="log" in value.tags)
    if isinstance(value, ChoiceSweep):
        return d.CategoricalDistribution(list(value.list))
    if isinstance(value, RangeSweep):
        return d.CategoricalDistribution(list(range(int(value.start), int(value.stop), int(value.step or 1))))
    raise ValueError(f"{override.input_line}: a search space is interval(...), tag(log, interval(...)), choice(...) or range(...)")


class OptunaSearch(Sweeper):
    def __init__(self, direction: str, n_trials: int, n_jobs: int, seed: Optional[int], study_name: Optional[str],
                 storage: Optional[str], params: Dict[str, str]) -> None:
        if n_trials < 1 or n_jobs < 1:
            raise ValueError(f"hydra.sweeper: n_trials={n_trials} and n_jobs={n_jobs} must both be >= 1")
        self.direction, self.n_trials, self.n_jobs, self.seed = direction, n_trials, n_jobs, seed
        self.study_name, self.storage, self.params = study_name, storage, dict(params or {})
        self.config: Optional[DictConfig] = None
        self.launcher = None

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        self.config = config
        self.launcher = Plugins.instance().instantiate_launcher(
            hydra_context=hydra_context, task_function=task_function, config=config
        )

    def sweep(self, arguments: List[str]) -> Any:
        import optuna

        parser = OverridesParser.create()
        given = parser.parse_overrides(arguments)
        fixed = [o.input_line for o in given if not o.is_sweep_override()]
        space = {o.get_key_element(): o for o in parser.parse_overrides([f"{k}={v}" for k, v in self.params.items()])}
        space.update({o.get_key_element(): o for o in given if o.is_sweep_override()})
        if not space:
            raise ValueError("hydra/sweeper=optuna_search has no search space: set hydra.sweeper.params (see +hparams_search=optuna)")
        distributions = {key: distribution(o) for key, o in space.items()}
        sweep_dir = Path(str(self.config.hydra.sweep.dir))
        sweep_dir.mkdir(parents=True, exist_ok=True)
        OmegaConf.save(self.config, sweep_dir / "multirun.yaml")
        study = optuna.create_study(study_name=self.study_name, storage=self.storage, direction=self.direction,
                                    sampler=optuna.samplers.TPESampler(seed=self.seed), load_if_exists=True)
        rows = []
        for start in range(0, self.n_trials, self.n_jobs):
            trials = [study.ask(distributions) for _ in range(min(self.n_jobs, self.n_trials - start))]
            batch = [fixed + [f"{key}={trial.params[key]}" for key in distributions] for trial in trials]
            for trial, job in zip(trials, self.launcher.launch(batch, initial_job_idx=start)):
                value = self._value(job)
                if value is None:
                    study.tell(trial, state=optuna.trial.TrialState.FAIL)
                else:
                    study.tell(trial, value)
                rows.append({"trial": trial.number, "job_dir": job.working_dir, **trial.params, "value": value})
        self._write(sweep_dir, study, rows, list(distributions))
        return study

    @staticmethod
    def _value(job) -> Optional[float]:
        try:
            value = job.return_value  # raises the job's error when it failed
        except Exception as err:  # noqa: BLE001 - a failed job is a failed trial, the search goes on
            log.error("optuna_search: job in %s failed: %s", job.working_dir, err)
            return None
        return None if value is None else float(value)

    def _write(self, sweep_dir: Path, study, rows: List[dict], keys: List[str]) -> None:
        with open(sweep_dir / "optuna_trials.csv", "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=["trial", *keys, "value", "job_dir"])
            writer.writeheader()
            writer.writerows(rows)
        done = [r for r in rows if r["value"] is not None]
        if not done:
            log.error("optuna_search: every trial failed; see the job dirs in %s", sweep_dir)
            return
        best = {"direction": self.direction, "best_value": study.best_value, "best_params": study.best_params,
                "trials": len(rows), "failed": len(rows) - len(done)}
        OmegaConf.save(OmegaConf.create(best), sweep_dir / "optuna_best.yaml")
        log.info("optuna_search: best %s %.4f with %s", self.direction, study.best_value, study.best_params)
