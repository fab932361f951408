import os
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

from ppo_suite.config import register_configs
from ppo_suite.run_dir import register_resolvers

ROOT = Path(__file__).resolve().parent.parent
CONF = ROOT / "conf"
register_configs()
register_resolvers()

# A few PPO steps on the tiny test model: the shape of every end-to-end test.
TINY_RUN = [
    "+experiment=ads",
    "model=tiny_test",
    "logger=none",
    "ppo.steps=2",
    "ppo.batch_size=4",
    "ppo.num_mini_batches=2",
    "hardware.micro_batch_size=1",
    "generation.max_new_tokens=8",
    "eval.num_prompts=4",
    "hardware.autocast=off",  # fp32 on every machine: `auto` would follow each CPU's measured bf16 speed
]


@pytest.fixture(scope="session", autouse=True)
def model_cache(tmp_path_factory):
    """Tests build their embedded models into a fresh cache, never the user's."""
    cache = tmp_path_factory.mktemp("ppo_suite_cache")
    previous = os.environ.get("PPO_SUITE_CACHE")
    os.environ["PPO_SUITE_CACHE"] = str(cache)
    built(make_config(*TINY_RUN))  # the tiny test model every end-to-end test runs (a few seconds)
    yield cache
    if previous is None:
        os.environ.pop("PPO_SUITE_CACHE", None)
    else:
        os.environ["PPO_SUITE_CACHE"] = previous


def make_config(*overrides: str):
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return compose(config_name="config", overrides=list(overrides))


def built(cfg):
    """`cfg`, once `stage=build_embedded` has built the embedded models it names (loading them never trains)."""
    from ppo_suite.stages import build_embedded

    build_embedded.run(cfg)
    return cfg


def save_tiny_classifier(out_dir, labels, chat_template=None):
    """A randomly initialised 2-layer Llama classifier with a BPE tokenizer, saved like a hub model.

    Stands in for a downloaded classifier or reward model: the code under test loads it by path.
    """
    import torch
    from transformers import LlamaConfig, LlamaForSequenceClassification

    from ppo_suite.config import EmbeddedModelConfig
    from ppo_suite.embedded_model import _train_tokenizer

    texts = ["a great film with a fine cast", "what is the capital of canada", "ottawa is the capital"] * 4
    tokenizer = _train_tokenizer(EmbeddedModelConfig(vocab_size=300), texts)
    if chat_template:
        tokenizer.chat_template = chat_template
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=16, num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=2,
        intermediate_size=32, max_position_embeddings=64, pad_token_id=tokenizer.pad_token_id,
        num_labels=len(labels), id2label=dict(enumerate(labels)), label2id={l: i for i, l in enumerate(labels)},
    )
    model = LlamaForSequenceClassification(config)
    torch.nn.init.normal_(model.score.weight, std=2.0)  # outputs far apart, so a wrong index cannot pass
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    return out_dir
