"""Reward-model reward: the score a sequence-classification reward model gives (prompt, completion).

`model` is any AutoModelForSequenceClassification, a hub id or a local path (OpenAssistant's DeBERTa
reward models, Skywork-Reward, a model you trained), with its own tokenizer. The score is the logit at
`score_index` (0 for the usual single-output reward model). Each pair is encoded either

- as a text pair, `tokenizer(prompt, completion)`: what cross-encoder reward models expect, and plain
  concatenation for a tokenizer without pair handling; or
- with `chat_template: true`, through the tokenizer's chat template, the prompt as the user turn and the
  completion as the assistant turn: what chat reward models expect.

`model: null` (the default) is the embedded reward model, trained locally from the project's data to
prefer real responses over corrupted ones (see `ppo_suite.embedded_reward_model`): it needs no
download, and judges relevance and well-formedness only, not helpfulness.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from ppo_suite.config import bounded
from ppo_suite.embedded_reward_model import EmbeddedRewardModelSpec, build_embedded_reward_model, embedded_reward_model_dir
from ppo_suite.errors import ConfigError
from ppo_suite.backends.classifier import SequenceClassifier


@dataclass
class RewardModelSettings:
    model: Optional[str] = None  # hub id or local path; null = the embedded reward model built from data/
    embedded: EmbeddedRewardModelSpec = field(default_factory=EmbeddedRewardModelSpec)  # used when model is null
    chat_template: bool = False  # encode (prompt, completion) as a user and an assistant turn
    score_index: int = bounded(0, ">= 0")  # which output logit is the reward
    batch_size: int = bounded(16, ">= 1")
    max_length: int = bounded(512, ">= 1")  # tokens per pair (fewer if the model has fewer positions), the end kept
    device: str = "cpu"  # cpu | cuda | cuda:N | auto


class RewardModel:
    Settings = RewardModelSettings

    def __init__(self, settings: RewardModelSettings) -> None:
        self.settings = s = settings
        source = s.model or str(embedded_reward_model_dir(s.embedded, "reward.reward_model.embedded"))
        self.classifier = SequenceClassifier(source, s.device, s.batch_size, s.max_length, "reward.reward_model.model")
        n_outputs = self.classifier.model.config.num_labels
        if not 0 <= s.score_index < n_outputs:
            raise ConfigError(f"reward.reward_model.score_index={s.score_index} but {source} has {n_outputs} output(s)")
        if s.chat_template and not self.classifier.tokenizer.chat_template:
            raise ConfigError(
                f"reward.reward_model.chat_template=true but the tokenizer of {source} has no chat template; "
                "set it to false to encode (prompt, completion) as a text pair"
            )

    @staticmethod
    def build_embedded(settings: RewardModelSettings) -> None:
        """`stage=build_embedded`: train the embedded reward model when this entry uses it."""
        if not settings.model:
            build_embedded_reward_model(settings.embedded)

    def __call__(self, prompts, completions, **_) -> list[float]:
        if self.settings.chat_template:
            texts = [
                self.classifier.tokenizer.apply_chat_template(
                    [{"role": "user", "content": p}, {"role": "assistant", "content": c}], tokenize=False
                )
                for p, c in zip(prompts, completions)
            ]
            logits = self.classifier.logits(texts, add_special_tokens=False)
        else:
            logits = self.classifier.logits(list(prompts), list(completions))
        return logits[:, self.settings.score_index].tolist()
