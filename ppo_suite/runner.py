"""The PPO runner: one loop that reads like the algorithm.

Per iteration: (1) sample responses, with the policy's log-probs and values of them, (2) score them with
the rewards, (3) the reference's log-probs of the rollout, (4) KL-shaped per-token rewards and GAE advantages,
(5) PPO epochs over mini-batches, (6) KL controller update, logging and checkpoints.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import random
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from omegaconf import DictConfig, OmegaConf
from tqdm.auto import tqdm

from ppo_suite import ppo_math as pm
from ppo_suite.chat import PromptFormat, prompt_format
from ppo_suite.checkpoint import latest_checkpoint, load_checkpoint, save_checkpoint
from ppo_suite.config import validate
from ppo_suite.distributed import Ranks, ranks as current_ranks
from ppo_suite.errors import ConfigError, PPOSuiteError
from ppo_suite.models import load_policy, load_tokenizer, model_source, resolve_device, set_host_mmap_threshold
from ppo_suite.optimizer import build_optimizer
from ppo_suite.rewards import WeightedReward, parse_rewards, score
from ppo_suite.evaluation import evaluate
from ppo_suite.rollout import Rollout, forward_no_grad, generate, reference_logprobs
from ppo_suite.run_dir import claimed
from ppo_suite.tasks import columns_of, load_task
from ppo_suite.tracking import Tracker

log = logging.getLogger(__name__)


@dataclass
class Sizes:
    """One process's batch sizes, derived once from the config and the number of processes (data-parallel
    ranks split the global batch by prompts); a remainder is an error, not a silent drop."""

    batch: int
    prompts: int
    mini_batch: int
    micro_batch: int
    accumulation: int

    @classmethod
    def from_config(cls, cfg: DictConfig, world: int = 1) -> "Sizes":
        batch, n_mini, per_prompt = cfg.ppo.batch_size, cfg.ppo.num_mini_batches, cfg.ppo.samples_per_prompt
        if per_prompt < 1 or batch % per_prompt:
            raise ConfigError(f"ppo.batch_size={batch} is not divisible by ppo.samples_per_prompt={per_prompt}")
        if (batch // per_prompt) % world:
            raise ConfigError(
                f"the {batch // per_prompt} prompts of a batch (ppo.batch_size / ppo.samples_per_prompt) do not "
                f"split evenly over {world} processes"
            )
        batch //= world
        if cfg.ppo.group_baseline and per_prompt < 2:
            raise ConfigError("ppo.group_baseline=true needs ppo.samples_per_prompt >= 2: a group of one has nothing to compare")
        if batch % n_mini:
            raise ConfigError(f"ppo.batch_size={batch} is not divisible by ppo.num_mini_batches={n_mini}")
        mini = batch // n_mini
        micro = min(cfg.hardware.micro_batch_size, mini)
        if mini % micro:
            raise ConfigError(
                f"the mini-batch of {mini} sequences (ppo.batch_size / ppo.num_mini_batches) is not "
                f"divisible by hardware.micro_batch_size={micro}"
            )
        return cls(batch, batch // per_prompt, mini, micro, mini // micro)


def draw_batch(records: list[dict], n_prompts: int, samples_per_prompt: int) -> list[dict]:
    """`n_prompts` records drawn without replacement (cycling when there are fewer), each repeated
    `samples_per_prompt` times in a row: a prompt's completions are adjacent, as `center_groups` expects."""
    prompts = [records[i] for i in torch.randperm(len(records))[:n_prompts].tolist()]
    if len(prompts) < n_prompts:
        prompts = [records[i % len(records)] for i in range(n_prompts)]
    return [r for r in prompts for _ in range(samples_per_prompt)]


def seed_step(seed: int, step: int, rank: int = 0) -> None:
    """Seed every generator from (seed, step), and the rank: a resumed run repeats the same draws, and every
    data-parallel rank samples its own."""
    step_seed = seed * 1_000_003 + step + rank * 7_919_000_003
    random.seed(step_seed)
    torch.manual_seed(step_seed)


def run(cfg: DictConfig, run_dir: Path | None = None) -> dict:
    """Run PPO as configured; artifacts go to `run_dir` (Hydra's output dir by default), or continue the run
    dir given by `resume`. Returns the summary."""
    validate(cfg)
    if cfg.resume:
        run_dir, cfg = _resumed_run(cfg, _command_line_overrides())
        finished = _finished_summary(run_dir, cfg)
        if finished is not None:
            log.info("resume: %s already finished all %d steps; its summary.json stands", run_dir, cfg.ppo.steps)
            return finished
    elif run_dir is None:
        from hydra.core.hydra_config import HydraConfig

        run_dir = Path(HydraConfig.get().runtime.output_dir)
    run_dir = Path(run_dir)
    with claimed(run_dir) if current_ranks().main else contextlib.nullcontext():
        try:
            return train(cfg, run_dir)
        except OSError as err:
            if err.errno != errno.ENOSPC:
                raise
            raise PPOSuiteError(
                f"the disk is full: no space left to write {err.filename or 'into ' + str(run_dir)}. What the run "
                f"wrote before is intact in {run_dir}; free some space (df -h {run_dir}) and continue with "
                f"resume={run_dir}"
            ) from err


def train(cfg: DictConfig, run_dir: Path) -> dict:
    """The PPO loop, from model loading to the final summary, writing into `run_dir`."""
    # Everything that can be checked without a model is checked first.
    ranks = current_ranks()
    sizes = Sizes.from_config(cfg, ranks.world)
    kl_fn = pm.kl_estimator(cfg.ppo.kl_estimator)
    reward_specs = parse_rewards(cfg.reward)
    task = load_task(cfg.task)
    baseline = cfg.eval.baseline_column
    if baseline and task.eval and baseline not in task.eval[0]:
        raise ConfigError(f"eval.baseline_column={baseline!r} is not a column of the held-out records: {sorted(task.eval[0])}")
    device = resolve_device(cfg.hardware.device)
    if cfg.hardware.num_threads:
        torch.set_num_threads(cfg.hardware.num_threads)
    if cfg.hardware.host_mmap_threshold_mib:
        set_host_mmap_threshold(cfg.hardware.host_mmap_threshold_mib)
    if ranks.main:
        (run_dir / "config.yaml").write_text(OmegaConf.to_yaml(cfg, resolve=True))

    with ranks.main_first():
        source = model_source(cfg.model)
    tokenizer = load_tokenizer(source, cfg.model)
    tokenizer.truncation_side = "left"  # keep the end of an over-long prompt, where the answer starts
    fmt = prompt_format(tokenizer, cfg.model.chat_template, cfg.model.system_prompt)
    _warn_about_long_prompts(tokenizer, fmt, task.train + task.eval, cfg.task.max_prompt_tokens)
    torch.manual_seed(cfg.seed)  # the value head's and adapter's initial weights
    policy = load_policy(source, cfg.model, cfg.hardware, device)
    ranks.broadcast_parameters(policy.trainable_parameters())
    with ranks.main_first():
        rewards = [spec.build(policy) for spec in reward_specs]  # before the optimizer: a reward adapter stays frozen

    ppo = cfg.ppo
    optimizer = build_optimizer(policy, ppo, cfg.hardware, sizes.micro_batch, sizes.accumulation, ranks)
    kl_ctl = (
        pm.AdaptiveKLController(ppo.kl_coef, ppo.kl_target, ppo.kl_horizon)
        if ppo.adaptive_kl
        else pm.FixedKLController(ppo.kl_coef)
    )
    score_moments = pm.RunningMoments()

    start_step, initial_eval, log_positions = 0, None, None
    checkpoint = latest_checkpoint(run_dir) if cfg.resume else None
    if checkpoint is not None:
        state = load_checkpoint(checkpoint, policy, optimizer)
        kl_ctl.load_state_dict(state["kl_ctl"])
        score_moments.load_state_dict(state["score_moments"])
        start_step, initial_eval, log_positions = state["step"], state["initial_eval"], state["log_positions"]
        log.info("resumed %s from %s (step %d)", run_dir, checkpoint, start_step)
    tracker = Tracker(cfg.logger, run_dir, cfg, resume_at=log_positions, enabled=ranks.main)

    def checkpoint_state() -> dict:
        return {
            "kl_ctl": kl_ctl.state_dict(), "score_moments": score_moments.state_dict(),
            "initial_eval": initial_eval, "log_positions": tracker.positions(),
        }

    eval_records = task.eval[: cfg.eval.num_prompts]
    if initial_eval is None and eval_records and ranks.main:
        initial_eval = evaluate(policy, tokenizer, fmt, rewards, eval_records, cfg, device)
        tracker.log({f"eval/{k}": v for k, v in initial_eval["metrics"].items()}, step=0)

    progress = tqdm(
        range(start_step, ppo.steps), initial=start_step, total=ppo.steps, desc="ppo", unit="step", disable=not ranks.main
    )
    for step in progress:
        seed_step(cfg.seed, step)
        t_start = clock(device)
        batch = ranks.shard(draw_batch(task.train, sizes.prompts * ranks.world, ppo.samples_per_prompt))
        if ranks.world > 1:
            seed_step(cfg.seed, step, ranks.rank)

        # 1. Rollout, with the policy's log-probs and values of it.
        prompts = [r["prompt"] for r in batch]
        rollout = generate(policy, tokenizer, prompts, cfg.generation, cfg.task.max_prompt_tokens, device, fmt)
        t_generated = clock(device)

        # 2. Score; a response cut at max_new_tokens may pay a penalty.
        _, scores, reward_stats = score(rewards, prompts, rollout.completions, columns_of(batch))
        if ppo.missing_eos_penalty:
            scores = pm.penalize_unfinished(scores, rollout.finished, ppo.missing_eos_penalty)
        scores = _shape_scores(scores, ppo, score_moments, ranks).to(device)
        t_scored = clock(device)

        # 3. The reference's log-probs of the rollout: one pass, adapter off. The policy's own come from sampling,
        # or from a forward pass like the training one when ppo.recompute_logprobs is set.
        mask = rollout.response_mask.to(device)
        old = {"logprobs": rollout.logprobs, "values": rollout.values}
        if ppo.recompute_logprobs:
            old = forward_no_grad(policy, rollout, sizes.micro_batch, cfg.generation.temperature, with_values=True)
        ref_logprobs = reference_logprobs(policy, rollout, sizes.micro_batch, cfg.generation.temperature)
        t_forward = clock(device)

        # 4. KL-shaped rewards, advantages and returns.
        kl = kl_fn(old["logprobs"], ref_logprobs) * mask
        token_rewards = pm.shape_rewards(scores, kl, kl_ctl.value, mask)
        advantages, returns = pm.gae(token_rewards, old["values"], mask, ppo.gamma, ppo.lam)
        if ppo.whiten_advantages:
            advantages = pm.masked_whiten(advantages, mask, moments=ranks.masked_moments(advantages, mask))

        # 5. PPO epochs over shuffled mini-batches, accumulated from micro-batches.
        train_stats = _ppo_epochs(policy, optimizer, rollout, old, advantages, returns, sizes, cfg, ranks)
        t_optimized = clock(device)

        # 6. KL controller, logs, checkpoint.
        sequence_kl = ranks.mean_of({"kl": kl.sum(1).mean().item()})["kl"]
        kl_ctl.update(sequence_kl, sizes.batch * ranks.world)
        n_tokens = mask.sum().item()
        metrics = ranks.mean_of({
            **reward_stats,
            "objective/scores": scores.mean().item(),
            "objective/kl": sequence_kl,
            "objective/kl_coef": kl_ctl.value,
            "objective/non_score_reward": (token_rewards.sum(1) - scores).mean().item(),
            **train_stats,
            "ppo/val/explained_var": pm.explained_variance(old["values"], returns, mask).item(),
            "ppo/returns/mean": pm.masked_mean(returns, mask).item(),
            "ppo/lr": optimizer.scheduler.get_last_lr()[0],
            "response/length_mean": mask.sum(1).mean().item(),
            "response/finished_frac": rollout.finished.float().mean().item(),
            "time/generate": t_generated - t_start,
            "time/reward": t_scored - t_generated,
            "time/forward": t_forward - t_scored,
            "time/optimize": t_optimized - t_forward,
            "time/step": t_optimized - t_start,
            "throughput/generated_tokens_per_sec": n_tokens / (t_generated - t_start),
        })
        if (step + 1) % cfg.logger.log_every == 0 or step + 1 == ppo.steps:
            tracker.log(metrics, step=step + 1)
        if ranks.main and cfg.logger.samples_every and (step + 1) % cfg.logger.samples_every == 0:
            tracker.log_samples(_sample_rows(batch, rollout, rewards, cfg.logger.samples_rows), step=step + 1)
        progress.set_postfix(reward=f"{metrics['reward/total/mean']:.3f}", kl=f"{sequence_kl:.3f}")
        if cfg.checkpoint_every and (step + 1) % cfg.checkpoint_every == 0 and step + 1 < ppo.steps:
            save_checkpoint(run_dir, step + 1, policy, optimizer, checkpoint_state(), ranks)

    ranks.check_identical(policy.trainable_parameters())
    save_checkpoint(run_dir, ppo.steps, policy, optimizer, checkpoint_state(), ranks)
    if not ranks.main:
        return {}
    policy.save(run_dir / "final")
    summary = _summarise(policy, tokenizer, fmt, rewards, eval_records, cfg, device, initial_eval, tracker)
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=2))
    tracker.finish()
    return summary


def _resumed_run(cfg: DictConfig, overrides: list[str]) -> tuple[Path, DictConfig]:
    """The run dir to continue and its saved config; `overrides` (the command line's, bar `resume=`) do not apply."""
    run_dir = Path(cfg.resume).expanduser()
    saved = run_dir / "config.yaml"
    if not saved.is_file() or latest_checkpoint(run_dir) is None:
        raise ConfigError(f"resume={cfg.resume}: no config.yaml and checkpoints/step_* there to resume from")
    saved_cfg = OmegaConf.load(saved)
    saved_cfg.resume = cfg.resume
    if overrides:
        log.warning("resume: the run's saved config wins; ignoring the command-line overrides %s", overrides)
    return run_dir, saved_cfg


def _command_line_overrides() -> list[str]:
    """What the user set on the command line, other than `resume=`; none when `run` is called from code."""
    from hydra.core.hydra_config import HydraConfig

    if not HydraConfig.initialized():
        return []
    return [o for o in HydraConfig.get().overrides.task if not o.lstrip("+~").startswith("resume=")]


def _finished_summary(run_dir: Path, cfg: DictConfig) -> dict | None:
    """The summary of a run that already ended (its last checkpoint is its final step), else None."""
    summary = run_dir / "summary.json"
    if not summary.is_file() or latest_checkpoint(run_dir).name != f"step_{cfg.ppo.steps:06d}":
        return None
    return json.loads(summary.read_text())


def _warn_about_long_prompts(tokenizer, fmt: PromptFormat, records: list[dict], max_tokens: int) -> None:
    texts = fmt.render(tokenizer, [r["prompt"] for r in records])
    lengths = [len(ids) for ids in tokenizer(texts, add_special_tokens=fmt.add_special_tokens)["input_ids"]]
    too_long = [n for n in lengths if n > max_tokens]
    if too_long:
        log.warning(
            "%d of %d prompts are longer than task.max_prompt_tokens=%d (the longest has %d tokens): they are cut "
            "to their last %d tokens; raise task.max_prompt_tokens to keep them whole",
            len(too_long), len(lengths), max_tokens, max(too_long), max_tokens,
        )


def _shape_scores(scores: torch.Tensor, ppo, moments: pm.RunningMoments, ranks: Ranks) -> torch.Tensor:
    scores = scores * ppo.reward_scale
    if ppo.group_baseline:
        scores = pm.center_groups(scores, ppo.samples_per_prompt)
    if ppo.reward_norm:
        moments.update(ranks.gather(scores))  # the global batch's scores: every rank normalises alike
        scores = scores / moments.std
    if ppo.reward_clip is not None:
        scores = scores.clamp(-ppo.reward_clip, ppo.reward_clip)
    return scores


def clock(device: torch.device) -> float:
    """perf_counter once the device has run what was queued, so each phase's time is its own."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter()


def _ppo_epochs(policy, optimizer, rollout, old, advantages, returns, sizes: Sizes, cfg, ranks: Ranks) -> dict:
    ppo = cfg.ppo
    mask = rollout.response_mask.to(advantages.device)
    stats: dict[str, list[torch.Tensor]] = {}  # left on the device and read once at the end, not per micro-batch
    epochs_done = 0
    mismatch = []  # |ratio - 1| over the first mini-batch, before any update: rollout vs training numerics
    policy.train()
    for _ in range(ppo.ppo_epochs):
        order = torch.randperm(sizes.batch)
        stop = False
        for start in range(0, sizes.batch, sizes.mini_batch):
            mini = order[start : start + sizes.mini_batch]
            approxkl = 0.0
            for micro in mini.split(sizes.micro_batch):
                m = mask[micro]
                out = policy(
                    rollout.input_ids[micro], rollout.attention_mask[micro], rollout.prompt_length,
                    cfg.generation.temperature, with_entropy=True,
                )
                if epochs_done == 0 and start == 0:
                    mismatch.append(pm.rollout_mismatch(out["logprobs"].detach(), old["logprobs"][micro], m))
                pg_loss, pg_stats = pm.policy_loss(out["logprobs"], old["logprobs"][micro], advantages[micro], m, ppo.cliprange)
                vf_loss, vf_stats = pm.value_loss(out["values"], old["values"][micro], returns[micro], m, ppo.cliprange_value)
                entropy = pm.masked_mean(out["entropy"], m)
                loss = pg_loss + ppo.vf_coef * vf_loss
                if ppo.ent_coef:  # a bonus; otherwise the entropy is only logged, and backward skips its (B, T, V) work
                    loss = loss - ppo.ent_coef * entropy
                optimizer.backward(loss)
                approxkl = approxkl + pg_stats["approxkl"].detach() / sizes.accumulation
                for key, value in {
                    "ppo/policy/loss": pg_loss, "ppo/policy/clipfrac": pg_stats["clipfrac"],
                    "ppo/policy/approxkl": pg_stats["approxkl"], "ppo/policy/entropy": entropy,
                    "ppo/val/loss": vf_loss, "ppo/val/clipfrac": vf_stats["clipfrac"],
                    "ppo/val/mean": pm.masked_mean(out["values"], m),
                }.items():
                    stats.setdefault(key, []).append(value.detach())
            stats.setdefault("ppo/grad_norm", []).append(optimizer.step())  # every rank takes the same step
            if ppo.target_kl is not None and ranks.sum(approxkl) / ranks.world > ppo.target_kl:  # the only read inside the loop
                stop = True  # on every rank at once
                break
        epochs_done += 1
        if stop:
            break
    policy.eval()
    means = torch.stack([torch.stack(values).float().mean() for values in stats.values()]).tolist()
    return {
        **dict(zip(stats, means)), "ppo/epochs_completed": float(epochs_done),
        "ppo/rollout_mismatch": torch.stack(mismatch).mean().item(),
    }


def _sample_rows(batch: list[dict], rollout: Rollout, rewards: list[WeightedReward], n: int) -> list[dict]:
    _, totals, _ = score(rewards, [r["prompt"] for r in batch[:n]], rollout.completions[:n], columns_of(batch[:n]))
    return [
        {"prompt": r["prompt"], "completion": c, "reward": t}
        for r, c, t in zip(batch[:n], rollout.completions[:n], totals.tolist())
    ]


def objective(final_metrics: dict, kl_budget: float | None) -> float:
    """What a sweep optimises: the final held-out reward, less the held-out KL beyond the budget (if any)."""
    over = max(0.0, final_metrics["kl_to_reference"] - kl_budget) if kl_budget is not None else 0.0
    return final_metrics["reward/total/mean"] - over


def _summarise(policy, tokenizer, fmt, rewards, eval_records, cfg, device, initial_eval, tracker) -> dict:
    if not eval_records:
        return {}
    final_eval = evaluate(policy, tokenizer, fmt, rewards, eval_records, cfg, device)
    tracker.log({f"eval/{k}": v for k, v in final_eval["metrics"].items()}, step=cfg.ppo.steps)
    before, after = initial_eval["metrics"], final_eval["metrics"]
    summary = {
        "initial": before,
        "final": after,
        "reward_gain": after["reward/total/mean"] - before["reward/total/mean"],
        "objective": objective(after, cfg.eval.kl_budget),
        "samples": [
            {"prompt": b["prompt"], "before": b["completion"], "after": a["completion"]}
            for b, a in zip(initial_eval["samples"][: cfg.eval.show_samples], final_eval["samples"][: cfg.eval.show_samples])
        ],
    }
    tracker.summary({f"final/{k}": v for k, v in after.items()} | {"reward_gain": summary["reward_gain"]})
    lines = [
        f"held-out mean reward: initial {before['reward/total/mean']:.4f} -> final {after['reward/total/mean']:.4f} "
        f"({summary['reward_gain']:+.4f}) over {len(eval_records) * cfg.eval.samples_per_prompt} samples",
        f"KL to reference on held-out prompts: {after['kl_to_reference']:.4f} nats per response",
    ]
    if cfg.eval.baseline_column:  # e.g. the unchanged ad scored as its own rewrite: is rewriting better than not?
        column = cfg.eval.baseline_column
        _, totals, _ = score(rewards, [r["prompt"] for r in eval_records], [r[column] for r in eval_records], columns_of(eval_records))
        summary["baseline"] = {"column": column, "reward/total/mean": totals.mean().item()}
        lines.append(f"the {column} column itself scores {summary['baseline']['reward/total/mean']:.4f}")
    for s in summary["samples"]:
        lines += [f"--- {s['prompt']!r}", f"  before: {s['before']!r}", f"  after:  {s['after']!r}"]
    log.info("summary\n%s", "\n".join(lines))
    return summary
