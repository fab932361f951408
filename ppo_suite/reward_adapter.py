"""A reward model that is a LoRA adapter and a score head on a causal LM's base, and scoring with it.

The reward_model stage trains one (TRL's RewardTrainer, sequence classification on the same trunk) and saves it
as `reward_adapter/` (LoRA weights only, loadable as a named adapter of a causal-LM PeftModel), `score_head.pt`
and `reward_model.json` (the base it was trained on, how pairs are encoded). PPO loads it as a second named
adapter on the policy's own base: one copy of the base weights serves the policy (adapter `default`), the
reference (adapters off) and the reward model (adapter `reward` + the head).

A (prompt, completion) pair is encoded as the reward_model stage encoded it for training (`pair_token_ids`),
and scored at the last token that is not padding, as transformers' sequence classifiers pool.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import torch
from torch import nn

from ppo_suite.chat import PromptFormat
from ppo_suite.errors import ConfigError

ADAPTER_DIR, HEAD_FILE, RECORD_FILE = "reward_adapter", "score_head.pt", "reward_model.json"
ADAPTER_NAME = "reward"


def pair_token_ids(tokenizer, fmt: PromptFormat, prompt: str, completion: str) -> list[int]:
    """The tokens of a prompt and its completion, as TRL's RewardTrainer encodes an explicit-prompt pair: the chat
    template over (system, user, assistant) turns, or the plain concatenation ending in EOS."""
    if fmt.use_chat:
        system = [{"role": "system", "content": fmt.system_prompt}] if fmt.system_prompt else []
        messages = system + [{"role": "user", "content": prompt}, {"role": "assistant", "content": completion}]
        return list(tokenizer.apply_chat_template(messages, tokenize=True, return_dict=True)["input_ids"])
    text = prompt + completion
    if not text.endswith(tokenizer.eos_token):
        text += tokenizer.eos_token
    return tokenizer(text)["input_ids"]


def last_token_index(input_ids: torch.Tensor, pad_token_id: int) -> torch.Tensor:
    """(B,) index of each row's last token that is not padding (right-padded rows)."""
    positions = torch.arange(input_ids.shape[1], device=input_ids.device)
    return (positions * (input_ids != pad_token_id)).argmax(-1)


@contextlib.contextmanager
def active_adapter(peft_lm, name: str):
    """Within this context `name` is the active adapter; after it, the previous one is again, and every weight is
    as trainable as before (peft's set_adapter marks the adapter it activates trainable and the others frozen)."""
    previous = peft_lm.active_adapter
    trainable = {param: param.requires_grad for param in peft_lm.parameters()}
    peft_lm.set_adapter(name)
    try:
        yield
    finally:
        peft_lm.set_adapter(previous)
        for param, flag in trainable.items():
            param.requires_grad_(flag)


class AdapterScorer:
    """Scores (prompt, completion) pairs with a named adapter of `peft_lm` and a linear score head."""

    def __init__(self, peft_lm, head: nn.Linear, tokenizer, fmt: PromptFormat, max_length: int, batch_size: int,
                 compute_dtype: torch.dtype | None, adapter_name: str = ADAPTER_NAME) -> None:
        self.peft_lm, self.head, self.tokenizer, self.fmt = peft_lm, head, tokenizer, fmt
        self.max_length, self.batch_size, self.compute_dtype, self.adapter_name = max_length, batch_size, compute_dtype, adapter_name

    @torch.no_grad()
    def __call__(self, prompts: list[str], completions: list[str]) -> torch.Tensor:
        ids = [pair_token_ids(self.tokenizer, self.fmt, p, c)[-self.max_length :] for p, c in zip(prompts, completions)]
        scores = []
        device = self.head.weight.device
        trunk = self.peft_lm.get_base_model().base_model
        pad = self.tokenizer.pad_token_id
        with active_adapter(self.peft_lm, self.adapter_name):
            for i in range(0, len(ids), self.batch_size):
                chunk = ids[i : i + self.batch_size]
                width = max(map(len, chunk))
                input_ids = torch.tensor([row + [pad] * (width - len(row)) for row in chunk], device=device)
                attention = torch.tensor([[1] * len(row) + [0] * (width - len(row)) for row in chunk], device=device)
                with torch.autocast(device.type, dtype=self.compute_dtype, enabled=self.compute_dtype is not None):
                    hidden = trunk(input_ids=input_ids, attention_mask=attention, use_cache=False).last_hidden_state
                last = hidden[torch.arange(len(chunk), device=device), last_token_index(input_ids, pad)]
                scores.append(self.head(last.to(self.head.weight.dtype)).squeeze(-1).float().cpu())
        return torch.cat(scores)


def read_record(run_dir: Path, key: str) -> dict:
    """The reward_model stage's record in `run_dir`; a dir without a trained reward adapter is a ConfigError."""
    record = run_dir / RECORD_FILE
    if not record.is_file() or not (run_dir / ADAPTER_DIR / "adapter_config.json").is_file():
        raise ConfigError(
            f"{key}={str(run_dir)!r}: no trained reward model there (expected {RECORD_FILE} and {ADAPTER_DIR}/, which "
            "a stage=reward_model run writes into its run dir)"
        )
    return json.loads(record.read_text())


def load_head(run_dir: Path, device: torch.device) -> nn.Linear:
    weight = torch.load(run_dir / HEAD_FILE, weights_only=True)["weight"]
    head = nn.Linear(weight.shape[1], 1, bias=False).requires_grad_(False)
    head.weight.data.copy_(weight)
    return head.to(device)


def attach(peft_lm, run_dir: Path) -> None:
    """Load the reward adapter as a second, frozen, inactive named adapter of `peft_lm` (no copy of the base)."""
    active = peft_lm.active_adapter
    peft_lm.load_adapter(str(run_dir / ADAPTER_DIR), adapter_name=ADAPTER_NAME, is_trainable=False)
    peft_lm.set_adapter(active)
    for name, param in peft_lm.named_parameters():
        if f".{ADAPTER_NAME}." in name:
            param.requires_grad_(False)
