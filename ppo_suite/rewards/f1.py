"""Answer reward: a text metric of the completion against a gold answer column.

    >>> AnswerMatch(AnswerMatchSettings())(["Q: capital of Canada?"], ["It is Ottawa."], output=["Ottawa"])
    [0.5]

`metric` is one of `ppo_suite.metrics.METRICS`: `f1` (SQuAD token F1, the default), `exact_match`,
`numeric_match` (last number within 1%, reading $, commas, % and signs) or `bleu`. The whole completion
is the prediction, so rambling past the answer costs precision: that is what teaches a policy to stop.
A record whose gold answer is null is skipped (None), not scored as wrong.
"""

from __future__ import annotations

from dataclasses import dataclass

from ppo_suite.errors import ConfigError
from ppo_suite.metrics import METRICS, score_answer


@dataclass
class AnswerMatchSettings:
    column: str = "output"  # the dataset column holding the gold answer (Alpaca's `output`)
    metric: str = "f1"  # f1 | exact_match | numeric_match | bleu

    def __post_init__(self) -> None:
        if self.metric not in METRICS:  # checked when the config is parsed, before any model loads
            raise ValueError(f"unknown metric {self.metric!r}; valid metrics are {sorted(METRICS)}")


class AnswerMatch:
    Settings = AnswerMatchSettings

    def __init__(self, settings: AnswerMatchSettings) -> None:
        self.settings = settings

    def __call__(self, prompts, completions, **columns) -> list[float | None]:
        s = self.settings
        if s.column not in columns:
            raise ConfigError(
                f"the gold answer column {s.column!r} is not in the data; available columns are "
                f"{sorted(columns)} (set reward.<name>.column)"
            )
        return [
            None if gold is None else score_answer(s.metric, completion.strip(), str(gold))
            for completion, gold in zip(completions, columns[s.column])
        ]
