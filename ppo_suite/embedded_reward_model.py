"""The embedded default reward model: a small Llama classifier trained here, with no download.

It is trained on (prompt, response) pairs from the project's own data (`pairs_files`) with the
Bradley-Terry loss of RLHF reward models, -log sigmoid(r(prompt, chosen) - r(prompt, rejected)), where
`chosen` is the dataset's response and `rejected` is a corruption of it made at build time:

    mismatch  the response written for another prompt       (is the answer about the question?)
    shuffle   the response's words in random order          (is it fluent?)
    repeat    the response's opening, then one phrase looped  (does it degenerate?)
    truncate  the first third of the response's words       (does it finish?)

So it scores relevance and well-formedness as this data defines them. It has never seen a human
preference: a stand-in that makes `reward_model` runnable offline, not a judge of helpfulness. Its
pairwise accuracy on held-out pairs, per corruption, is written to `build_report.json` beside it and
logged at build time. The tokenizer is BPE trained on the same text (the policy model's recipe); a pair
is encoded `prompt </s> response </s>`, and the score is read at that last `</s>`.

Cached like the embedded policy model, keyed by the spec and the pairs.
"""

from __future__ import annotations

import json
import logging
import random
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F

from ppo_suite.config import bounded
from ppo_suite.embedded_model import _train_tokenizer, built_dir, cached_build, llama_config, train_briefly
from ppo_suite.paths import resolve_path
from ppo_suite.errors import DataError
from ppo_suite.tasks.io import read_rows

log = logging.getLogger(__name__)
CORRUPTIONS = ("mismatch", "shuffle", "repeat", "truncate")


@dataclass
class EmbeddedRewardModelSpec:
    # JSONL files of TRL's {"prompt", "completion"} or Alpaca's {"instruction", "input", "output"};
    # relative paths are under the project root.
    pairs_files: list[str] = field(
        default_factory=lambda: ["data/rlhf/demonstrations.jsonl", "data/finqa/train.jsonl"]
    )
    vocab_size: int = bounded(2048, ">= 1")
    hidden_size: int = bounded(64, ">= 1")
    num_layers: int = bounded(2, ">= 1")
    num_heads: int = bounded(4, ">= 1")
    intermediate_size: int = bounded(256, ">= 1")
    max_length: int = bounded(128, ">= 1")  # tokens per (prompt, response) pair in training, and its position limit
    train_steps: int = bounded(200, ">= 0")
    batch_size: int = bounded(32, ">= 1")  # pairs per step, each with one corruption
    learning_rate: float = bounded(2e-3, "> 0")
    heldout_fraction: float = bounded(0.1, "[0, 1)")  # pairs kept out of training to measure accuracy
    seed: int = 0


def read_pairs(path: Path) -> list[tuple[str, str]]:
    """(prompt, response) from each row of a .jsonl (or .parquet) file; Alpaca's `input` follows the instruction."""
    pairs = []
    for where, record in read_rows(path):
        if "prompt" in record and "completion" in record:
            pairs.append((str(record["prompt"]), str(record["completion"])))
        elif "instruction" in record and "output" in record:
            prompt = "\n".join(part for part in (record["instruction"], record.get("input") or "") if part)
            pairs.append((str(prompt), str(record["output"])))
        else:
            raise DataError(f"{where}: expected prompt/completion or instruction/output fields, got {sorted(record)}")
    return pairs


def corrupt(kind: str, index: int, pairs: list[tuple[str, str]], rng: random.Random) -> str:
    """A worse response than `pairs[index][1]` for `pairs[index][0]`, made by the named corruption."""
    response = pairs[index][1]
    words = response.split()
    if kind == "mismatch" or len(words) < 4:  # a one-word answer cannot be shuffled or looped usefully
        other = rng.randrange(len(pairs) - 1)
        return pairs[other if other < index else other + 1][1]
    if kind == "shuffle":
        shuffled = words[:]
        while shuffled == words:
            rng.shuffle(shuffled)
        return " ".join(shuffled)
    if kind == "repeat":
        start = rng.randrange(len(words) // 2)
        span = words[start : start + rng.randint(1, 3)]
        looped = (span * len(words))[: max(len(words) - start, 2 * len(span))]
        return " ".join(words[:start] + looped)
    return " ".join(words[: len(words) // 3])  # truncate


def build_embedded_reward_model(spec: EmbeddedRewardModelSpec) -> Path:
    """Train the reward model (first time only, about half a minute on 2 cores) and return its path: what
    `stage=build_embedded` and tests run."""
    pairs = _pairs(spec)
    return cached_build("reward-model", [spec, pairs], lambda out_dir: _build(spec, pairs, out_dir))


def embedded_reward_model_dir(spec: EmbeddedRewardModelSpec, key: str) -> Path:
    """Path of the built reward model, for loading it; loading never trains, so one not built yet is an error."""
    return built_dir("reward-model", [spec, _pairs(spec)], key)


def _pairs(spec: EmbeddedRewardModelSpec) -> list[tuple[str, str]]:
    pairs = [pair for file in spec.pairs_files for pair in read_pairs(resolve_path(file))]
    if len(pairs) < 20:
        raise DataError(f"the embedded reward model needs at least 20 (prompt, response) pairs; {spec.pairs_files} hold {len(pairs)}")
    return pairs


def _build(spec: EmbeddedRewardModelSpec, pairs: list[tuple[str, str]], out_dir: Path) -> None:
    from tokenizers import processors
    from transformers import LlamaForSequenceClassification

    tokenizer = _train_tokenizer(spec, [text for pair in pairs for text in pair])
    eos = tokenizer.eos_token
    tokenizer._tokenizer.post_processor = processors.TemplateProcessing(
        single=f"$A {eos}", pair=f"$A {eos} $B {eos}", special_tokens=[(eos, tokenizer.eos_token_id)]
    )
    tokenizer.truncation_side = "left"  # as the reward reads it: an over-long pair keeps the response
    tokenizer.model_max_length = spec.max_length

    torch.manual_seed(spec.seed)
    model = LlamaForSequenceClassification(llama_config(spec, tokenizer, spec.max_length, num_labels=1))

    rng = random.Random(spec.seed)
    order = list(range(len(pairs)))
    rng.shuffle(order)
    n_heldout = max(1, int(len(pairs) * spec.heldout_fraction))
    heldout, train = order[:n_heldout], order[n_heldout:]

    def rewards(indices: list[int], responses: list[str]) -> torch.Tensor:
        encoded = tokenizer(
            [pairs[i][0] for i in indices], responses, padding=True, truncation=True, max_length=spec.max_length,
            return_tensors="pt",
        )
        return model(**encoded).logits[:, 0]

    def preference_batch(indices: list[int], kinds: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        chosen = rewards(indices, [pairs[i][1] for i in indices])
        rejected = rewards(indices, [corrupt(k, i, pairs, rng) for i, k in zip(indices, kinds)])
        return chosen, rejected

    def preference_loss() -> torch.Tensor:
        indices = [rng.choice(train) for _ in range(spec.batch_size)]
        chosen, rejected = preference_batch(indices, [rng.choice(CORRUPTIONS) for _ in indices])
        return -F.logsigmoid(chosen - rejected).mean()

    train_briefly(model, spec.train_steps, spec.learning_rate, preference_loss, "building the embedded reward model")

    # Held-out pairwise accuracy per corruption: how often the real response outscores its corruption.
    report = {"pairs": len(pairs), "heldout_pairs": len(heldout), "heldout_accuracy": {}}
    with torch.no_grad():
        for kind in CORRUPTIONS:
            chosen, rejected = preference_batch(heldout, [kind] * len(heldout))
            report["heldout_accuracy"][kind] = (chosen > rejected).float().mean().item()
    log.info("embedded reward model: held-out pairwise accuracy %s", report["heldout_accuracy"])
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    (out_dir / "build_report.json").write_text(json.dumps(report, indent=2))
