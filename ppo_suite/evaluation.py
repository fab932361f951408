"""Held-out evaluation of a policy: what the PPO runner reports before and after training, and what the evaluate
stage compares across checkpoints.

The held-out prompts are sampled with a fixed seed (`eval.seed`), so two evaluations of one policy agree and two
policies are compared on the same draws. Per sample: the total reward and each reward's score, the KL to the
reference policy (k1 of two forward passes, summed over the response), the response's length and whether it ended its turn. Metrics:
mean, std, min and max of those, plus the text statistics of ppo_suite.text_stats.
"""

from __future__ import annotations

import math

import torch

from ppo_suite import ppo_math as pm
from ppo_suite.chat import PromptFormat
from ppo_suite.rewards import score
from ppo_suite.rollout import forward_no_grad, generate, reference_logprobs
from ppo_suite.tasks import columns_of
from ppo_suite.text_stats import text_stats


def spread(values: list[float]) -> dict[str, float]:
    """mean, std (sample; 0 for one value), min and max of the values that are not NaN (all NaN when none are)."""
    kept = [v for v in values if not math.isnan(v)]
    if not kept:
        return dict.fromkeys(("mean", "std", "min", "max"), math.nan)
    t = torch.tensor(kept, dtype=torch.float64)
    return {"mean": t.mean().item(), "std": t.std().item() if len(kept) > 1 else 0.0, "min": t.min().item(), "max": t.max().item()}


@torch.no_grad()
def evaluate(policy, tokenizer, fmt: PromptFormat, rewards, records: list[dict], cfg, device) -> dict:
    """The policy's samples on held-out prompts, scored, with their KL to the reference; and the metrics over them."""
    torch.manual_seed(cfg.eval.seed)
    records = [r for r in records for _ in range(cfg.eval.samples_per_prompt)]
    samples = []
    for i in range(0, len(records), cfg.ppo.batch_size):
        chunk = records[i : i + cfg.ppo.batch_size]
        prompts = [r["prompt"] for r in chunk]
        rollout = generate(policy, tokenizer, prompts, cfg.generation, cfg.task.max_prompt_tokens, device, fmt)
        matrix, total, _ = score(rewards, prompts, rollout.completions, columns_of(chunk))
        mask = rollout.response_mask.to(device)
        # Both log-probs from the same kind of forward pass: the sampling-time ones differ from it by the rollout
        # mismatch (~0.2 nats per response under bf16), which would read as KL even for the reference itself.
        own = forward_no_grad(policy, rollout, cfg.hardware.micro_batch_size, cfg.generation.temperature, with_values=False)
        ref = reference_logprobs(policy, rollout, cfg.hardware.micro_batch_size, cfg.generation.temperature)
        kl = (pm.kl_k1(own["logprobs"], ref) * mask).sum(1).cpu()
        for k, record in enumerate(chunk):
            samples.append({
                "prompt": record["prompt"], "completion": rollout.completions[k], "reward": total[k].item(),
                "terms": {reward.name: matrix[k, j].item() for j, reward in enumerate(rewards)},
                "kl": kl[k].item(), "tokens": int(mask[k].sum().item()), "finished": bool(rollout.finished[k]),
            })
    return {"metrics": metrics_of(samples, [r.name for r in rewards]), "samples": samples}


def metrics_of(samples: list[dict], reward_names: list[str]) -> dict[str, float]:
    """`reward/total/{mean,std,min,max}`, the same per reward, `kl_to_reference` (mean) and its spread, response
    length in tokens, the fraction that ended their turn, and the text statistics."""
    metrics = {f"reward/total/{k}": v for k, v in spread([s["reward"] for s in samples]).items()}
    for name in reward_names:
        metrics |= {f"reward/{name}/{k}": v for k, v in spread([s["terms"][name] for s in samples]).items()}
    kl = spread([s["kl"] for s in samples])
    metrics["kl_to_reference"] = kl.pop("mean")
    metrics |= {f"kl_to_reference/{k}": v for k, v in kl.items()}
    metrics |= {f"response/tokens/{k}": v for k, v in spread([float(s["tokens"]) for s in samples]).items()}
    metrics["response/finished_frac"] = sum(s["finished"] for s in samples) / len(samples)  # ended their turn in time
    return metrics | text_stats([s["completion"] for s in samples])
