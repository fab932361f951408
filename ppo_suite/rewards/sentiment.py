"""Sentiment reward: how positive the completion reads, in [0, 1].

Two backends, chosen by `backend`:

- `vader` (the offline default): VADER (Hutto & Gilbert, ICWSM 2014), a rule-based scorer over a
  human-rated lexicon of ~7,500 words, emoticons and slang that ships inside the `vaderSentiment`
  package, with rules for negation ("not good"), intensifiers ("very good"), "but" and capitals. Its
  compound score c in [-1, 1] is mapped to (c + 1) / 2: 0.5 is neutral. A positivity score, not a
  calibrated probability. Needs no model and no download, and scores thousands of texts a second.

      >>> scores = Sentiment(SentimentSettings())(["p", "p"], ["A great film.", "Not a great film."])
      >>> [round(s, 4) for s in scores]  # "great" is rated 3.1; "not" scales it by -0.74
      [0.8125, 0.2452]

- `classifier`: P(positive) from a transformers text-classification model, a hub id or a local path:
  the classic `distilbert/distilbert-base-uncased-finetuned-sst-2-english` of the DistilGPT2-on-IMDB
  setup, or a model of your own. `positive_label` names the label whose probability is the score.

By default only the completion is scored, since it is the part the policy wrote; `include_prompt: true`
scores prompt + completion as one review, as TRL's IMDB example does.
"""

from __future__ import annotations

from dataclasses import dataclass

from ppo_suite.config import bounded
from ppo_suite.backends.classifier import SequenceClassifier

BACKENDS = ("vader", "classifier")


@dataclass
class SentimentSettings:
    backend: str = "vader"  # vader (offline lexicon, no download) | classifier (a transformers model)
    model: str = "distilbert/distilbert-base-uncased-finetuned-sst-2-english"  # classifier: hub id or path
    positive_label: str = "POSITIVE"  # classifier: the label whose probability is the score
    include_prompt: bool = False  # score prompt + completion instead of the completion alone
    batch_size: int = bounded(32, ">= 1")  # classifier
    max_length: int = bounded(512, ">= 1")  # classifier: tokens per text, the end kept
    device: str = "cpu"  # classifier: cpu | cuda | cuda:N | auto

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise ValueError(f"unknown backend {self.backend!r}; valid backends are {list(BACKENDS)}")


class Sentiment:
    Settings = SentimentSettings

    def __init__(self, settings: SentimentSettings) -> None:
        self.settings = settings
        if settings.backend == "vader":
            from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

            self._vader = SentimentIntensityAnalyzer()
        else:
            self._classifier = SequenceClassifier(
                settings.model, settings.device, settings.batch_size, settings.max_length, "reward.sentiment.model"
            )
            self._positive = self._classifier.label_index(settings.positive_label)

    def __call__(self, prompts, completions, **_) -> list[float]:
        texts = [p + c for p, c in zip(prompts, completions)] if self.settings.include_prompt else list(completions)
        if self.settings.backend == "vader":
            return [(self._vader.polarity_scores(t)["compound"] + 1) / 2 for t in texts]
        return self._classifier.logits(texts).softmax(-1)[:, self._positive].tolist()
