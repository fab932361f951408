"""The report of a sweep: `python -m ppo_suite.report <sweep dir>`, and at the end of every multirun.

Every run dir under the sweep dir (one with `summary.json`, `metrics.jsonl` and `.hydra/overrides.yaml`) is a
job. Jobs whose overrides differ only in `seed` form one setting; a setting is labelled by the overrides that
tell it from the others. Written into the sweep dir:

    summary.csv         one row per job: its setting, seed, initial/final held-out reward, gain, KL, seconds
    report.md           per setting: the seeds' mean final reward, their spread, the smallest gain; per job too
    reward_vs_kl.png    final held-out reward against KL to the reference, a point per job, a bar per setting
    curves.png          training reward and KL per step of every job, on shared axes

Unfinished jobs (no `summary.json`) are listed, not plotted.
"""

from __future__ import annotations

import csv
import json
import statistics
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from hydra.experimental.callback import Callback

from ppo_suite.errors import PPOSuiteError

# Overrides that say where and how a job logs, not what it trains: they never tell settings apart.
NOT_A_SETTING = ("seed=", "hydra.", "logger", "resume=")


@dataclass
class Job:
    directory: Path
    overrides: list[str]
    seed: int
    summary: dict | None
    steps: list[dict] = field(default_factory=list)  # the training steps' metrics

    @property
    def setting(self) -> tuple[str, ...]:
        return tuple(o for o in self.overrides if not o.lstrip("+~").startswith(NOT_A_SETTING))

    def final(self, key: str = "reward/total/mean") -> float:
        return self.summary["final"][key]

    def initial(self, key: str = "reward/total/mean") -> float:
        return self.summary["initial"][key]

    @property
    def baseline(self) -> float | None:
        return (self.summary.get("baseline") or {}).get("reward/total/mean")

    @property
    def train_seconds(self) -> float:
        return sum(m.get("time/step", 0.0) for m in self.steps)


def read_jobs(sweep_dir: Path) -> list[Job]:
    jobs = []
    for overrides_file in sorted(sweep_dir.glob("*/.hydra/overrides.yaml")):
        directory = overrides_file.parent.parent
        overrides = yaml.safe_load(overrides_file.read_text()) or []
        config = yaml.safe_load((directory / ".hydra/config.yaml").read_text()) or {}
        summary_file, metrics_file = directory / "summary.json", directory / "metrics.jsonl"
        steps = []
        if metrics_file.exists():
            for number, line in enumerate(metrics_file.read_text().splitlines(), 1):
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as err:
                    raise PPOSuiteError(f"{metrics_file}:{number}: not a JSON line ({err})") from err
                if "objective/kl" in record:
                    steps.append(record)
        summary = json.loads(summary_file.read_text()) if summary_file.exists() else None
        jobs.append(Job(directory, overrides, config.get("seed", 0), summary, steps))
    if not jobs:
        raise PPOSuiteError(f"{sweep_dir}: no job dirs (*/.hydra/overrides.yaml) found: is this a multirun dir?")
    return jobs


def labels(jobs: list[Job]) -> dict[tuple[str, ...], str]:
    """A short label per setting: the overrides not shared by every setting (all of them if there is one)."""
    settings = list(dict.fromkeys(job.setting for job in jobs))
    shared = set.intersection(*(set(s) for s in settings)) if len(settings) > 1 else set()
    return {s: " ".join(o for o in s if o not in shared) or "defaults" for s in settings}


def legend_names(jobs: list[Job]) -> dict[tuple[str, ...], str]:
    """Setting labels that fit in a plot's legend: one setting needs no name, several get theirs cut short."""
    names = labels(jobs)
    if len(names) == 1:
        return dict.fromkeys(names, "")
    return {s: textwrap.shorten(n, 60, placeholder=" ...") for s, n in names.items()}


def setting_rows(jobs: list[Job]) -> list[dict]:
    rows = []
    names = labels(jobs)
    for setting, name in names.items():
        done = [j for j in jobs if j.setting == setting and j.summary and "final" in j.summary]
        if not done:
            continue
        finals = [j.final() for j in done]
        gains = [j.final() - j.initial() for j in done]
        rows.append({
            "setting": name, "seeds": sorted(j.seed for j in done),
            "initial": statistics.mean(j.initial() for j in done), "final_mean": statistics.mean(finals),
            "final_min": min(finals), "final_max": max(finals), "spread": max(finals) - min(finals),
            "min_gain": min(gains), "mean_gain": statistics.mean(gains),
            "kl_mean": statistics.mean(j.final("kl_to_reference") for j in done),
            "baseline": done[0].baseline,
        })
    return rows


def write_csv(jobs: list[Job], path: Path) -> None:
    names = labels(jobs)
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["job", "setting", "seed", "initial_reward", "final_reward", "gain", "kl_to_reference",
                         "baseline_reward", "training_steps", "train_seconds"])
        for job in jobs:
            done = job.summary and "final" in job.summary
            writer.writerow([
                job.directory.name, names[job.setting], job.seed,
                *(
                    [f"{job.initial():.6g}", f"{job.final():.6g}", f"{job.final() - job.initial():.6g}",
                     f"{job.final('kl_to_reference'):.6g}", "" if job.baseline is None else f"{job.baseline:.6g}"]
                    if done else ["", "", "", "", ""]
                ),
                len(job.steps), f"{job.train_seconds:.1f}",
            ])


def write_markdown(sweep_dir: Path, jobs: list[Job], rows: list[dict], path: Path) -> None:
    names = labels(jobs)
    lines = [f"# Sweep report: `{sweep_dir}`", "",
             "| setting | seeds | initial held-out reward | final: mean (min – max) | seed spread | smallest gain | "
             "gain > spread | KL to reference |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(
            f"| {r['setting']} | {', '.join(map(str, r['seeds']))} | {r['initial']:.4f} | {r['final_mean']:.4f} "
            f"({r['final_min']:.4f} – {r['final_max']:.4f}) | {r['spread']:.4f} | {r['min_gain']:+.4f} | "
            f"{'yes' if r['min_gain'] > r['spread'] else '**no**'} | {r['kl_mean']:.3f} |"
        )
    with_baseline = [r for r in rows if r["baseline"] is not None]
    if with_baseline:
        lines += ["", "Baseline (`eval.baseline_column` scored as its own completion): "
                  + "; ".join(f"{r['setting']}: {r['baseline']:.4f}" for r in with_baseline) + "."]
    lines += ["", "| job | setting | seed | initial | final | gain | KL to reference | training steps | PPO seconds |",
              "|---|---|---|---|---|---|---|---|---|"]
    for job in jobs:
        if job.summary and "final" in job.summary:
            cells = f"{job.initial():.4f} | {job.final():.4f} | {job.final() - job.initial():+.4f} | {job.final('kl_to_reference'):.3f}"
        else:
            cells = "unfinished | | |"
        lines.append(f"| {job.directory.name} | {names[job.setting]} | {job.seed} | {cells} | {len(job.steps)} | "
                     f"{job.train_seconds:.0f} |")
    lines += ["", "![final reward against KL](reward_vs_kl.png)", "", "![training curves](curves.png)", ""]
    path.write_text("\n".join(lines))


def plot(jobs: list[Job], rows: list[dict], sweep_dir: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = legend_names(jobs)
    colours = {s: plt.get_cmap("tab10")(i % 10) for i, s in enumerate(names)}
    done = [j for j in jobs if j.summary and "final" in j.summary]

    fig, ax = plt.subplots(figsize=(7, 5))
    for setting, name in names.items():
        mine = [j for j in done if j.setting == setting]
        if not mine:
            continue
        kls, finals = [j.final("kl_to_reference") for j in mine], [j.final() for j in mine]
        ax.scatter(kls, finals, color=colours[setting], alpha=0.5, s=25)
        mean_kl, mean_final = statistics.mean(kls), statistics.mean(finals)
        ax.errorbar(mean_kl, mean_final, yerr=[[mean_final - min(finals)], [max(finals) - mean_final]],
                    xerr=[[mean_kl - min(kls)], [max(kls) - mean_kl]], fmt="o", color=colours[setting],
                    capsize=4, markersize=8, label=f"{name or 'mean'} ({len(mine)} seed{'s' * (len(mine) > 1)})")
    initial = [j.initial() for j in done]
    if initial:
        ax.axhline(statistics.mean(initial), color="grey", linestyle="--", linewidth=1, label="initial policy")
    baselines = {j.baseline for j in done if j.baseline is not None}
    if len(baselines) == 1:
        ax.axhline(baselines.pop(), color="black", linestyle=":", linewidth=1, label="baseline column")
    ax.set_xlabel("KL to the reference on held-out prompts (nats per response)")
    ax.set_ylabel("final held-out mean reward")
    ax.set_title("Final reward against KL\n(dots: jobs; markers and bars: each setting's mean and min–max)", fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(sweep_dir / "reward_vs_kl.png", dpi=120)
    plt.close(fig)

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 7), sharex=True)
    styles = ["-", "--", ":", "-."]  # seeds of one setting share its colour
    seen: dict[tuple[str, ...], int] = {}
    for job in jobs:
        if not job.steps:
            continue
        style = styles[seen.setdefault(job.setting, 0) % len(styles)]
        seen[job.setting] += 1
        steps = [m["step"] for m in job.steps]
        line = dict(color=colours[job.setting], linestyle=style, alpha=0.85)
        top.plot(steps, [m["reward/total/mean"] for m in job.steps], label=f"{names[job.setting]} seed {job.seed}".strip(), **line)
        bottom.plot(steps, [m["objective/kl"] for m in job.steps], **line)
    top.set_ylabel("training reward (batch mean)")
    bottom.set_ylabel("KL to the reference (batch mean)")
    bottom.set_xlabel("PPO step")
    top.set_title("Training curves of every job")
    top.legend(fontsize=7, ncol=2)
    for ax in (top, bottom):
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(sweep_dir / "curves.png", dpi=120)
    plt.close(fig)


def write_report(sweep_dir: Path) -> list[dict]:
    """Write summary.csv, report.md and the plots into `sweep_dir`; return the per-setting rows."""
    jobs = read_jobs(sweep_dir)
    rows = setting_rows(jobs)
    write_csv(jobs, sweep_dir / "summary.csv")
    write_markdown(sweep_dir, jobs, rows, sweep_dir / "report.md")
    plot(jobs, rows, sweep_dir)
    return rows




class SweepReport(Callback):
    """Hydra callback: write the report when a multirun ends (conf/config.yaml registers it)."""

    def on_multirun_end(self, config, **kwargs) -> None:
        import logging

        sweep_dir = Path(config.hydra.sweep.dir)
        try:
            write_report(sweep_dir)
            logging.getLogger(__name__).info("sweep report: %s", sweep_dir / "report.md")
        except PPOSuiteError as err:  # a report is a by-product: its failure must not fail the sweep
            logging.getLogger(__name__).warning("no sweep report: %s", err)


def main(argv: list[str]) -> None:
    if len(argv) != 1:
        sys.exit("usage: python -m ppo_suite.report <sweep dir>")
    try:
        rows = write_report(Path(argv[0]))
    except PPOSuiteError as err:
        sys.exit(str(err))
    print((Path(argv[0]) / "report.md").read_text())
    if not rows:
        print("(no finished job yet)")


if __name__ == "__main__":
    main(sys.argv[1:])
