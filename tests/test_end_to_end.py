"""Tiny PPO runs through `run(cfg)`: artifacts, W&B offline, QLoRA, bad input. Resume: test_resume.py."""

import json

import pytest

from conftest import TINY_RUN, make_config
from ppo_suite.errors import ConfigError, DataError
from ppo_suite.runner import run


def read_metrics(run_dir):
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def test_tiny_run_writes_metrics_adapter_summary_and_a_wandb_offline_run(tmp_path):
    summary = run(make_config(*TINY_RUN, "logger=wandb_offline", "logger.samples_every=1"), run_dir=tmp_path)
    metrics = read_metrics(tmp_path)
    steps = [m["step"] for m in metrics if "objective/kl" in m]
    assert steps == [1, 2]
    for key in ("reward/ad_similarity/mean", "reward/ad_similarity/relevance/mean", "objective/kl",
                "ppo/policy/clipfrac", "ppo/val/explained_var", "throughput/generated_tokens_per_sec"):
        assert key in metrics[1], key
    assert {"eval/reward/total/mean", "eval/kl_to_reference"} <= set(metrics[-1])
    assert (tmp_path / "final/policy/adapter_config.json").exists()
    assert (tmp_path / "config.yaml").exists() and (tmp_path / "samples.jsonl").exists()
    assert set(summary) >= {"initial", "final", "reward_gain", "samples"}
    assert list((tmp_path / "wandb").glob("offline-run-*/run-*.wandb"))


# bitsandbytes' CPU 4-bit kernels repack each weight in blocks: a layer's input size must be a multiple of the
# quantisation block (64) and its output size a multiple of 32. tiny_test's hidden size 32 is neither, so the
# QLoRA test widens it to 64 (head size 32) with an MLP of 128: every quantised layer is 64 or 128 wide.
QLORA_SHAPES = ["model.embedded.hidden_size=64", "model.embedded.intermediate_size=128"]


def test_qlora_runs_ppo_steps_on_a_4bit_base_on_cpu(tmp_path):
    import bitsandbytes as bnb

    cfg = make_config(*TINY_RUN, *QLORA_SHAPES, "hardware=qlora", "hardware.micro_batch_size=2")
    summary = run(cfg, run_dir=tmp_path)
    metrics = read_metrics(tmp_path)
    trained = [m for m in metrics if "ppo/policy/loss" in m]
    assert [m["step"] for m in trained] == [1, 2]
    assert all(m["ppo/grad_norm"] > 0 for m in trained)  # the adapter got gradients through the 4-bit base
    assert summary["final"]["kl_to_reference"] == summary["final"]["kl_to_reference"]  # not NaN
    assert (tmp_path / "final/policy/adapter_model.safetensors").exists()

    from ppo_suite.models import load_policy, model_source

    policy = load_policy(model_source(cfg.model), cfg.model, cfg.hardware, __import__("torch").device("cpu"))
    assert any(isinstance(m, bnb.nn.Linear4bit) for m in policy.modules())


def test_bad_input_fails_before_the_model_and_keeps_the_run_dir(tmp_path):
    (tmp_path / "notes.txt").write_text("keep me")
    with pytest.raises(DataError, match="sampled_ads.json: file not found"):
        run(make_config(*TINY_RUN, f"task.data_dir={tmp_path}/missing"), run_dir=tmp_path)
    with pytest.raises(ConfigError, match="model.name_or_path"):
        run(make_config(*TINY_RUN, "model=gpt2", "model.name_or_path=/nonexistent/model"), run_dir=tmp_path)
    assert (tmp_path / "notes.txt").read_text() == "keep me"


SMALL_REWARD_MODEL = [  # the embedded reward model, shrunk so that it builds in seconds
    "++reward.reward_model.embedded.train_steps=5", "++reward.reward_model.embedded.hidden_size=16",
    "++reward.reward_model.embedded.intermediate_size=32", "++reward.reward_model.embedded.num_heads=2",
    "++reward.reward_model.embedded.vocab_size=512",
]


@pytest.mark.parametrize(
    "experiment, extra", [("sentiment", []), ("finqa", []), ("rlhf_prompts", SMALL_REWARD_MODEL)]
)
def test_each_experiment_runs_a_few_steps_and_logs_every_reward(tmp_path, experiment, extra):
    cfg = make_config(*TINY_RUN[1:], f"+experiment={experiment}", *extra)
    summary = run(cfg, run_dir=tmp_path)
    step = read_metrics(tmp_path)[1]
    for name in cfg.reward:
        assert step[f"reward/{name}/skipped"] == 0.0 and f"reward/{name}/mean" in step
    assert summary["final"]["reward/total/mean"] == summary["final"]["reward/total/mean"]  # not NaN


def test_over_long_prompts_are_counted_in_one_warning(caplog):
    import logging

    from ppo_suite.chat import PromptFormat
    from ppo_suite.models import load_tokenizer, model_source
    from ppo_suite.runner import _warn_about_long_prompts

    cfg = make_config(*TINY_RUN)
    tokenizer = load_tokenizer(model_source(cfg.model), cfg.model)
    records = [{"prompt": "cheap flights " * n} for n in (1, 2, 40, 80)]
    longest = len(tokenizer(records[-1]["prompt"])["input_ids"])
    with caplog.at_level(logging.WARNING):
        _warn_about_long_prompts(tokenizer, PromptFormat(use_chat=False), records, max_tokens=20)
    assert [r.getMessage() for r in caplog.records] == [
        f"2 of 4 prompts are longer than task.max_prompt_tokens=20 (the longest has {longest} tokens): they are cut "
        "to their last 20 tokens; raise task.max_prompt_tokens to keep them whole"
    ]
