"""The embedded default model: a small Llama built here, with no download.

Its BPE tokenizer is trained on the project's own text under `data/`, its weights are initialised from
the config's seed and pre-trained briefly on that text (next-token prediction), so rollouts are word-like
from the first PPO step. `stage=build_embedded` builds it, with `save_pretrained`, into a cache directory keyed by
the spec and the corpus; runs load it from there through the same `from_pretrained` path as any checkpoint.
"""

from __future__ import annotations

import dataclasses
import fcntl
import hashlib
import json
import random
import shutil
import tempfile
from pathlib import Path
from typing import Callable

import torch
from tqdm.auto import tqdm

from ppo_suite.config import EmbeddedModelConfig
from ppo_suite.errors import ConfigError
from ppo_suite.paths import cache_root, resolve_path

SPECIAL_TOKENS = {"bos_token": "<s>", "eos_token": "</s>", "pad_token": "<pad>", "unk_token": "<unk>"}


def is_held_out(file: Path) -> bool:
    """A held-out split by its name: `eval.jsonl`, `eval_ppo.json`, `prompts_eval.txt`."""
    return "eval" in file.stem.split("_")


@dataclasses.dataclass
class Corpus:
    texts: list[str]  # every text, for the tokenizer and the next-token pre-training


def read_corpus(corpus_dir: Path) -> Corpus:
    """Every string value of every .json/.jsonl/.txt file under `corpus_dir`, in a stable order.

    A record with `prompt` and `completion` (TRL's SFT format) is one text. Held-out splits (`is_held_out`)
    are skipped: the initial and final policies are judged on them, so training on them would leak their
    answers.
    """
    corpus = Corpus(texts=[])

    def collect(value) -> None:
        if isinstance(value, str):
            if len(value.split()) >= 3:  # ids, domains and urls are not language
                corpus.texts.append(value.strip())
        elif isinstance(value, dict) and isinstance(value.get("prompt"), str) and isinstance(value.get("completion"), str):
            corpus.texts.append(value["prompt"] + value["completion"])
        elif isinstance(value, dict):
            for v in value.values():
                collect(v)
        elif isinstance(value, list):
            for v in value:
                collect(v)

    for file in sorted(corpus_dir.rglob("*")):
        if is_held_out(file):
            continue
        if file.suffix == ".json":
            collect(json.loads(file.read_text()))
        elif file.suffix == ".jsonl":
            for line in file.read_text().splitlines():
                if line.strip():
                    collect(json.loads(line))
        elif file.suffix == ".txt":
            corpus.texts.extend(line.strip() for line in file.read_text().splitlines() if line.strip())
    if not corpus.texts:
        raise FileNotFoundError(f"model.embedded.corpus_dir={corpus_dir} holds no .json/.jsonl/.txt text")
    return corpus


def build_embedded_model(spec: EmbeddedModelConfig) -> Path:
    """Train the model (first time only) and return its path: what `stage=build_embedded`, tests and the bench run."""
    corpus = read_corpus(resolve_path(spec.corpus_dir))
    return cached_build("embedded", cache_key_material(spec, corpus.texts), lambda out_dir: _build(spec, corpus, out_dir))


def embedded_model_dir(spec: EmbeddedModelConfig, key: str) -> Path:
    """Path of the built model, for loading it; loading never trains, so one not built yet is an error."""
    return built_dir("embedded", cache_key_material(spec, read_corpus(resolve_path(spec.corpus_dir)).texts), key)


# Settings added to EmbeddedModelConfig after models were first cached, with their defaults.
LATER_SETTINGS = {f.name: f.default for f in dataclasses.fields(EmbeddedModelConfig)
                  if f.name in ("num_kv_heads", "model_vocab_size", "tie_word_embeddings", "save_dtype", "init_device")}


def cache_key_material(spec: EmbeddedModelConfig, texts: list[str]) -> list:
    """What the cache dir of the model of `spec` trained on `texts` is keyed by: the spec without the later settings
    that are at their defaults, so that a spec using none of them keeps the cache dir it had before they existed."""
    settings = dataclasses.asdict(spec) if dataclasses.is_dataclass(spec) else dict(spec)
    return [{k: v for k, v in settings.items() if k not in LATER_SETTINGS or v != LATER_SETTINGS[k]}, texts]


def cache_dir_of(prefix: str, key_material: list) -> Path:
    """`cache_root()/models/<prefix>-<hash>`: the hash covers `key_material` (specs and the texts trained on), so a
    changed spec or corpus is a new build."""
    material = [  # a spec arrives as a dataclass or, from a composed config, as a DictConfig
        dataclasses.asdict(m) if dataclasses.is_dataclass(m) else dict(m) if hasattr(m, "keys") else m
        for m in key_material
    ]
    key = hashlib.sha256(json.dumps(material).encode()).hexdigest()[:16]
    return cache_root() / "models" / f"{prefix}-{key}"


def built_dir(prefix: str, key_material: list, key: str) -> Path:
    """The cache dir of a finished build; a ConfigError naming `key` and the command that builds it if there is none."""
    target = cache_dir_of(prefix, key_material)
    if not (target / "config.json").exists():
        raise ConfigError(
            f"{key} is an embedded model that is not built yet (no {target}); loading never trains. Build it once "
            "with `python -m ppo_suite stage=build_embedded` and this run's other overrides (model=..., reward=..., "
            "+experiment=...)"
        )
    return target


def cached_build(prefix: str, key_material: list, build: Callable[[Path], None]) -> Path:
    """`cache_dir_of(prefix, key_material)`, made by `build(staging_dir)` on first use.

    A build goes to a staging directory renamed into place once complete, so an interrupted build is never
    loaded; jobs that start together (a sweep) wait on a file lock for one of them to build it rather than all
    building it.
    """
    target = cache_dir_of(prefix, key_material)
    if (target / "config.json").exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.with_name(target.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, also if this process dies
        if (target / "config.json").exists():  # built by the job that held the lock before us
            return target
        staging = Path(tempfile.mkdtemp(prefix=".building-", dir=target.parent))
        try:
            build(staging)
            if not (staging / "config.json").exists():  # e.g. save_pretrained on a data-parallel rank other than 0
                raise RuntimeError(f"building {target.name} wrote no config.json into {staging}; nothing was cached")
            staging.rename(target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return target


def train_briefly(model, steps: int, lr: float, loss_of_step: Callable[[], torch.Tensor], desc: str) -> None:
    """`steps` AdamW updates on `loss_of_step()`, one-cycle schedule, clipped gradients, a progress bar."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=max(steps, 1), pct_start=0.1)
    model.train()
    progress = tqdm(range(steps), desc=desc, unit="step")
    for _ in progress:
        loss = loss_of_step()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad(set_to_none=True)
        progress.set_postfix(loss=f"{loss.item():.3f}")
    model.eval()


def _train_tokenizer(spec: EmbeddedModelConfig, texts: list[str]):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE(unk_token=SPECIAL_TOKENS["unk_token"]))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=spec.vocab_size,
        special_tokens=list(SPECIAL_TOKENS.values()),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(texts, trainer=trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tokenizer, **SPECIAL_TOKENS)


def llama_config(spec, tokenizer, max_position_embeddings: int, **extra):
    """The LlamaConfig of a locally built model: the sizes in `spec`, the special tokens of `tokenizer`; `extra`
    adds settings or replaces these."""
    from transformers import LlamaConfig

    settings = dict(
        vocab_size=len(tokenizer),
        hidden_size=spec.hidden_size,
        num_hidden_layers=spec.num_layers,
        num_attention_heads=spec.num_heads,
        num_key_value_heads=spec.num_heads,
        intermediate_size=spec.intermediate_size,
        max_position_embeddings=max_position_embeddings,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    return LlamaConfig(**(settings | extra))


def _build(spec: EmbeddedModelConfig, corpus: Corpus, out_dir: Path) -> None:
    from transformers import LlamaForCausalLM

    from ppo_suite.models import DTYPES, resolve_device  # imported here: ppo_suite.models imports this module

    tokenizer = _train_tokenizer(spec, corpus.texts)
    kv_heads = spec.num_kv_heads or spec.num_heads
    if spec.hidden_size % spec.num_heads or spec.num_heads % kv_heads:
        raise ConfigError(
            f"model.embedded: hidden_size={spec.hidden_size} must be a multiple of num_heads={spec.num_heads}, "
            f"and num_heads of num_kv_heads={kv_heads}"
        )
    vocab = spec.model_vocab_size or len(tokenizer)
    if vocab < len(tokenizer):
        raise ConfigError(f"model.embedded.model_vocab_size={vocab} is below the tokenizer's {len(tokenizer)} tokens")
    torch.manual_seed(spec.seed)
    config = llama_config(spec, tokenizer, spec.max_position_embeddings, vocab_size=vocab,
                          num_key_value_heads=kv_heads, tie_word_embeddings=spec.tie_word_embeddings)
    device = resolve_device(spec.init_device)
    with device:
        model = LlamaForCausalLM(config)
    rng = random.Random(spec.seed)

    # One token stream of every text, each ended by EOS so the model learns where answers stop.
    stream = []
    for ids in tokenizer(corpus.texts, add_special_tokens=False)["input_ids"]:
        stream.extend(ids + [tokenizer.eos_token_id])
    stream = torch.tensor(stream)
    seq = min(spec.pretrain_seq_len, len(stream) - 1)

    def next_token_loss() -> torch.Tensor:
        starts = [rng.randrange(len(stream) - seq) for _ in range(spec.pretrain_batch_size)]
        batch = torch.stack([stream[s : s + seq] for s in starts]).to(device)
        return model(input_ids=batch, labels=batch).loss

    train_briefly(model, spec.pretrain_steps, spec.pretrain_lr, next_token_loss, "building the embedded model")
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.to(DTYPES[spec.save_dtype]).save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
