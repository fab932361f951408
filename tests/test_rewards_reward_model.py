"""The reward-model reward on local models: text pairs, chat templates, the embedded default."""

import json

import pytest
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from conftest import save_tiny_classifier
from ppo_suite.embedded_reward_model import EmbeddedRewardModelSpec, corrupt, build_embedded_reward_model, read_pairs
from ppo_suite.errors import ConfigError, DataError
from ppo_suite.rewards.reward_model import RewardModel, RewardModelSettings

CHAT_TEMPLATE = "{% for m in messages %}<s>{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}"
PROMPTS = ["what is the capital of canada", "what is the capital"]
COMPLETIONS = [" ottawa is the capital", " a great film"]


@pytest.fixture(scope="module")
def reward_model_dir(tmp_path_factory):
    return save_tiny_classifier(tmp_path_factory.mktemp("rm"), ["score", "other"], chat_template=CHAT_TEMPLATE)


def reference_logits(path, **encode):
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModelForSequenceClassification.from_pretrained(path)
    with torch.no_grad():
        return model(**tokenizer(**encode, return_tensors="pt")).logits[0]


def test_text_pairs_read_the_chosen_logit_in_batches(reward_model_dir):
    for index in (0, 1):
        settings = RewardModelSettings(model=str(reward_model_dir), score_index=index, batch_size=1)
        scores = RewardModel(settings)(PROMPTS, COMPLETIONS)
        expected = [reference_logits(reward_model_dir, text=p, text_pair=c)[index].item() for p, c in zip(PROMPTS, COMPLETIONS)]
        assert scores == pytest.approx(expected, abs=1e-5)


def test_chat_template_puts_prompt_and_completion_in_user_and_assistant_turns(reward_model_dir):
    scores = RewardModel(RewardModelSettings(model=str(reward_model_dir), chat_template=True))(PROMPTS, COMPLETIONS)
    rendered = [f"<s>user: {p}\n<s>assistant: {c}\n" for p, c in zip(PROMPTS, COMPLETIONS)]
    expected = [reference_logits(reward_model_dir, text=t, add_special_tokens=False)[0].item() for t in rendered]
    assert scores == pytest.approx(expected, abs=1e-5)


def test_settings_the_model_cannot_honour_are_named(tmp_path, reward_model_dir):
    with pytest.raises(ConfigError, match=r"score_index=2 but .* has 2 output\(s\)"):
        RewardModel(RewardModelSettings(model=str(reward_model_dir), score_index=2))
    plain = save_tiny_classifier(tmp_path / "plain", ["score"])
    with pytest.raises(ConfigError, match="has no chat template"):
        RewardModel(RewardModelSettings(model=str(plain), chat_template=True))


SMALL_SPEC = dict(hidden_size=16, intermediate_size=32, num_heads=2, vocab_size=512, train_steps=5, batch_size=8)


def test_embedded_reward_model_builds_once_and_scores(tmp_path):
    spec = EmbeddedRewardModelSpec(**SMALL_SPEC)
    with pytest.raises(ConfigError, match=r"reward\.reward_model\.embedded is an embedded model that is not built.*stage=build_embedded"):
        RewardModel(RewardModelSettings(embedded=spec))  # loading never trains
    path = build_embedded_reward_model(spec)
    assert build_embedded_reward_model(spec) == path  # cached
    report = json.loads((path / "build_report.json").read_text())
    assert set(report["heldout_accuracy"]) == {"mismatch", "shuffle", "repeat", "truncate"}
    reward = RewardModel(RewardModelSettings(embedded=spec))
    scores = reward(["What is yoga?"] * 2, [" Yoga combines stretching and breathing.", ""])
    assert len(scores) == 2 and scores == reward(["What is yoga?"] * 2, [" Yoga combines stretching and breathing.", ""])


def test_corruptions_change_the_response():
    import random

    pairs = [("q1", "one two three four five six"), ("q2", "seven eight nine ten eleven twelve"), ("q3", "short")]
    rng = random.Random(0)
    assert corrupt("mismatch", 0, pairs, rng) in {pairs[1][1], pairs[2][1]}
    assert sorted(corrupt("shuffle", 0, pairs, rng).split()) == sorted(pairs[0][1].split())
    assert corrupt("shuffle", 0, pairs, rng) != pairs[0][1]
    assert corrupt("truncate", 0, pairs, rng) == "one two"
    looped = corrupt("repeat", 0, pairs, rng).split()
    assert looped != pairs[0][1].split() and len(set(looped)) < len(looped)
    assert corrupt("shuffle", 2, pairs, rng) in {pairs[0][1], pairs[1][1]}  # too short: a mismatch instead


def test_pairs_files_accept_alpaca_and_name_a_bad_line(tmp_path):
    good = tmp_path / "pairs.jsonl"
    good.write_text('{"prompt": "p", "completion": "r"}\n\n{"instruction": "i", "input": "x", "output": "o"}\n')
    assert read_pairs(good) == [("p", "r"), ("i\nx", "o")]
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"prompt": "p", "completion": "r"}\n\n{"question": "q"}\n')
    with pytest.raises(DataError, match=r"bad\.jsonl:3: expected prompt/completion or instruction/output"):
        read_pairs(bad)


@pytest.mark.slow
def test_default_embedded_reward_model_prefers_real_answers():
    """The shipped default: builds in about a minute on 2 cores, then tells real answers from corruptions."""
    path = build_embedded_reward_model(EmbeddedRewardModelSpec())
    accuracy = json.loads((path / "build_report.json").read_text())["heldout_accuracy"]
    assert min(accuracy.values()) > 0.7, accuracy
    reward = RewardModel(RewardModelSettings())
    prompt = "Give me a few tips for yoga."
    good = " Here are a few tips. Start with a beginner class. Move slowly and never force a stretch."
    looped = " Here are a few tips. tips tips tips tips tips tips tips tips tips tips"
    scores = reward([prompt] * 2, [good, looped])
    assert scores[0] > scores[1]
