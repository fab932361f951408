"""The sentiment reward: VADER on literal strings, the classifier backend on a local model."""

import pytest
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from conftest import save_tiny_classifier
from ppo_suite.errors import ConfigError
from ppo_suite.rewards.sentiment import Sentiment, SentimentSettings


def test_vader_scores_by_hand():
    reward = Sentiment(SentimentSettings())
    scores = reward(["p"] * 3, ["A great film.", "Not a great film.", ""])
    # VADER: compound = s / sqrt(s^2 + 15), rounded to 4 places, for the summed valence s; "great" is 3.1
    # in its lexicon and a preceding "not" scales it by -0.74. The reward is (compound + 1) / 2.
    great = round(3.1 / (3.1**2 + 15) ** 0.5, 4)
    not_great = round(-2.294 / (2.294**2 + 15) ** 0.5, 4)
    assert scores == pytest.approx([(great + 1) / 2, (not_great + 1) / 2, 0.5], abs=1e-12)
    assert scores == pytest.approx([0.81245, 0.2452, 0.5], abs=1e-12)


def test_include_prompt_scores_the_whole_review():
    prompts, completions = ["Not a"], [" great film."]
    assert Sentiment(SentimentSettings())(prompts, completions) == pytest.approx([0.81245])
    assert Sentiment(SentimentSettings(include_prompt=True))(prompts, completions) == pytest.approx([0.2452])


@pytest.fixture(scope="module")
def classifier_dir(tmp_path_factory):
    return save_tiny_classifier(tmp_path_factory.mktemp("sst2_stand_in"), ["NEGATIVE", "POSITIVE"])


def test_classifier_backend_is_the_positive_probability_in_batches(classifier_dir):
    texts = ["a great film with a fine cast", "what is the capital", "ottawa"]
    settings = SentimentSettings(backend="classifier", model=str(classifier_dir), batch_size=2)
    scores = Sentiment(settings)(["p"] * 3, texts)
    # Reference: one text at a time (no padding), straight through the model.
    tokenizer = AutoTokenizer.from_pretrained(classifier_dir)
    model = AutoModelForSequenceClassification.from_pretrained(classifier_dir)
    with torch.no_grad():
        expected = [model(**tokenizer(t, return_tensors="pt")).logits.softmax(-1)[0, 1].item() for t in texts]
    assert scores == pytest.approx(expected, abs=1e-5)
    assert all(abs(s - 0.5) > 1e-3 for s in scores)  # the label index matters for these values


def test_classifier_backend_errors_name_the_setting(classifier_dir, tmp_path):
    with pytest.raises(ConfigError, match=r"no label 'POS'; its labels are \['NEGATIVE', 'POSITIVE'\]"):
        Sentiment(SentimentSettings(backend="classifier", model=str(classifier_dir), positive_label="POS"))
    with pytest.raises(ConfigError, match=r"reward\.sentiment\.model=.*could not load the sequence classifier"):
        Sentiment(SentimentSettings(backend="classifier", model=str(tmp_path / "missing")))
