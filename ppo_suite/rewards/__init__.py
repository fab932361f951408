"""Rewards: plain callables `(prompts, completions, **columns) -> list[float | None]`.

Each built-in reward is one module with a `Settings` dataclass and a class built from it; the dataset's
extra columns arrive as keyword arguments. Several rewards are selected by config (`reward=[a,b]`), each
with a `weight`; they are scored into a (B, n_rewards) matrix and summed with their weights. A score of
None means "not applicable to this sample" and is skipped (and counted in the logs); NaN, a wrong
number of scores or an exception is an error. A reward may expose `last_terms`, a dict of per-sample
sub-scores of its last call, which are logged as `reward/<name>/<term>/mean`.

Beside its own settings every entry has the common ones of `CommonRewardSettings`: its `weight`, and an
optional `timeout` in seconds for one call (a reward that hangs then stops the run with an error).

Your own reward plugs in with `_target_` (and `_partial_: true` for a plain function):
    reward:
      mine: {weight: 1.0, _target_: my_pkg.rewards.my_reward, _partial_: true}
"""

from __future__ import annotations

import functools
import importlib
import math
import numbers
import threading
import typing
from concurrent.futures import Future
from dataclasses import MISSING as MISSING_FACTORY
from dataclasses import dataclass, field, fields, make_dataclass
from typing import Any, Callable, Optional

import numpy as np
import torch
from omegaconf import MISSING, DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from ppo_suite.config import bounded, check_schema, omegaconf_message
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
    "learned": "ppo_suite.rewards.learned:LearnedReward",
}


@dataclass
class CommonRewardSettings:
    """Settings of every reward entry, beside the reward's own."""

    weight: float = MISSING  # every conf/reward yaml sets it: an entry without one was never selected
    timeout: Optional[float] = bounded(None, "> 0")  # seconds one call may take; null = no limit


COMMON_KEYS = [f.name for f in fields(CommonRewardSettings)]


@dataclass
class RewardSpec:
    """A validated reward entry; `build` loads whatever model the reward needs. A built-in reward's class may have
    `build_embedded(settings)`, which trains the embedded model its settings name (`stage=build_embedded`)."""

    name: str
    common: CommonRewardSettings
    factory: Callable[[], RewardFn]
    builtin: type | None = None  # the built-in reward's class; None for a `_target_` callable
    settings: Any = None  # its validated Settings

    def build(self, policy=None) -> "WeightedReward":
        """`policy`: the PPO policy, for a reward that scores with an adapter on its base (reward=learned)."""
        return WeightedReward(self.name, self.factory(policy), self.common.weight, self.common.timeout)


@dataclass
class WeightedReward:
    name: str
    fn: RewardFn
    weight: float
    timeout: float | None = None


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
        if "weight" not in entry:
            raise ConfigError(
                f"reward.{name} has no weight, so it was not selected: its settings {sorted(entry)} come from an "
                "experiment whose reward list was replaced on the command line (reward=[] or a list without it). "
                f"Select it too, e.g. reward=[...,{name}], or set reward.{name}.weight"
            )
        common = _checked(CommonRewardSettings, {k: entry.pop(k) for k in COMMON_KEYS if k in entry}, f"reward.{name}")
        if "_target_" in entry:
            from hydra.utils import instantiate

            specs.append(RewardSpec(name, common, lambda policy, entry=entry: instantiate(entry)))
            continue
        cls = _builtin_class(name, entry.pop("type", name))
        settings = _checked(cls.Settings, entry, f"reward.{name}")
        specs.append(RewardSpec(name, common, functools.partial(_construct, cls, settings), cls, settings))
    return specs


def entry_schema(name: str) -> type:
    """The schema of a built-in reward's entry under `reward.<name>`: the common settings and the reward's own, as one
    dataclass. conf/reward/<name>.yaml lists it first (`- base_<name>`), so a wrong type or key fails at composition."""
    settings = _builtin_class(name, name).Settings
    entry_fields = []
    for schema in (CommonRewardSettings, settings):
        hints = typing.get_type_hints(schema)
        for f in fields(schema):
            default = {"default_factory": f.default_factory} if f.default_factory is not MISSING_FACTORY else {"default": f.default}
            entry_fields.append((f.name, hints[f.name], field(metadata=f.metadata, **default)))
    return make_dataclass(f"{settings.__name__}Entry", entry_fields)


def register_reward_schemas(store) -> None:
    for name in BUILTIN_REWARDS:
        store.store(group="reward", name=f"base_{name}", node={name: entry_schema(name)})


def _construct(cls, settings, policy):
    """A built-in reward from its settings; one that shares the policy's base (`shares_policy_base`) gets the policy."""
    return cls(settings, policy=policy) if getattr(cls, "shares_policy_base", False) else cls(settings)


def _checked(schema: type, values: dict, key: str):
    """`values` as an instance of the dataclass `schema`, after checking their keys, types and bounds."""
    try:
        node = OmegaConf.merge(OmegaConf.structured(schema), values)
        check_schema(node, schema, key)
        return OmegaConf.to_object(node)
    except (OmegaConfBaseException, ValueError) as err:  # ValueError: a Settings.__post_init__ check
        valid = [*COMMON_KEYS, *(f.name for f in fields(schema) if f.name not in COMMON_KEYS)]
        raise ConfigError(f"{omegaconf_message(err, key)} (valid keys: {', '.join(valid)})") from err


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
        values = _scores(reward, _call(reward, prompts, completions, columns), len(completions))
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


def _call(reward: WeightedReward, prompts: list[str], completions: list[str], columns: dict[str, list[Any]]) -> Any:
    """What the reward returns, within its timeout; its exception or the timeout is a RewardError naming it."""
    call = functools.partial(reward.fn, prompts=prompts, completions=completions, **columns)
    future: Future = Future()

    def run() -> None:
        try:
            future.set_result(call())
        except Exception as err:  # noqa: BLE001 - handed to the caller through the future
            future.set_exception(err)

    if reward.timeout is None:
        run()
    else:
        # Python cannot stop a hung call; a daemon thread at least does not keep the process alive after the error.
        threading.Thread(target=run, name=f"reward-{reward.name}", daemon=True).start()
    try:
        return future.result(timeout=reward.timeout)
    except Exception as err:
        if not future.done():
            raise RewardError(
                f"reward {reward.name!r} did not return within its timeout of {reward.timeout:g} s "
                f"(reward.{reward.name}.timeout): it hangs, or needs a larger limit"
            ) from None
        raise RewardError(f"reward {reward.name!r} raised {type(err).__name__}: {err}") from err


def _scores(reward: WeightedReward, values: Any, n: int) -> list:
    """The reward's output as a list of n scores, each a number or None; anything else is a RewardError naming it."""
    if isinstance(values, (torch.Tensor, np.ndarray)):
        values = values.tolist()
    if not isinstance(values, (list, tuple)):
        raise RewardError(
            f"reward {reward.name!r} returned {'None' if values is None else 'a ' + type(values).__name__}; a reward "
            f"returns a list (or a tuple, numpy array or tensor) of one float or None per completion, here {n}"
        )
    if len(values) != n:
        raise RewardError(f"reward {reward.name!r} returned {len(values)} scores for {n} completions")
    for i, value in enumerate(values):
        if value is not None and not isinstance(value, numbers.Real):
            raise RewardError(
                f"reward {reward.name!r} returned {value!r} ({type(value).__name__}) for completion {i}; "
                "a score is a number, or None to skip a sample"
            )
    return list(values)
