"""PPO math as small pure tensor functions.

Shapes: B = batch of sequences, T = response tokens. Every per-token tensor comes with a `mask` (B, T)
of 1.0 on response tokens and 0.0 on padding after the end of each response.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from ppo_suite.errors import ConfigError


def masked_mean(x: torch.Tensor, mask: torch.Tensor, dim: int | None = None) -> torch.Tensor:
    if dim is None:
        return (x * mask).sum() / mask.sum().clamp(min=1)
    return (x * mask).sum(dim) / mask.sum(dim).clamp(min=1)


def masked_var(x: torch.Tensor, mask: torch.Tensor, unbiased: bool = True) -> torch.Tensor:
    mean = masked_mean(x, mask)
    var = masked_mean((x - mean) ** 2, mask)
    if unbiased:
        n = mask.sum()
        if n < 2:
            raise ValueError("masked_var needs at least two unmasked values; raise the batch size")
        var = var * n / (n - 1)
    return var


def masked_whiten(
    x: torch.Tensor, mask: torch.Tensor, shift_mean: bool = True, moments: tuple[torch.Tensor, torch.Tensor] | None = None
) -> torch.Tensor:
    """Normalise to unit variance over unmasked entries; masked entries come back as 0. `moments`: the (mean,
    variance) to normalise with, when they come from elsewhere (the global batch of data-parallel ranks)."""
    mean, var = moments if moments is not None else (masked_mean(x, mask), masked_var(x, mask))
    whitened = (x - mean) * torch.rsqrt(var + 1e-8)
    if not shift_mean:
        whitened = whitened + mean
    return whitened * mask


def kl_k1(logprobs: torch.Tensor, ref_logprobs: torch.Tensor) -> torch.Tensor:
    """log p - log q: unbiased per-token estimate of KL(p || q) for samples from p; can be negative."""
    return logprobs - ref_logprobs


def kl_k3(logprobs: torch.Tensor, ref_logprobs: torch.Tensor) -> torch.Tensor:
    """(r - 1) - log r with r = q/p: unbiased, never negative, lower variance than k1."""
    log_ratio = ref_logprobs - logprobs
    return torch.expm1(log_ratio) - log_ratio


KL_ESTIMATORS = {"k1": kl_k1, "k3": kl_k3}


def kl_estimator(name: str):
    if name not in KL_ESTIMATORS:
        raise ConfigError(f"ppo.kl_estimator={name!r} is not one of {sorted(KL_ESTIMATORS)}")
    return KL_ESTIMATORS[name]


def center_groups(scores: torch.Tensor, group_size: int) -> torch.Tensor:
    """Each score minus the mean score of its group: `group_size` consecutive completions of one prompt.

    A baseline per prompt (as in RLOO and GRPO): what is left compares completions of the same prompt, so
    how hard a prompt is no longer drowns out how good a completion is. scores: (B,) -> (B,).
    """
    groups = scores.view(-1, group_size)
    return (groups - groups.mean(1, keepdim=True)).view(-1)


def penalize_unfinished(scores: torch.Tensor, finished: torch.Tensor, penalty: float) -> torch.Tensor:
    """Scores minus `penalty` where the response never ended its turn (cut at max_new_tokens), as TRL's
    missing_eos_penalty: a cheap, direct signal to finish. scores: (B,) float, finished: (B,) bool -> (B,)."""
    return scores - penalty * (~finished).to(scores.dtype)


def rollout_mismatch(logprobs: torch.Tensor, old_logprobs: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean |ratio - 1| over response tokens, before any update: how far the training forward's log-probs
    sit from the rollout's (numerics alone, the weights being the same). (B, T) -> scalar."""
    return masked_mean((torch.exp(logprobs - old_logprobs) - 1).abs(), mask)


def shape_rewards(
    scores: torch.Tensor, kl: torch.Tensor, kl_coef: float, mask: torch.Tensor
) -> torch.Tensor:
    """Per-token rewards: -kl_coef * KL on every response token, the sequence score on its last token.

    scores: (B,), kl and mask: (B, T) -> (B, T).
    """
    rewards = -kl_coef * kl * mask
    last = (mask.sum(1).long() - 1).clamp(min=0)
    rewards[torch.arange(len(scores)), last] += scores
    return rewards


def gae(
    rewards: torch.Tensor, values: torch.Tensor, mask: torch.Tensor, gamma: float, lam: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Generalised advantage estimation over each response; the value after the last token is 0.

    rewards, values, mask: (B, T) -> (advantages, returns), both (B, T), 0 on masked tokens.
    """
    values = values * mask
    advantages = torch.zeros_like(rewards)
    running = torch.zeros_like(rewards[:, 0])
    for t in reversed(range(rewards.shape[1])):
        next_value = values[:, t + 1] if t + 1 < rewards.shape[1] else torch.zeros_like(running)
        delta = rewards[:, t] + gamma * next_value - values[:, t]
        running = (delta + gamma * lam * running) * mask[:, t]
        advantages[:, t] = running
    return advantages, (advantages + values) * mask


def policy_loss(
    logprobs: torch.Tensor,
    old_logprobs: torch.Tensor,
    advantages: torch.Tensor,
    mask: torch.Tensor,
    cliprange: float,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Clipped surrogate objective (as a loss to minimise) and its diagnostics."""
    log_ratio = (logprobs - old_logprobs) * mask
    ratio = torch.exp(log_ratio)
    unclipped = -advantages * ratio
    clipped = -advantages * torch.clamp(ratio, 1.0 - cliprange, 1.0 + cliprange)
    loss = masked_mean(torch.maximum(unclipped, clipped), mask)
    stats = {
        "clipfrac": masked_mean((clipped > unclipped).float(), mask),
        "approxkl": 0.5 * masked_mean(log_ratio**2, mask),
        "ratio": masked_mean(ratio, mask),
    }
    return loss, stats


def value_loss(
    values: torch.Tensor,
    old_values: torch.Tensor,
    returns: torch.Tensor,
    mask: torch.Tensor,
    cliprange_value: float,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Clipped value loss: the worse of the raw and the clipped prediction, halved squared error."""
    clipped_values = old_values + torch.clamp(values - old_values, -cliprange_value, cliprange_value)
    raw_error = (values - returns) ** 2
    clipped_error = (clipped_values - returns) ** 2
    loss = 0.5 * masked_mean(torch.maximum(raw_error, clipped_error), mask)
    return loss, {"clipfrac": masked_mean((clipped_error > raw_error).float(), mask)}


def explained_variance(values: torch.Tensor, returns: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """1 - Var[returns - values] / Var[returns]; 1 is perfect, 0 is no better than a constant."""
    return 1 - masked_var(returns - values, mask) / masked_var(returns, mask).clamp(min=1e-8)


@dataclass
class FixedKLController:
    value: float

    def update(self, current_kl: float, n_samples: int) -> None:
        pass

    def state_dict(self) -> dict:
        return {"value": self.value}

    def load_state_dict(self, state: dict) -> None:
        self.value = state["value"]


@dataclass
class AdaptiveKLController:
    """Ziegler et al. (2019): move the coefficient so the observed KL tracks `target`."""

    value: float
    target: float
    horizon: int

    def update(self, current_kl: float, n_samples: int) -> None:
        proportional_error = min(max(current_kl / self.target - 1.0, -0.2), 0.2)
        self.value *= 1.0 + proportional_error * n_samples / self.horizon

    def state_dict(self) -> dict:
        return {"value": self.value}

    def load_state_dict(self, state: dict) -> None:
        self.value = state["value"]


class RunningMoments:
    """Running mean and std of reward scores across iterations (Chan et al. parallel update)."""

    def __init__(self) -> None:
        self.mean, self.var, self.count = 0.0, 1.0, 1e-4

    def update(self, x: torch.Tensor) -> None:
        batch_mean, batch_var, batch_count = x.mean().item(), x.var(unbiased=False).item(), x.numel()
        delta = batch_mean - self.mean
        total = self.count + batch_count
        self.mean += delta * batch_count / total
        self.var = (self.var * self.count + batch_var * batch_count + delta**2 * self.count * batch_count / total) / total
        self.count = total

    @property
    def std(self) -> float:
        return math.sqrt(max(self.var, 1e-8))

    def state_dict(self) -> dict:
        return {"mean": self.mean, "var": self.var, "count": self.count}

    def load_state_dict(self, state: dict) -> None:
        self.mean, self.var, self.count = state["mean"], state["var"], state["count"]
