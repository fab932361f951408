"""stage=evaluate: compare checkpoints (the base model, sft and PPO run dirs) on the task's held-out prompts.

Every checkpoint samples the same prompts with the same seed (`eval.*`, `generation.*`) and is scored by the same
rewards; the KL is to the base model. Writes into the run dir:
    comparison.json  every metric of every checkpoint (mean/std/min/max where it has a spread), and the settings
    comparison.md    the table, and the baseline column where the task has one (ads: the unchanged ad)
    samples.md       side-by-side completions of the first `eval.show_samples` prompts
    metrics.png      a bar chart per metric, error bars one std
    training.png     the training curves in each run dir's metrics.jsonl (PPO reward, KL, kl_coef; SFT/RM loss)
"""

from __future__ import annotations

import json
import logging
import subprocess
from pathlib import Path

from omegaconf import DictConfig

from ppo_suite.errors import ConfigError
from ppo_suite.evaluation import evaluate
from ppo_suite.models import Policy, autocast_dtype, load_model
from ppo_suite.paths import PROJECT_ROOT
from ppo_suite.rewards import parse_rewards, score
from ppo_suite.stages import output_dir, start_record, text_model
from ppo_suite.tasks import columns_of, load_task

log = logging.getLogger(__name__)
# (metric key prefix, chart title); prefixes with a spread get error bars
CHARTED = [
    ("reward/total", "total reward"),
    ("kl_to_reference", "KL to base (nats/response)"),
    ("response/tokens", "response tokens"),
    ("response/finished_frac", "ended their turn"),
    ("text/distinct_1", "distinct-1"),
    ("text/distinct_2", "distinct-2"),
    ("text/unique_word_ratio", "unique-word ratio"),
    ("text/repeated_3gram_frac", "repeated trigrams"),
]


def run(cfg: DictConfig, run_dir: Path | None = None) -> float | None:
    run_dir = output_dir(run_dir)
    s = cfg.stage
    if cfg.model.adapter:
        raise ConfigError("stage=evaluate compares checkpoints against the base: leave model.adapter unset and list "
                          f"{cfg.model.adapter} in stage.checkpoints")
    labels = list(s.labels) if s.labels else [_label(c) for c in s.checkpoints]
    if len(labels) != len(s.checkpoints) or len(set(labels)) != len(labels):
        raise ConfigError(f"stage.labels={labels} must name each of the {len(s.checkpoints)} stage.checkpoints once")
    task = load_task(cfg.task)
    records = task.eval[: cfg.eval.num_prompts]
    if not records:
        raise ConfigError("stage=evaluate needs held-out prompts: the task has no eval split, or eval.num_prompts=0")
    start_record(cfg, run_dir)

    device, source, tokenizer, fmt = text_model(cfg)
    rewards = [spec.build() for spec in parse_rewards(cfg.reward)]  # no policy: a learned reward loads its own base
    base = load_model(source, cfg.model, cfg.hardware, device).eval()
    compute = autocast_dtype(cfg.hardware.autocast, device)
    results = []
    for label, checkpoint in zip(labels, s.checkpoints):
        lm = base if checkpoint == "base" else load_model(source, _with_adapter(cfg.model, checkpoint), cfg.hardware, device).eval()
        policy = Policy(
            lm, ref_lm=base, compute_dtype=compute, logit_chunk_tokens=cfg.hardware.logit_chunk_tokens,
            merge_full_precision=cfg.hardware.merge_adapter_full_precision,
        ).to(device)
        result = evaluate(policy, tokenizer, fmt, rewards, records, cfg, device)
        results.append({"label": label, "checkpoint": checkpoint, **result})
        log.info("evaluate: %s: held-out reward %.4f ± %.4f, KL to base %.3f", label,
                 result["metrics"]["reward/total/mean"], result["metrics"]["reward/total/std"], result["metrics"]["kl_to_reference"])
        del policy, lm
    baseline = _baseline(cfg, rewards, records)
    comparison = {
        "checkpoints": [{k: r[k] for k in ("label", "checkpoint", "metrics")} for r in results],
        "baseline": baseline,
        "settings": {"prompts": len(records), "samples_per_prompt": cfg.eval.samples_per_prompt, "seed": cfg.eval.seed,
                     "temperature": cfg.generation.temperature, "max_new_tokens": cfg.generation.max_new_tokens,
                     "rewards": [r.name for r in rewards], "commit": _commit()},
    }
    (run_dir / "comparison.json").write_text(json.dumps(comparison, indent=2))
    (run_dir / "comparison.md").write_text(comparison_markdown(comparison, [r.name for r in rewards]))
    (run_dir / "samples.md").write_text(samples_markdown(results, cfg.eval.show_samples))
    plot_metrics(comparison, [r.name for r in rewards], run_dir / "metrics.png")
    plot_training(results, run_dir / "training.png")
    log.info("evaluate: comparison in %s", run_dir / "comparison.md")
    return results[-1]["metrics"]["reward/total/mean"]


def _label(checkpoint: str) -> str:
    return checkpoint if checkpoint == "base" else Path(checkpoint).name


def _with_adapter(model_cfg: DictConfig, checkpoint: str) -> DictConfig:
    model_cfg = model_cfg.copy()
    model_cfg.adapter = checkpoint
    return model_cfg


def _baseline(cfg: DictConfig, rewards, records: list[dict]) -> dict | None:
    """The task's baseline column (ads: the unchanged ad) scored as if it were the completion."""
    column = cfg.eval.baseline_column
    if not column:
        return None
    _, totals, _ = score(rewards, [r["prompt"] for r in records], [r[column] for r in records], columns_of(records))
    return {"column": column, "reward/total/mean": totals.mean().item(), "reward/total/std": totals.std().item()}


def _commit() -> str | None:
    try:
        out = subprocess.run(["git", "-C", str(PROJECT_ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
        return out.stdout.strip() or None
    except OSError:
        return None


def _cell(metrics: dict, prefix: str) -> str:
    if f"{prefix}/mean" in metrics:
        m = metrics
        return f"{m[f'{prefix}/mean']:.4g} ± {m[f'{prefix}/std']:.3g} [{m[f'{prefix}/min']:.3g}, {m[f'{prefix}/max']:.3g}]"
    if prefix == "kl_to_reference":
        return f"{metrics[prefix]:.4g} ± {metrics[f'{prefix}/std']:.3g} [{metrics[f'{prefix}/min']:.3g}, {metrics[f'{prefix}/max']:.3g}]"
    return f"{metrics[prefix]:.4g}"


def metric_rows(reward_names: list[str]) -> list[tuple[str, str]]:
    components = [(f"reward/{n}", f"reward: {n}") for n in reward_names] if len(reward_names) > 1 else []
    return CHARTED[:1] + components + CHARTED[1:]


def comparison_markdown(comparison: dict, reward_names: list[str]) -> str:
    checkpoints = comparison["checkpoints"]
    settings = comparison["settings"]
    lines = [
        "# Checkpoint comparison", "",
        f"{settings['prompts']} held-out prompts x {settings['samples_per_prompt']} sample(s), sampling seed "
        f"{settings['seed']}, temperature {settings['temperature']}, at most {settings['max_new_tokens']} new tokens; "
        f"rewards {', '.join(settings['rewards'])}; commit {settings['commit']}. Cells: mean ± std [min, max].", "",
        "| metric | " + " | ".join(c["label"] for c in checkpoints) + " |",
        "|---|" + "---|" * len(checkpoints),
    ]
    for prefix, title in metric_rows(reward_names):
        lines.append(f"| {title} | " + " | ".join(_cell(c["metrics"], prefix) for c in checkpoints) + " |")
    baseline = comparison["baseline"]
    if baseline:
        lines += ["", f"The `{baseline['column']}` column itself, scored as the completion: "
                      f"{baseline['reward/total/mean']:.4f} ± {baseline['reward/total/std']:.3f}."]
    lines += ["", "Checkpoints: " + "; ".join(f"{c['label']} = `{c['checkpoint']}`" for c in checkpoints), "",
              "![metrics](metrics.png)", "", "![training curves](training.png)", ""]
    return "\n".join(lines)


def samples_markdown(results: list[dict], n: int) -> str:
    lines = ["# Side-by-side samples", ""]
    for i in range(min(n, len(results[0]["samples"]))):
        lines += [f"## Prompt {i + 1}", "", "```", results[0]["samples"][i]["prompt"], "```", ""]
        for r in results:
            sample = r["samples"][i]
            lines.append(f"- **{r['label']}** (reward {sample['reward']:.3f}): {sample['completion']!r}")
        lines.append("")
    return "\n".join(lines)


def plot_metrics(comparison: dict, reward_names: list[str], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = metric_rows(reward_names)
    checkpoints = comparison["checkpoints"]
    columns = 4
    fig, axes = plt.subplots((len(rows) + columns - 1) // columns, columns, figsize=(3.2 * columns, 2.8 * ((len(rows) + columns - 1) // columns)), squeeze=False)
    colours = [plt.get_cmap("tab10")(i % 10) for i in range(len(checkpoints))]
    for ax, (prefix, title) in zip(axes.flat, rows):
        means, errors = [], []
        for c in checkpoints:
            m = c["metrics"]
            means.append(m.get(f"{prefix}/mean", m.get(prefix)))
            errors.append(m.get(f"{prefix}/std", 0.0))
        ax.bar(range(len(checkpoints)), means, yerr=errors, color=colours, capsize=4)
        if prefix == "reward/total" and comparison["baseline"]:
            ax.axhline(comparison["baseline"]["reward/total/mean"], color="black", linestyle=":", linewidth=1,
                       label=f"unchanged {comparison['baseline']['column']}")
            ax.legend(fontsize=7)
        ax.set_xticks(range(len(checkpoints)), [c["label"] for c in checkpoints], fontsize=8, rotation=15)
        ax.set_title(title, fontsize=9)
        ax.grid(axis="y", alpha=0.3)
    for ax in list(axes.flat)[len(rows):]:
        ax.axis("off")
    fig.suptitle("Held-out comparison (bars: mean; error bars: one std over samples)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _history(checkpoint: str) -> list[dict]:
    path = Path(checkpoint) / "metrics.jsonl"
    if checkpoint == "base" or not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def plot_training(results: list[dict], path: Path) -> None:
    """Training curves of the run dirs compared: PPO's reward, KL and kl_coef per step; SFT's and RM's loss."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [("reward/total/mean", "PPO training reward"), ("objective/kl", "PPO KL to reference"),
              ("objective/kl_coef", "PPO kl_coef"), ("loss", "SFT / reward-model training loss")]
    fig, axes = plt.subplots(1, len(panels), figsize=(4 * len(panels), 3.2))
    for ax, (key, title) in zip(axes, panels):
        for i, r in enumerate(results):
            points = [(m["step"], m[key]) for m in _history(r["checkpoint"]) if m.get(key) is not None and "eval/reward/total/mean" not in m]
            if points:
                ax.plot(*zip(*points), label=r["label"], color=plt.get_cmap("tab10")(i % 10))
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend(fontsize=7)
        else:
            ax.text(0.5, 0.5, "no run logged this", ha="center", va="center", transform=ax.transAxes, color="grey")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
