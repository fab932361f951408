"""Answer metrics on plain text: each `(prediction, gold) -> float` in [0, 1], no model, no download.

    >>> token_f1("The cat sat.", "a cat sat down")
    0.8
    >>> numeric_match("Net income rose to $1,234.5 million", "1234.5")
    1.0
    >>> score_answer("exact_match", "The Eiffel Tower!", "eiffel tower")
    1.0

`normalize_answer`, `token_f1` and `exact_match` follow the SQuAD v1.1/v2.0 evaluation script, the
convention QA rewards and FinQA-style benchmarks report. `bleu` is sacrebleu's sentence BLEU (13a
tokenisation, exponential smoothing), scaled to [0, 1].
"""

from __future__ import annotations

import math
import re
import string
from collections import Counter
from typing import Callable

from ppo_suite.errors import ConfigError

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = set(string.punctuation)


def normalize_answer(text: str) -> str:
    """Lower-case, drop punctuation and the articles a/an/the, collapse whitespace (SQuAD's order)."""
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def token_f1(prediction: str, gold: str) -> float:
    """Harmonic mean of precision and recall over the normalised tokens, counted with multiplicity."""
    pred_tokens, gold_tokens = normalize_answer(prediction).split(), normalize_answer(gold).split()
    if not pred_tokens or not gold_tokens:  # SQuAD v2: an empty answer is right only against an empty one
        return float(pred_tokens == gold_tokens)
    common = sum((Counter(pred_tokens) & Counter(gold_tokens)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(pred_tokens), common / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


def exact_match(prediction: str, gold: str) -> float:
    return float(normalize_answer(prediction) == normalize_answer(gold))


# A number as written in financial text: "-$1,234.5", "$-3", "−2.5%", "12 percent", ".5".
# A minus counts only before the number or right after its "$", and only when it does not follow a word
# or digit, so "2019-2020" is two positive years.
_NUMBER = re.compile(
    r"(?:(?<![\w)])(?P<sign>[-−])\s?)?(?:\$\s?(?P<sign2>[-−])?)?"
    r"(?P<digits>\d{1,3}(?:,\d{3})+(?!\d)(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+)"
    r"(?P<percent>\s?(?:%|percent\b))?"
)


def last_number(text: str) -> tuple[float, bool] | None:
    """The last number in `text` and whether it was a percentage; None when there is none."""
    matches = list(_NUMBER.finditer(text))
    if not matches:
        return None
    m = matches[-1]
    value = float(m["digits"].replace(",", ""))
    if m["sign"] or m["sign2"]:
        value = -value
    return value, bool(m["percent"])


def numeric_match(prediction: str, gold: str, rel_tol: float = 1e-2) -> float:
    """1.0 when the last number of the prediction equals the gold's within `rel_tol`, else 0.0.

    A percentage is read as a fraction ("14.1%" == 0.141, FinQA's convention); when only one side
    carries the % sign the numbers as written are compared too, so "14.1" also matches "14.1%".
    A gold answer without a number is a data error, not a wrong prediction, so it raises.
    """
    gold_number = last_number(gold)
    if gold_number is None:
        raise ValueError(f"numeric_match: the gold answer {gold!r} holds no number")
    pred_number = last_number(prediction)
    if pred_number is None:
        return 0.0
    (pred, pred_pct), (ref, ref_pct) = pred_number, gold_number

    def close(a: float, b: float) -> bool:
        return math.isclose(a, b, rel_tol=rel_tol, abs_tol=1e-12)

    as_fractions = close(pred / 100 if pred_pct else pred, ref / 100 if ref_pct else ref)
    as_written = pred_pct != ref_pct and close(pred, ref)
    return float(as_fractions or as_written)


def bleu(prediction: str, gold: str) -> float:
    """Sentence BLEU-4 of the prediction against the one gold reference, in [0, 1]."""
    import sacrebleu  # imported here: only this metric needs it

    return sacrebleu.sentence_bleu(prediction, [gold]).score / 100.0


METRICS: dict[str, Callable[[str, str], float]] = {
    "f1": token_f1,
    "exact_match": exact_match,
    "numeric_match": numeric_match,
    "bleu": bleu,
}


def score_answer(metric_name: str, prediction: str, gold: str) -> float:
    """The named metric of one prediction against its gold answer."""
    if metric_name not in METRICS:
        raise ConfigError(f"unknown answer metric {metric_name!r}; valid metrics are {sorted(METRICS)}")
    return METRICS[metric_name](prediction, gold)
