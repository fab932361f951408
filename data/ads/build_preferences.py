#!/usr/bin/env python3
"""Build the ads preference pairs (data/ads/preferences_{train,eval}.jsonl) for the reward_model stage.

Run from the repository root (offline; ~15 minutes on 2 CPU cores, ~25 on one):

    .venv/bin/python data/ads/build_preferences.py [torch threads]

For a sample of the training prompts (and every held-out prompt), the default model (SmolLM2-135M-Instruct, chat
template, temperature 1.0) writes K rewrites; the unchanged ad is one more candidate. The ad_similarity reward
(relevance to the query, margin over the competing ads, preservation of the ad: conf/reward/ad_similarity.yaml)
scores every candidate, and each prompt gives the pairs of candidates whose scores differ by at least MIN_GAP,
the widest gaps first (at most PAIRS_PER_PROMPT): `chosen` scored higher than `rejected`. Each row keeps the
query, the original ad and the competing ads, which the reward model's similarity loss reads.
"""

from __future__ import annotations

import itertools
import json
import random
import sys
from pathlib import Path

import torch
from hydra import compose, initialize_config_dir

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from ppo_suite.chat import prompt_format  # noqa: E402
from ppo_suite.config import register_configs  # noqa: E402
from ppo_suite.models import load_policy, load_tokenizer, model_source, resolve_device  # noqa: E402
from ppo_suite.rewards import parse_rewards, score  # noqa: E402
from ppo_suite.rollout import generate  # noqa: E402
from ppo_suite.run_dir import register_resolvers  # noqa: E402
from ppo_suite.tasks import columns_of, load_task  # noqa: E402

SEED = 0
TRAIN_PROMPTS = 96  # of the 408 training prompts
SAMPLES_PER_PROMPT = 3
TEMPERATURE = 1.0  # more varied rewrites than PPO's 0.7: the pairs should span good and bad
MIN_GAP = 0.05
PAIRS_PER_PROMPT = 4
BATCH = 16


def candidates(policy, tokenizer, fmt, cfg, records: list[dict], device) -> list[list[str]]:
    """SAMPLES_PER_PROMPT sampled rewrites of each record's prompt, and the unchanged ad."""
    cfg.generation.temperature = TEMPERATURE
    repeated = [r for r in records for _ in range(SAMPLES_PER_PROMPT)]
    texts = []
    for i in range(0, len(repeated), BATCH):
        prompts = [r["prompt"] for r in repeated[i : i + BATCH]]
        texts += generate(policy, tokenizer, prompts, cfg.generation, cfg.task.max_prompt_tokens, device, fmt).completions
        print(f"  {len(texts)}/{len(repeated)} rewrites", flush=True)
    per_record = [texts[k * SAMPLES_PER_PROMPT : (k + 1) * SAMPLES_PER_PROMPT] for k in range(len(records))]
    return [rewrites + [r["ad_text"]] for rewrites, r in zip(per_record, records)]


def pairs(records: list[dict], options: list[list[str]], rewards) -> list[dict]:
    rows = []
    for record, texts in zip(records, options):
        texts = list(dict.fromkeys(t for t in texts if t.strip()))  # a repeated or empty rewrite is no pair
        _, totals, _ = score(rewards, [record["prompt"]] * len(texts), texts, columns_of([record] * len(texts)))
        scored = list(zip(texts, totals.tolist()))
        gaps = [(a, b) if a[1] > b[1] else (b, a) for a, b in itertools.combinations(scored, 2) if abs(a[1] - b[1]) >= MIN_GAP]
        gaps.sort(key=lambda ab: ab[1][1] - ab[0][1])  # widest first
        for (chosen, s_c), (rejected, s_r) in gaps[:PAIRS_PER_PROMPT]:
            rows.append({
                "prompt": record["prompt"], "chosen": chosen, "rejected": rejected,
                "chosen_score": round(s_c, 4), "rejected_score": round(s_r, 4),
                "query": record["query"], "ad_text": record["ad_text"], "competitors": record["competitors"],
            })
    return rows


def main() -> None:
    if len(sys.argv) > 1:  # threads, e.g. 1 beside other jobs
        torch.set_num_threads(int(sys.argv[1]))
    register_configs()
    register_resolvers()
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        cfg = compose(config_name="config", overrides=["+experiment=ads", "logger=none"])
    torch.manual_seed(SEED)
    task = load_task(cfg.task)
    train = random.Random(SEED).sample(task.train, TRAIN_PROMPTS)
    device = resolve_device(cfg.hardware.device)
    source = model_source(cfg.model)
    tokenizer = load_tokenizer(source, cfg.model)
    fmt = prompt_format(tokenizer, cfg.model.chat_template, cfg.model.system_prompt)
    policy = load_policy(source, cfg.model, cfg.hardware, device).eval()  # a fresh adapter: the base model
    rewards = [spec.build() for spec in parse_rewards(cfg.reward)]
    for name, records in (("train", train), ("eval", task.eval)):
        print(f"{name}: {len(records)} prompts", flush=True)
        rows = pairs(records, candidates(policy, tokenizer, fmt, cfg, records, device), rewards)
        out = ROOT / "data" / "ads" / f"preferences_{name}.jsonl"
        out.write_text("".join(json.dumps(r) + "\n" for r in rows))
        print(f"{out}: {len(rows)} pairs", flush=True)


if __name__ == "__main__":
    main()
