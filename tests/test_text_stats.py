"""Text statistics on literal texts, with values worked out by hand."""

import pytest

from ppo_suite.text_stats import distinct_n, text_stats, unique_word_ratio

TEXTS = ["a great film", "A great great film", ""]


def test_distinct_n_counts_ngrams_across_all_texts():
    # words: a great film / a great great film -> 7 unigrams, 3 distinct; 5 bigrams: (a great) x2, (great film) x2,
    # (great great): 3 distinct
    assert distinct_n(TEXTS, 1) == pytest.approx(3 / 7)
    assert distinct_n(TEXTS, 2) == pytest.approx(3 / 5)
    assert distinct_n([""], 2) == 0.0


def test_unique_word_ratio_and_the_summary():
    assert unique_word_ratio("a great great film") == pytest.approx(3 / 4)
    assert unique_word_ratio("") == 0.0
    assert text_stats(TEXTS) == pytest.approx({
        "text/distinct_1": 3 / 7, "text/distinct_2": 3 / 5, "text/unique_word_ratio": (1 + 3 / 4 + 0) / 3,
        "text/repeated_3gram_frac": 0.0,  # "a great great film": trigrams (a great great), (great great film)
        "text/words_mean": 7 / 3, "text/words_max": 4.0, "text/empty_frac": 1 / 3,
    })


def test_repeated_trigrams_count_the_loops_of_one_text():
    from ppo_suite.text_stats import repeated_ngram_frac

    assert repeated_ngram_frac("a b c a b c") == pytest.approx(1 / 4)  # trigrams abc bca cab abc: one repeats
    assert repeated_ngram_frac("a b") == 0.0
