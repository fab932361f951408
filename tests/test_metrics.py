"""Answer metrics against values computed by hand."""

import math

import pytest

from ppo_suite.errors import ConfigError
from ppo_suite.metrics import METRICS, bleu, exact_match, last_number, normalize_answer, numeric_match, score_answer, token_f1


def test_normalize_answer_drops_case_punctuation_articles_and_extra_space():
    assert normalize_answer("  The  Eiffel-Tower, in Paris!  ") == "eiffeltower in paris"
    assert normalize_answer("An apple a day") == "apple day"
    assert normalize_answer("theory") == "theory"  # articles only as whole words


@pytest.mark.parametrize(
    "prediction, gold, expected",
    [
        ("The cat sat.", "a cat sat down", 0.8),  # P = 2/2, R = 2/3
        ("paris paris", "paris", 2 / 3),  # P = 1/2 (counted with multiplicity), R = 1
        ("net income rose", "revenue fell", 0.0),
        ("", "", 1.0),  # SQuAD v2: empty is right only against empty
        ("", "paris", 0.0),
        ("the", "paris", 0.0),  # normalises to empty
    ],
)
def test_token_f1(prediction, gold, expected):
    assert token_f1(prediction, gold) == pytest.approx(expected)


def test_exact_match_is_on_normalised_text():
    assert exact_match("The Eiffel Tower!", "eiffel tower") == 1.0
    assert exact_match("Eiffel Tower in Paris", "eiffel tower") == 0.0


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Net income was -$1,234.5 million.", (-1234.5, False)),
        ("a change of $-3", (-3.0, False)),
        ("margin fell −2.5%", (-2.5, True)),
        ("up 12 percent", (12.0, True)),
        ("from 2019-2020", (2020.0, False)),  # a range, not a negative year
        ("first 7, then -7 and finally 5.", (5.0, False)),  # the last number; the full stop is not a decimal
        ("1,000,000 shares", (1_000_000.0, False)),
        ("no figures here", None),
    ],
)
def test_last_number(text, expected):
    assert last_number(text) == expected


@pytest.mark.parametrize(
    "prediction, gold, expected",
    [
        ("The answer is $1,234.5", "1234.5", 1.0),
        ("The answer is 1240", "1234.5", 1.0),  # |1240 - 1234.5| / 1240 = 0.0044 < 1e-2
        ("The answer is 1260", "1234.5", 0.0),  # 0.020 > 1e-2
        ("It grew 14.1%", "0.141", 1.0),  # a percentage is a fraction
        ("It grew 14.1", "14.1%", 1.0),  # or, with the % on one side only, the number as written
        ("It grew 14.1%", "14.1", 1.0),
        ("It fell 3%", "3", 1.0),
        ("It fell -3%", "3%", 0.0),  # the sign matters
        ("I do not know", "42", 0.0),
    ],
)
def test_numeric_match(prediction, gold, expected):
    assert numeric_match(prediction, gold) == expected


def test_numeric_match_tolerance_and_a_gold_without_a_number():
    assert numeric_match("1240", "1234.5", rel_tol=1e-3) == 0.0
    with pytest.raises(ValueError, match="'Paris' holds no number"):
        numeric_match("42", "Paris")


def test_bleu_by_hand():
    assert bleu("the cat sat on a mat", "the cat sat on a mat") == pytest.approx(1.0)
    # 1- to 4-gram precisions 5/6, 3/5, 2/4, 1/3; equal lengths, so no brevity penalty.
    assert bleu("the cat sat on the mat", "the cat sat on a mat") == pytest.approx((1 / 12) ** 0.25)
    # Every n-gram matches, but 4 words against 6: brevity penalty exp(1 - 6/4).
    assert bleu("the cat sat on", "the cat sat on a mat") == pytest.approx(math.exp(-0.5))


def test_score_answer_dispatches_by_name_and_lists_the_valid_ones():
    assert set(METRICS) == {"f1", "exact_match", "numeric_match", "bleu"}
    assert score_answer("f1", "The cat sat.", "a cat sat down") == pytest.approx(0.8)
    assert score_answer("numeric_match", "$5", "5.0") == 1.0
    with pytest.raises(ConfigError, match=r"'rouge'.*\['bleu', 'exact_match', 'f1', 'numeric_match'\]"):
        score_answer("rouge", "a", "b")
