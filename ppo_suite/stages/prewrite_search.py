"""stage=prewrite_search: PRewrite-S (Kong et al., 2024) with a trained rewriter.

For every instruction of the test split (`task.eval_file`) the rewriter (`stage.checkpoint`: a run dir, or the
base model) writes a greedy rewrite (PRewrite-I) and `stage.num_candidates` sampled ones; each candidate, and the
original instruction, is scored by the configured reward (the frozen task model) on that instruction's examples in
the dev split (`stage.dev_file`, default `task.train_file`), and the best candidate is PRewrite-S. All three are
then scored on the instruction's test examples. Writes prewrite_search.json and prewrite_search.md.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import torch
from omegaconf import DictConfig, OmegaConf

from ppo_suite.errors import ConfigError
from ppo_suite.models import Policy, autocast_dtype, load_model
from ppo_suite.rewards import parse_rewards, score
from ppo_suite.rollout import generate
from ppo_suite.stages import output_dir, start_record, text_model
from ppo_suite.tasks import columns_of
from ppo_suite.tasks.prewrite import records as prewrite_records

log = logging.getLogger(__name__)


def run(cfg: DictConfig, run_dir: Path | None = None) -> float | None:
    run_dir = output_dir(run_dir)
    s = cfg.stage
    if cfg.task.name != "prewrite":
        raise ConfigError(f"stage=prewrite_search needs the prewrite task (task=prewrite or +experiment=prewrite), not {cfg.task.name!r}")
    if not cfg.task.eval_file:
        raise ConfigError("stage=prewrite_search reports on the test split: set task.eval_file")
    dev, test = by_instruction(prewrite_records(s.dev_file or cfg.task.train_file, cfg.task)), by_instruction(prewrite_records(cfg.task.eval_file, cfg.task))
    missing = sorted(set(test) - set(dev))
    if missing:
        raise ConfigError(f"the dev split has no examples of the test instruction(s) {missing}: nothing to choose a rewrite by")
    start_record(cfg, run_dir)

    device, source, tokenizer, fmt = text_model(cfg)
    model_cfg = cfg.model.copy()
    if s.checkpoint != "base":
        model_cfg.adapter = s.checkpoint
    lm = load_model(source, model_cfg, cfg.hardware, device).eval()
    policy = Policy(lm, ref_lm=lm, compute_dtype=autocast_dtype(cfg.hardware.autocast, device)).to(device)
    rewards = [spec.build() for spec in parse_rewards(cfg.reward)]
    greedy = OmegaConf.merge(cfg.generation, {"top_k": 1})  # sampling from the top token only: the greedy rewrite

    rows = []
    torch.manual_seed(cfg.seed)
    for instruction, test_records in test.items():
        prompt = test_records[0]["prompt"]
        greedy_rewrite = generate(policy, tokenizer, [prompt], greedy, cfg.task.max_prompt_tokens, device, fmt).completions[0]
        sampled = generate(policy, tokenizer, [prompt] * s.num_candidates, cfg.generation, cfg.task.max_prompt_tokens, device, fmt).completions
        candidates = list(dict.fromkeys([greedy_rewrite, *sampled]))
        dev_scores = [mean_score(rewards, dev[instruction], c) for c in candidates]
        best = candidates[max(range(len(candidates)), key=dev_scores.__getitem__)]
        row = {
            "instruction": instruction,
            "original": {"text": instruction, "dev": mean_score(rewards, dev[instruction], instruction), "test": mean_score(rewards, test_records, instruction)},
            "prewrite_i": {"text": greedy_rewrite, "dev": dev_scores[0], "test": mean_score(rewards, test_records, greedy_rewrite)},
            "prewrite_s": {"text": best, "dev": max(dev_scores), "test": mean_score(rewards, test_records, best)},
            "candidates": [{"text": c, "dev": d} for c, d in zip(candidates, dev_scores)],
        }
        rows.append(row)
        log.info("prewrite_search: %r: test %.3f (original) / %.3f (PRewrite-I) / %.3f (PRewrite-S)", instruction,
                 row["original"]["test"], row["prewrite_i"]["test"], row["prewrite_s"]["test"])
    means = {k: sum(r[k]["test"] for r in rows) / len(rows) for k in ("original", "prewrite_i", "prewrite_s")}
    result = {"checkpoint": s.checkpoint, "num_candidates": s.num_candidates, "test_mean": means, "instructions": rows}
    (run_dir / "prewrite_search.json").write_text(json.dumps(result, indent=2))
    (run_dir / "prewrite_search.md").write_text(markdown(result))
    log.info("prewrite_search: test mean %.4f (original) / %.4f (PRewrite-I) / %.4f (PRewrite-S)",
             means["original"], means["prewrite_i"], means["prewrite_s"])
    return means["prewrite_s"]


def by_instruction(records: list[dict]) -> dict[str, list[dict]]:
    grouped: dict[str, list[dict]] = {}
    for record in records:
        grouped.setdefault(record["instruction"], []).append(record)
    return grouped


def mean_score(rewards, records: list[dict], rewrite: str) -> float:
    """The reward of `rewrite` as the instruction of each record (each a group of examples), averaged."""
    _, totals, _ = score(rewards, [r["prompt"] for r in records], [rewrite] * len(records), columns_of(records))
    return totals.mean().item()


def markdown(result: dict) -> str:
    means = result["test_mean"]
    lines = [
        "# PRewrite-S", "",
        f"Rewriter `{result['checkpoint']}`, {result['num_candidates']} sampled candidates per instruction, chosen on the "
        "dev split; scores on the test split (mean reward of the task model's answers).", "",
        "| instruction | original | PRewrite-I | PRewrite-S |", "|---|---|---|---|",
    ]
    for r in result["instructions"]:
        lines.append(f"| {r['instruction']} | {r['original']['test']:.3f} | {r['prewrite_i']['test']:.3f} | {r['prewrite_s']['test']:.3f} |")
    lines += [f"| **mean** | {means['original']:.3f} | {means['prewrite_i']:.3f} | {means['prewrite_s']:.3f} |", ""]
    for r in result["instructions"]:
        lines += [f"- {r['instruction']!r} -> PRewrite-I {r['prewrite_i']['text']!r}; PRewrite-S {r['prewrite_s']['text']!r}"]
    return "\n".join(lines) + "\n"
