"""Repetition penalty: -(1 - unique / total) over the completion's word n-grams.

    >>> Repetition(RepetitionSettings())(["p", "p"], ["The film, the film!", "a fine film"])
    [-0.5, 0.0]

0 for text without a repeated n-gram, approaching -1 for a loop of one phrase. The sign makes it a
penalty under a positive weight, like every built-in reward here (higher is better): the classic
`-0.5 * (1 - unique/total)` is `weight: 0.5`. Words are lower-cased runs of letters and digits, so
"Great." and "great" are the same word. A completion with fewer than `ngram` words scores 0: it has
nothing to repeat, and the `length` reward is the one that judges how long a completion should be.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ppo_suite.config import bounded

_WORD = re.compile(r"\w+")


@dataclass
class RepetitionSettings:
    ngram: int = bounded(1, ">= 1")  # 1 = repeated words; 2 or 3 catch looping phrases but forgive a repeated "the"


def repetition_penalty(text: str, n: int = 1) -> float:
    """unique / total - 1 over the word n-grams of `text`; 0 when it has no n-gram."""
    words = _WORD.findall(text.lower())
    grams = [tuple(words[i : i + n]) for i in range(len(words) - n + 1)]
    return len(set(grams)) / len(grams) - 1.0 if grams else 0.0


class Repetition:
    Settings = RepetitionSettings

    def __init__(self, settings: RepetitionSettings) -> None:
        self.settings = settings

    def __call__(self, prompts, completions, **_) -> list[float]:
        return [repetition_penalty(c, self.settings.ngram) for c in completions]
