"""Rewards: plain callables `(prompts, completions, **columns) -> list[float | None]`.

Each built-in reward is one module with a `Settings` dataclass and a class built from it; the dataset's
extra columns arrive as keyword arguments. Several rewards are selected by config (`reward=[a,b]`), each
with a `weight`; they are scored into a (B, n_rewards) matrix and summed with their weights. A score of
None means "not applicable to this sample" and is skipped (and counted in the logs); NaN, a wrong
number of scores or an exception is an error. A reward may expose `last_terms`, a dict of per-sample
sub-scores of its last call, which are logged as `reward/<name>/<term>/mean`.

Your own reward plugs in with `_target_` (and `_partial_: true` for a plain function):
    reward:
      mine: {weight: 1.0, _target_: my_pkg.rewards.my_reward, _partial_: true}
"""

from __future__ import annotations

import importlib
import math
from dataclasses import dataclass
from typing import Any, Callable

import torch
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from ppo_suite.errors import ConfigError, RewardError

RewardFn = Callable[..., list]

# name -> "module:Class", imported only when selected so unused rewards cost nothing at start-up.
BUILTIN_REWARDS = {
    "ad_similarity": "ppo_suite.rewards.ad_similarity:AdSimilarity",
    "sentiment": "ppo_suite.rewards.sentiment:Sentiment",
    "repetition": "ppo_suite.rewards.repetition:Repetition",
    "length": "ppo_suite.rewards.length:Length",
    "f1": "ppo_suite.rewards.f1:AnswerMatch",
    "reward_model": "ppo_suite.rewards.reward_model:RewardModel",
    "rewrite_task_model": "ppo_suite.rewards.rewrite_task_model:RewriteTaskModel",
}


@dataclass
class RewardSpec:
    """A validated reward entry; `build` loads whatever model the reward needs."""

    name: str
    weight: float
    factory: Callable[[], RewardFn]

    def build(self) -> "WeightedReward":
        return WeightedReward(self.name, self.factory(), self.weight)


@dataclass
class WeightedReward:
    name: str
    fn: RewardFn
    weight: float


def _builtin_class(name: str, kind: str):
    if kind not in BUILTIN_REWARDS:
        raise ConfigError(
            f"reward.{name}: unknown reward type {kind!r}; built-in rewards are {sorted(BUILTIN_REWARDS)}, "
            "or give `_target_` to plug in your own callable"
        )
    module, cls = BUILTIN_REWARDS[kind].split(":")
    return getattr(importlib.import_module(module), cls)


def parse_rewards(reward_cfg: DictConfig | dict) -> list[RewardSpec]:
    """Check every reward entry against its schema, naming the offending key; loads no model."""
    entries = OmegaConf.to_container(reward_cfg, resolve=True) if isinstance(reward_cfg, DictConfig) else reward_cfg
    if not entries:
        raise ConfigError("no reward selected: choose one with reward=<name> or reward=[a,b]")
    specs = []
    for name, entry in entries.items():
        entry = dict(entry or {})
        weight = float(entry.pop("weight", 1.0))
        if "_target_" in entry:
            from hydra.utils import instantiate

            specs.append(RewardSpec(name, weight, lambda entry=entry: instantiate(entry)))
            continue
        cls = _builtin_class(name, entry.pop("type", name))
        try:
            settings = OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(cls.Settings), entry))
        except (OmegaConfBaseException, ValueError) as err:  # ValueError: a Settings.__post_init__ check
            message = getattr(err, "msg", str(err))
            raise ConfigError(f"reward.{name}: {message} (valid keys: weight, {', '.join(cls.Settings.__dataclass_fields__)})") from err
        specs.append(RewardSpec(name, weight, lambda cls=cls, settings=settings: cls(settings)))
    return specs


def score(
    rewards: list[WeightedReward], prompts: list[str], completions: list[str], columns: dict[str, list[Any]]
) -> tuple[torch.Tensor, torch.Tensor, dict[str, float]]:
    """Score a batch with every reward.

    Returns the (B, n_rewards) matrix (NaN where a reward skipped a sample), the (B,) weighted sum over
    the rewards that scored each sample, and per-reward stats for logging.
    """
    matrix = torch.full((len(completions), len(rewards)), math.nan)
    stats: dict[str, float] = {}
    for j, reward in enumerate(rewards):
        try:
            values = reward.fn(prompts=prompts, completions=completions, **columns)
        except Exception as err:
            raise RewardError(f"reward {reward.name!r} raised {type(err).__name__}: {err}") from err
        if values is None or len(values) != len(completions):
            got = "None" if values is None else f"{len(values)} scores"
            raise RewardError(f"reward {reward.name!r} returned {got} for {len(completions)} completions")
        for i, value in enumerate(values):
            if value is None:
                continue
            value = float(value)
            if math.isnan(value) or math.isinf(value):
                raise RewardError(
                    f"reward {reward.name!r} returned {value} for completion {i}: {completions[i][:80]!r}; "
                    "return None to skip a sample on purpose"
                )
            matrix[i, j] = value
        scored = matrix[:, j][~matrix[:, j].isnan()]
        stats[f"reward/{reward.name}/mean"] = scored.mean().item() if len(scored) else math.nan
        stats[f"reward/{reward.name}/skipped"] = float(len(completions) - len(scored))
        for term, term_values in getattr(reward.fn, "last_terms", {}).items():
            stats[f"reward/{reward.name}/{term}/mean"] = sum(term_values) / max(len(term_values), 1)
    unscored = matrix.isnan().all(dim=1)
    if unscored.any():
        i = int(unscored.nonzero()[0])
        raise RewardError(f"every reward skipped completion {i} ({completions[i][:80]!r}); nothing to learn from")
    weights = torch.tensor([r.weight for r in rewards])
    total = torch.nansum(matrix * weights, dim=1)
    stats["reward/total/mean"] = total.mean().item()
    return matrix, total, stats
