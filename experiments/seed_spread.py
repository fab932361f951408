"""Is the reward gain of a run larger than its seed-to-seed spread?

Reads the `summary.json` of every job of a multirun sweep over seeds and writes a table of the held-out
mean reward of the initial and the final policy per seed, the mean gain, and the spread (max - min) of
the final reward across seeds.

    python -m ppo_suite -m +experiment=ads seed=0,1,2 hydra.sweep.dir=multirun/ads_seeds
    python experiments/seed_spread.py multirun/ads_seeds experiments/ads/seed_spread
"""

from __future__ import annotations

import json
import platform
import statistics
import sys
from pathlib import Path

import yaml


def main(sweep_dir: Path, out_prefix: Path) -> None:
    rows = []
    for summary_path in sorted(sweep_dir.glob("*/summary.json")):
        summary = json.loads(summary_path.read_text())
        config = yaml.safe_load((summary_path.parent / "config.yaml").read_text())
        metrics = [json.loads(line) for line in (summary_path.parent / "metrics.jsonl").read_text().splitlines()]
        rows.append({
            "seed": config["seed"],
            "initial": summary["initial"]["reward/total/mean"],
            "final": summary["final"]["reward/total/mean"],
            "kl_to_reference": summary["final"]["kl_to_reference"],
            "train_seconds": sum(m.get("time/step", 0.0) for m in metrics),
            "model": config["model"].get("gguf") or config["model"].get("name_or_path") or "embedded",
            "autocast": config["hardware"].get("autocast"),
            "baseline": (summary.get("baseline") or {}).get("reward/total/mean"),  # e.g. the unchanged ad
        })
    if len(rows) < 2:
        sys.exit(f"{sweep_dir}: found {len(rows)} finished runs (*/summary.json); a spread needs at least 2")
    finals = [r["final"] for r in rows]
    gains = [r["final"] - r["initial"] for r in rows]
    result = {
        "sweep_dir": str(sweep_dir),
        "runs": rows,
        "mean_gain": statistics.mean(gains),
        "min_gain": min(gains),
        "final_spread": max(finals) - min(finals),
        "gain_exceeds_spread": min(gains) > max(finals) - min(finals),
        "machine": f"{platform.processor() or platform.machine()}, {platform.system()} {platform.release()}",
    }
    baseline = rows[0]["baseline"]
    if baseline is not None:
        result["baseline"] = baseline
        result["final_beats_baseline"] = [r["final"] > baseline for r in rows]
    out_prefix.parent.mkdir(parents=True, exist_ok=True)
    out_prefix.with_suffix(".json").write_text(json.dumps(result, indent=2))
    lines = [
        f"# Seed spread: `{sweep_dir}`",
        "",
        "| seed | initial held-out reward | final held-out reward | gain | KL to reference | PPO seconds |",
        "|---|---|---|---|---|---|",
        *(f"| {r['seed']} | {r['initial']:.4f} | {r['final']:.4f} | {r['final'] - r['initial']:+.4f} | "
          f"{r['kl_to_reference']:.3f} | {r['train_seconds']:.0f} |" for r in rows),
        "",
        f"Smallest gain {result['min_gain']:+.4f}; spread of the final reward across seeds "
        f"{result['final_spread']:.4f}: the gain {'exceeds' if result['gain_exceeds_spread'] else 'does NOT exceed'} the spread.",
    ]
    if baseline is not None:
        beats = sum(result["final_beats_baseline"])
        lines.append(f"The baseline column scored as its own completion: {baseline:.4f}; the final policy beats it on "
                     f"{beats} of {len(rows)} seeds.")
    out_prefix.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(Path(sys.argv[1]), Path(sys.argv[2]))
