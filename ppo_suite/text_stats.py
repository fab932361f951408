"""Statistics of a set of generated texts that tell what a policy writes, beside its reward.

Words are lowercased whitespace-separated tokens. distinct-n (Li et al., 2016) is the number of distinct word
n-grams over the number of n-grams in all texts together: it falls when a policy repeats itself across samples
(mode collapse); the unique-word ratio of each text falls, and its repeated-trigram fraction rises, when one text loops.
"""

from __future__ import annotations

import statistics


def words(text: str) -> list[str]:
    return text.lower().split()


def distinct_n(texts: list[str], n: int) -> float:
    grams = [tuple(w[i : i + n]) for w in map(words, texts) for i in range(len(w) - n + 1)]
    return len(set(grams)) / len(grams) if grams else 0.0


def unique_word_ratio(text: str) -> float:
    w = words(text)
    return len(set(w)) / len(w) if w else 0.0


def repeated_ngram_frac(text: str, n: int = 3) -> float:
    """The fraction of a text's word n-grams that repeat an earlier one of the same text (0 for a text without loops)."""
    w = words(text)
    grams = [tuple(w[i : i + n]) for i in range(len(w) - n + 1)]
    return 1 - len(set(grams)) / len(grams) if grams else 0.0


def text_stats(texts: list[str]) -> dict[str, float]:
    lengths = [len(words(t)) for t in texts]
    return {
        "text/distinct_1": distinct_n(texts, 1),
        "text/distinct_2": distinct_n(texts, 2),
        "text/unique_word_ratio": statistics.mean(map(unique_word_ratio, texts)) if texts else 0.0,
        "text/repeated_3gram_frac": statistics.mean(map(repeated_ngram_frac, texts)) if texts else 0.0,
        "text/words_mean": statistics.mean(lengths) if texts else 0.0,
        "text/words_max": float(max(lengths, default=0)),
        "text/empty_frac": sum(n == 0 for n in lengths) / len(texts) if texts else 0.0,
    }
