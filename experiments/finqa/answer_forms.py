"""What a finqa policy learned: held-out F1 by question kind, and the form of its answers.

Greedy answers of the initial policy (the embedded model) and of each run's final adapter to every
held-out question, scored with the f1 reward's metric and grouped into dollar questions (gold in
millions), other figures (%, ratios, per-share) and general questions.

    python experiments/finqa/answer_forms.py multirun/finqa_3seeds/0 multirun/finqa_3seeds/1 ...

Uses the model cache of `$PPO_SUITE_CACHE`, as the runs did (the model is built there if missing).
"""

from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path

import torch
from hydra import compose, initialize_config_dir
from peft import PeftModel
from transformers import AutoModelForCausalLM, AutoTokenizer

from ppo_suite.config import register_configs
from ppo_suite.metrics import token_f1
from ppo_suite.models import model_source
from ppo_suite.tasks import load_task

ROOT = Path(__file__).resolve().parents[2]
SENTENCE_OPENINGS = ("The answer is", "It was")  # the sentence forms of data/finqa/sft_finqa.jsonl


def question_kind(record: dict) -> str:
    if not record["input"]:
        return "general"
    return "dollars (millions)" if record["output"].endswith("million") else "%, ratio or per-share"


def greedy_answers(model, tokenizer, prompts: list[str], max_new_tokens: int) -> list[str]:
    encoded = tokenizer(prompts, return_tensors="pt", padding=True)
    with torch.no_grad():
        out = model.generate(**encoded, max_new_tokens=max_new_tokens, do_sample=False)
    return [t.strip() for t in tokenizer.batch_decode(out[:, encoded.input_ids.shape[1] :], skip_special_tokens=True)]


def report(name: str, records: list[dict], answers: list[str]) -> None:
    by_kind = defaultdict(list)
    for record, answer in zip(records, answers):
        by_kind[question_kind(record)].append((token_f1(answer, record["output"]), answer))
    mean_f1 = sum(f for rows in by_kind.values() for f, _ in rows) / len(answers)
    sentences = sum(a.startswith(SENTENCE_OPENINGS) for a in answers) / len(answers)
    print(f"{name}: mean F1 {mean_f1:.3f}, answers in a sentence {sentences:.2f}")
    for kind, rows in sorted(by_kind.items()):
        millions = sum(a.rstrip(".").endswith("million") for _, a in rows) / len(rows)
        print(f"  {kind:22s} n={len(rows):3d}  F1 {sum(f for f, _ in rows) / len(rows):.3f}  "
              f"ending in 'million' {millions:.2f}  e.g. {rows[0][1]!r}")


def main(run_dirs: list[Path]) -> None:
    register_configs()
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        cfg = compose(config_name="config", overrides=["+experiment=finqa"])
    records = load_task(cfg.task).eval
    source = model_source(cfg.model)
    tokenizer = AutoTokenizer.from_pretrained(source)
    tokenizer.padding_side = "left"
    prompts = [r["prompt"] for r in records]
    max_new_tokens = cfg.generation.max_new_tokens
    report("initial", records, greedy_answers(AutoModelForCausalLM.from_pretrained(source).eval(), tokenizer,
                                              prompts, max_new_tokens))
    for run in run_dirs:
        policy = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(source), run / "final" / "policy")
        report(str(run), records, greedy_answers(policy.eval(), tokenizer, prompts, max_new_tokens))


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main([Path(p) for p in sys.argv[1:]])
