"""The repetition, length and answer-match (f1) rewards on literal strings."""

import pytest

from ppo_suite.errors import ConfigError, RewardError
from ppo_suite.rewards import WeightedReward, parse_rewards, score
from ppo_suite.rewards.f1 import AnswerMatch, AnswerMatchSettings
from ppo_suite.rewards.length import Length, LengthSettings
from ppo_suite.rewards.repetition import Repetition, RepetitionSettings


def test_repetition_counts_words_case_and_punctuation_blind():
    reward = Repetition(RepetitionSettings())
    texts = ["a fine film", "The film, the film!", "good good good good", "", "!!!"]
    # unique/total - 1: 3/3, 2/4, 1/4; no word at all is no repetition.
    assert reward(["p"] * 5, texts) == [0.0, -0.5, -0.75, 0.0, 0.0]


def test_repetition_over_bigrams_forgives_a_repeated_word_but_not_a_loop():
    reward = Repetition(RepetitionSettings(ngram=2))
    # "the cat saw the dog": 4 distinct bigrams. "so good so good so good": 5 bigrams, 2 distinct.
    assert reward(["p"] * 3, ["the cat saw the dog", "so good so good so good", "one"]) == [0.0, 2 / 5 - 1, 0.0]


def test_length_step_and_graded_penalties():
    texts = ["one two", "one two three", "one two three four five", "a b c d e f g h i j"]  # 2, 3, 5, 10 words
    step = Length(LengthSettings(min_words=3, max_words=5))
    assert step(["p"] * 4, texts) == [-1.0, 0.0, 0.0, -1.0]
    graded = Length(LengthSettings(min_words=3, max_words=5, tolerance=4))
    assert graded(["p"] * 4, texts) == [-0.25, 0.0, 0.0, -1.0]  # 1 word short of 3; 5 words past 5, capped


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"length": {"weight": 1, "min_words": 9, "max_words": 2}}, r"reward\.length\.min_words=9 must be in \[0, max_words=2\]"),
        ({"length": {"weight": 1, "tolerance": 0}}, r"reward\.length\.tolerance=0\.0 must be > 0"),
        ({"repetition": {"weight": 1, "ngram": 0}}, r"reward\.repetition\.ngram=0 must be >= 1"),
        ({"f1": {"weight": 1, "metric": "rouge"}}, r"reward\.f1: unknown metric 'rouge'.*'numeric_match'"),
        ({"sentiment": {"weight": 1, "backend": "textblob"}}, r"reward\.sentiment: unknown backend 'textblob'.*'vader'"),
    ],
)
def test_impossible_settings_fail_when_the_config_is_parsed(settings, message):
    with pytest.raises(ConfigError, match=message):
        parse_rewards(settings)


def test_f1_against_the_gold_column():
    reward = AnswerMatch(AnswerMatchSettings())
    completions = [" Ottawa", "It is Ottawa.", "$1,250 million", "Toronto", "anything"]
    gold = ["Ottawa", "Ottawa", "$1,250 million", "Ottawa", None]
    # "it is ottawa" against "ottawa": P = 1/3, R = 1, F1 = 0.5. A null gold answer is skipped.
    assert reward(["p"] * 5, completions, output=gold, instruction=["q"] * 5) == [1.0, 0.5, 1.0, 0.0, None]


@pytest.mark.parametrize(
    "metric, expected",
    [("exact_match", [1.0, 0.0, 0.0]), ("numeric_match", [1.0, 1.0, 0.0]), ("f1", [1.0, 0.5, 0.0])],
)
def test_f1_reward_metric_setting(metric, expected):
    reward = AnswerMatch(AnswerMatchSettings(column="answer", metric=metric))
    completions = ["12.5%", "It rose 12.5%", "no idea"]
    assert reward(["p"] * 3, completions, answer=["12.5%"] * 3) == pytest.approx(expected)


def test_missing_gold_column_names_it_and_the_available_ones():
    reward = WeightedReward("f1", AnswerMatch(AnswerMatchSettings(column="answer")), 1.0)
    with pytest.raises(RewardError, match=r"'answer' is not in the data; available columns are \['input', 'output'\]"):
        score([reward], ["p"], ["x"], {"output": ["y"], "input": [""]})
