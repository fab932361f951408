#!/usr/bin/env python3
"""Build the RLHF preference pairs (data/rlhf/preferences_{train,eval}.jsonl) for the reward_model stage.

Run from the repository root (standard library and ppo_suite only; no model; the output is byte-identical on
every run):

    .venv/bin/python data/rlhf/build_preferences.py

`chosen` is a demonstration (demonstrations.jsonl: a hand-written answer to the prompt) and `rejected` is a
corruption of it, the same four the embedded reward model learns from (ppo_suite/embedded_reward_model.py):
another prompt's answer (relevance), its words shuffled (fluency), one phrase looped (degeneration), its first
third (an answer cut off mid-sentence, as a reply that runs past max_new_tokens is). The split is by topic:
the eval pairs ask about topics no training pair mentions. Training prompts get CORRUPTIONS_PER_TRAIN_PROMPT
corruptions (kinds taken in turn), eval prompts all four; every row names its corruption.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))
sys.path.insert(0, str(HERE))

from build_rlhf import PATTERNS  # noqa: E402

from ppo_suite.embedded_reward_model import CORRUPTIONS, corrupt  # noqa: E402

SEED = 0
EVAL_TOPICS = 6  # of the 32 training topics (prompts_eval.txt's 8 topics have no demonstrations)
CORRUPTIONS_PER_TRAIN_PROMPT = 2


def main() -> None:
    rows = [json.loads(line) for line in (HERE / "demonstrations.jsonl").read_text().splitlines()]
    # The task renders a prompt as its bare text (conf/task/rlhf_prompts.yaml): so does the reward model.
    pairs = [(row["prompt"].strip(), row["completion"]) for row in rows]
    n_topics = len(pairs) // len(PATTERNS)  # build_rlhf.py writes each topic's PATTERNS in a row
    rng = random.Random(SEED)
    eval_topics = set(rng.sample(range(n_topics), EVAL_TOPICS))
    out = {"train": [], "eval": []}
    for index, (prompt, answer) in enumerate(pairs):
        split = "eval" if index // len(PATTERNS) in eval_topics else "train"
        if split == "eval":
            kinds = CORRUPTIONS
        else:
            kinds = [CORRUPTIONS[(index + k) % len(CORRUPTIONS)] for k in range(CORRUPTIONS_PER_TRAIN_PROMPT)]
        for kind in kinds:
            out[split].append({"prompt": prompt, "chosen": answer, "rejected": corrupt(kind, index, pairs, rng), "corruption": kind})
    for split, split_rows in out.items():
        path = HERE / f"preferences_{split}.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in split_rows))
        print(f"{path}: {len(split_rows)} pairs")


if __name__ == "__main__":
    main()
