"""Sequence classifiers shared by the model-based rewards: any AutoModelForSequenceClassification.

Loaded once per (source, device), scored in batches under no_grad. The sentiment reward reads the
softmax probability of one label; the reward-model reward reads one raw logit.
"""

from __future__ import annotations

import functools

import torch

from ppo_suite.errors import ConfigError
from ppo_suite.models import _from_pretrained, resolve_device


@functools.lru_cache(maxsize=4)
def load_classifier(name_or_path: str, device: str, setting: str):
    """(tokenizer, model in eval mode); `setting` is the config key named when loading fails."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    model = _from_pretrained(AutoModelForSequenceClassification, name_or_path, "sequence classifier", key=setting)
    tokenizer = _from_pretrained(AutoTokenizer, name_or_path, "tokenizer", key=setting)
    if tokenizer.pad_token is None:  # decoder reward models often ship without one; batching needs it
        tokenizer.pad_token = tokenizer.eos_token
    if model.config.pad_token_id is None:  # decoder heads find each row's last token through it
        model.config.pad_token_id = tokenizer.pad_token_id
    tokenizer.truncation_side = "left"  # an over-long input keeps its end: the completion being judged
    return tokenizer, model.to(resolve_device(device)).eval()


class SequenceClassifier:
    def __init__(self, name_or_path: str, device: str, batch_size: int, max_length: int, setting: str) -> None:
        self.tokenizer, self.model = load_classifier(name_or_path, device, setting)
        positions = getattr(self.model.config, "max_position_embeddings", None) or max_length
        self.batch_size, self.max_length, self.setting = batch_size, min(max_length, positions), setting

    @property
    def labels(self) -> dict[int, str]:
        return dict(self.model.config.id2label)

    def label_index(self, label: str) -> int:
        """The output index of a label name, case-insensitively; the error lists the model's labels."""
        for index, name in self.labels.items():
            if name.lower() == label.lower():
                return int(index)
        raise ConfigError(f"{self.setting}: the model has no label {label!r}; its labels are {sorted(self.labels.values())}")

    @torch.no_grad()
    def logits(self, texts: list[str], text_pairs: list[str] | None = None, add_special_tokens: bool = True) -> torch.Tensor:
        """(B, num_labels) logits of `texts`, or of (text, text_pair) pairs encoded as the model expects.

        Text already rendered by a chat template carries its special tokens: pass add_special_tokens=False
        so a BOS is not added twice.
        """
        chunks = []
        for i in range(0, len(texts), self.batch_size):
            pair = None if text_pairs is None else text_pairs[i : i + self.batch_size]
            encoded = self.tokenizer(
                texts[i : i + self.batch_size], pair, padding=True, truncation=True, max_length=self.max_length,
                add_special_tokens=add_special_tokens, return_tensors="pt",
            ).to(self.model.device)
            chunks.append(self.model(**encoded).logits.float().cpu())
        return torch.cat(chunks) if chunks else torch.empty(0, self.model.config.num_labels)
