"""Length penalty: 0 inside a target range of words, down to -1 outside it.

    >>> Length(LengthSettings(min_words=3, max_words=5))(["p", "p", "p"], ["two words", "just three words", "a b c d e f g"])
    [-1.0, 0.0, -1.0]

    penalty = -min(1, words_outside_the_range / tolerance)

With the default `tolerance: 1` every word outside the range costs the full -1 (the classic step
penalty); a larger tolerance grades it, so a completion 2 words too long is penalised less than one 20
words too long, which gives PPO a slope to climb instead of a cliff. Words are whitespace-separated.
"""

from __future__ import annotations

from dataclasses import dataclass

from ppo_suite.config import bounded


@dataclass
class LengthSettings:
    min_words: int = bounded(8, "[0, max_words]")
    max_words: int = bounded(40, ">= 0")
    tolerance: float = bounded(1.0, "> 0")  # words outside the range at which the penalty reaches -1


class Length:
    Settings = LengthSettings

    def __init__(self, settings: LengthSettings) -> None:
        self.settings = settings

    def __call__(self, prompts, completions, **_) -> list[float]:
        s = self.settings
        scores = []
        for completion in completions:
            n = len(completion.split())
            outside = max(s.min_words - n, n - s.max_words, 0)
            scores.append(-min(1.0, outside / s.tolerance) if outside else 0.0)
        return scores
