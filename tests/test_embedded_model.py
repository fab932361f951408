"""The embedded model's shape settings (grouped-query attention, more embedding rows than tokens, an untied head,
the saved dtype), and the cache keys of the models built before those settings existed."""

import json

import pytest
import torch

from conftest import make_config
from ppo_suite.config import EmbeddedModelConfig, HardwareConfig, ModelConfig, validate
from ppo_suite.embedded_model import build_embedded_model, cache_dir_of, cache_key_material
from ppo_suite.errors import ConfigError
from ppo_suite.models import load_model

TEXTS = ["one two three", "four five six"]


def test_specs_without_the_later_settings_keep_their_cache_keys():
    # The keys these specs had before num_kv_heads, model_vocab_size, tie_word_embeddings, save_dtype and
    # init_device existed (computed with the code of commit 1ca67ee): their built models are found again.
    assert cache_dir_of("embedded", cache_key_material(EmbeddedModelConfig(), TEXTS)).name == "embedded-f837d48229a88fe6"
    for model, key in (("tiny_test", "embedded-fc6bd7468832fe7f"), ("llama_100m", "embedded-9ffed8a85f21b662")):
        spec = make_config(f"model={model}").model.embedded
        assert cache_dir_of("embedded", cache_key_material(spec, TEXTS)).name == key
    grouped = EmbeddedModelConfig(num_kv_heads=2)
    assert cache_dir_of("embedded", cache_key_material(grouped, TEXTS)) != cache_dir_of(
        "embedded", cache_key_material(EmbeddedModelConfig(), TEXTS))


def test_a_grouped_query_model_with_more_rows_than_tokens_builds_and_loads_like_a_checkpoint(tmp_path):
    (tmp_path / "corpus.txt").write_text("\n".join(f"the quick brown fox number {i} jumps over the lazy dog" for i in range(50)))
    spec = EmbeddedModelConfig(
        vocab_size=300, hidden_size=32, num_layers=1, num_heads=4, num_kv_heads=2, intermediate_size=64,
        model_vocab_size=1000, tie_word_embeddings=False, save_dtype="bfloat16", pretrain_steps=2,
        pretrain_batch_size=2, pretrain_seq_len=8, corpus_dir=str(tmp_path),
    )
    path = build_embedded_model(spec)
    config = json.loads((path / "config.json").read_text())
    assert (config["num_key_value_heads"], config["vocab_size"], config["tie_word_embeddings"]) == (2, 1000, False)
    assert config["dtype"] == "bfloat16"

    model = load_model(str(path), ModelConfig(), HardwareConfig(device="cpu"), torch.device("cpu"))
    attention = model.model.layers[0].self_attn
    assert attention.q_proj.weight.shape == (32, 32) and attention.k_proj.weight.shape == (16, 32)  # 2 heads of 8
    assert model.get_input_embeddings().weight.shape == model.get_output_embeddings().weight.shape == (1000, 32)
    assert model.get_input_embeddings().weight.data_ptr() != model.get_output_embeddings().weight.data_ptr()
    assert model.dtype == torch.float32  # the saved bf16 weights load in the dtype `hardware` asks for
    logits = model(input_ids=torch.tensor([[1, 999]])).logits
    assert logits.shape == (1, 2, 1000)


@pytest.mark.parametrize("override, named", [
    ("model.embedded.num_kv_heads=8", "model.embedded.num_kv_heads=8 must be in [1, num_heads=2]"),
    ("model.embedded.save_dtype=bf16", "model.embedded.save_dtype='bf16' is not one of"),
    ("model.embedded.init_device=gpu", "model.embedded.init_device='gpu' is not one of"),
])
def test_out_of_range_shape_settings_are_named(override, named):
    with pytest.raises(ConfigError, match=named.replace("[", r"\[").replace("]", r"\]")):
        validate(make_config("+experiment=ads", "model=tiny_test", override))


@pytest.mark.parametrize("settings, named", [
    ({"num_heads": 4, "num_kv_heads": 3}, "num_heads of num_kv_heads=3"),
    ({"model_vocab_size": 10}, "model_vocab_size=10 is below the tokenizer's"),
])
def test_shapes_that_cannot_be_built_are_named(tmp_path, settings, named):
    (tmp_path / "corpus.txt").write_text("the quick brown fox jumps over the lazy dog\n" * 5)
    spec = EmbeddedModelConfig(vocab_size=300, hidden_size=32, num_layers=1, intermediate_size=64, pretrain_steps=0,
                               corpus_dir=str(tmp_path), **settings)
    with pytest.raises(ConfigError, match=named):
        build_embedded_model(spec)


def test_a_base_identity_saved_before_the_later_settings_still_matches():
    # What stage=reward_model recorded for the tiny_test base with the code of commit 1ca67ee: reward=learned
    # compares it with the policy's, so a reward adapter trained then is still accepted on the same base.
    from ppo_suite.models import base_identity

    saved = ('embedded:{"corpus_dir": "data", "hidden_size": 32, "intermediate_size": 64, "max_position_embeddings": '
             '256, "num_heads": 2, "num_layers": 2, "pretrain_batch_size": 16, "pretrain_lr": 0.003, "pretrain_seq_len": '
             '64, "pretrain_steps": 30, "seed": 0, "vocab_size": 512}')
    assert base_identity(make_config("model=tiny_test").model) == {"source": saved, "merged_adapters": []}
    grouped = make_config("model=tiny_test", "model.embedded.num_kv_heads=1").model
    assert '"num_kv_heads": 1' in base_identity(grouped)["source"]
