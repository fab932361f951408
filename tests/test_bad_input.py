"""Every bad input is one PPOSuiteError naming the key, file or line that is wrong, raised before any model loads."""

import dataclasses
import importlib
import os
import shutil
import subprocess
import sys
import time
import typing

import numpy as np
import re

import pytest
import torch
from omegaconf import MISSING

from conftest import ROOT, make_config
from ppo_suite.config import STAGE_SCHEMAS, TASK_SCHEMAS, Config, HardwareConfig, ModelConfig, validate
from ppo_suite.errors import ConfigError, DataError, RewardError
from ppo_suite.rewards import BUILTIN_REWARDS, CommonRewardSettings, WeightedReward, parse_rewards, score
from ppo_suite.tasks import load_task

# --- the config: unknown keys, ranges, choices ------------------------------------------------------


@pytest.mark.parametrize(
    "override, message",
    [
        # A `+` adds a key no schema has, in any section.
        ("+ppo.kl_cof=0.1", r"ppo\.kl_cof is not a setting: did you mean ppo\.kl_coef\? \(a `\+` override adds any key"),
        ("+model.lora.rank=4", r"model\.lora\.rank is not a setting: the keys of model\.lora are \['alpha', 'dropout', 'r', 'target_modules'\]"),
        ("+model.embedded.layers=2", r"model\.embedded\.layers is not a setting: did you mean model\.embedded\.num_layers\?"),
        ("+hardware.devcie=cpu", r"hardware\.devcie is not a setting"),
        ("+task.data_dri=x", r"task\.data_dri is not a setting: did you mean task\.data_dir\?"),
        ("+logger.projcet=x", r"logger\.projcet is not a setting"),
        ("+generation.topp=0.9", r"generation\.topp is not a setting"),
        ("+eval.num_prompt=4", r"eval\.num_prompt is not a setting"),
        ("+sede=1", r"sede is not a setting: did you mean seed\?"),
        ("+lr=1", r"lr is not a setting: the keys of the top level are \["),
        # Ranges.
        ("ppo.cliprange=-1", r"ppo\.cliprange=-1\.0 must be > 0"),
        ("ppo.cliprange_value=0", r"ppo\.cliprange_value=0\.0 must be > 0"),
        ("generation.top_p=2", r"generation\.top_p=2\.0 must be in \(0, 1\]"),
        ("generation.top_p=0", r"generation\.top_p=0\.0 must be in \(0, 1\]"),
        ("ppo.steps=-3", r"ppo\.steps=-3 must be >= 0"),
        ("ppo.batch_size=0", r"ppo\.batch_size=0 must be >= 1"),
        ("ppo.num_mini_batches=0", r"ppo\.num_mini_batches=0 must be >= 1"),
        ("ppo.ppo_epochs=0", r"ppo\.ppo_epochs=0 must be >= 1"),
        ("ppo.learning_rate=-0.001", r"ppo\.learning_rate=-0\.001 must be > 0"),
        ("ppo.gamma=1.5", r"ppo\.gamma=1\.5 must be in \[0, 1\]"),
        ("hardware.zero_stage=3", r"hardware\.zero_stage=3 must be in \[0, 2\]"),
        ("ppo.kl_coef=-0.1", r"ppo\.kl_coef=-0\.1 must be >= 0"),
        ("ppo.kl_coef=nan", r"ppo\.kl_coef=nan must be a finite number"),
        ("ppo.max_grad_norm=0", r"ppo\.max_grad_norm=0\.0 must be > 0"),
        ("generation.temperature=0", r"generation\.temperature=0\.0 must be > 0"),
        ("generation.top_k=-1", r"generation\.top_k=-1 must be >= 0"),
        ("generation.max_new_tokens=0", r"generation\.max_new_tokens=0 must be >= 1"),
        ("generation.min_new_tokens=60", r"generation\.min_new_tokens=60 must be in \[0, max_new_tokens=56\]"),
        ("eval.num_prompts=-1", r"eval\.num_prompts=-1 must be >= 0"),
        ("hardware.micro_batch_size=0", r"hardware\.micro_batch_size=0 must be >= 1"),
        ("hardware.host_mmap_threshold_mib=64", r"hardware\.host_mmap_threshold_mib=64\.0 must be in \(0, 32\]"),
        ("checkpoint_every=-1", r"checkpoint_every=-1 must be >= 0"),
        ("model.lora.r=0", r"model\.lora\.r=0 must be >= 1"),
        ("model.lora.dropout=1", r"model\.lora\.dropout=1\.0 must be in \[0, 1\)"),
        ("task.max_prompt_tokens=0", r"task\.max_prompt_tokens=0 must be >= 1"),
        # Choices.
        ("ppo.kl_estimator=k2", r"ppo\.kl_estimator='k2' is not one of \['k1', 'k3'\]"),
        ("ppo.lr_scheduler=cosin", r"ppo\.lr_scheduler='cosin' is not one of \[.*'cosine'"),
        ("task.name=nope", r"task\.name='nope' is not one of \['ads', 'jsonl', 'prewrite', 'prompts'\]"),
        ("model.finetune=qlora", r"model\.finetune='qlora' is not one of \['lora', 'full'\]"),
        ("model.chat_template=yes", r"model\.chat_template='yes' is not one of \['auto', 'on', 'off'\]"),
        ("hardware.dtype=fp16", r"hardware\.dtype='fp16' is not one of \['auto', 'float32', 'bfloat16', 'float16'\]"),
        ("hardware.autocast=bf16", r"hardware\.autocast='bf16' is not one of \['auto', 'off', 'bfloat16', 'float16'\]"),
        ("logger.backend=tensorboard", r"logger\.backend='tensorboard' is not one of \['none', 'wandb'\]"),
        # Rewards.
        ("reward.ad_similarity.weight=nan", r"reward\.ad_similarity\.weight=nan must be a finite number"),
        ("reward.ad_similarity.timeout=0", r"reward\.ad_similarity\.timeout=0\.0 must be > 0"),
        ("reward.ad_similarity.batch_size=0", r"reward\.ad_similarity\.batch_size=0 must be >= 1"),
    ],
)
def test_a_bad_setting_is_a_config_error_naming_the_key(override, message):
    with pytest.raises(ConfigError, match=message):
        validate(make_config("+experiment=ads", "model=tiny_test", override))


@pytest.mark.parametrize("override, message", [
    ("reward.ad_similarity.weight=heavy", r"reward\.ad_similarity\.weight=heavy .*Value 'heavy' of type 'str' could not be converted to Float"),
    ("reward.length.max_words=lots", r"reward\.length\.max_words=lots .*Value 'lots' of type 'str' could not be converted to Integer"),
    ("reward.ad_similarity.alpah=1", r"Could not override 'reward\.ad_similarity\.alpah'.*Key 'alpah' not in 'AdSimilaritySettingsEntry'"),
])
def test_a_reward_setting_of_the_wrong_type_or_name_fails_at_composition(override, message):
    from hydra.errors import ConfigCompositionException

    with pytest.raises(ConfigCompositionException) as err:
        make_config("+experiment=sentiment", "reward=[sentiment,length,ad_similarity]", override)
    assert re.search(message, f"{err.value} {err.value.__cause__}", re.S), f"{err.value} {err.value.__cause__}"


def test_the_task_is_checked_against_the_schema_of_its_name():
    with pytest.raises(ConfigError, match=r"task\.data_dir is not a setting: the keys of task are \[.*'required_fields'"):
        validate(make_config("+experiment=finqa", "+task.data_dir=data/ads"))


def test_a_required_setting_left_unset_is_named():
    cfg = make_config("+experiment=finqa")
    cfg.task.train_file = MISSING
    with pytest.raises(ConfigError, match=r"task\.train_file is not set"):
        validate(cfg)


def test_emptying_an_experiments_reward_list_is_an_error_that_says_so():
    with pytest.raises(ConfigError, match=r"no reward selected: `reward=\[\]` emptied the reward list, the experiment's"):
        validate(make_config("+experiment=ads", "reward=[]"))
    # The sentiment experiment sets reward.length's word range: what is left after `reward=[]` is not a selection.
    for rewards in ("[]", "[sentiment]"):
        with pytest.raises(ConfigError, match=r"reward\.length has no weight, so it was not selected.*reward=\[\.\.\.,length\]"):
            validate(make_config("+experiment=sentiment", f"reward={rewards}"))


SEEDS_AND_WEIGHTS = {"seed", "weight"}  # any integer seeds a generator; a weight may have either sign


def schemas_under(schema: type) -> list[type]:
    hints = typing.get_type_hints(schema)
    nested = [t for hint in hints.values() for t in (hint, *typing.get_args(hint)) if dataclasses.is_dataclass(t)]
    return [schema, *(s for n in nested for s in schemas_under(n))]


def reward_settings() -> list[type]:
    classes = [getattr(importlib.import_module(m), c) for m, c in (v.split(":") for v in BUILTIN_REWARDS.values())]
    return [CommonRewardSettings, *(s for cls in classes for s in schemas_under(cls.Settings))]


def test_every_numeric_setting_declares_its_range():
    schemas = {*schemas_under(Config), *(s for t in TASK_SCHEMAS.values() for s in schemas_under(t)), *reward_settings(),
               *(s for t in STAGE_SCHEMAS.values() for s in schemas_under(t))}
    unbounded = []
    for schema in schemas:
        for f in dataclasses.fields(schema):
            hint = typing.get_type_hints(schema)[f.name]
            numeric = {int, float} & {hint, *typing.get_args(hint)}
            if numeric and f.name not in SEEDS_AND_WEIGHTS and "bounds" not in f.metadata:
                unbounded.append(f"{schema.__name__}.{f.name}")
    assert unbounded == []


# --- rewards: what they return, and how long they take ------------------------------------------------


@pytest.mark.parametrize(
    "returned, message",
    [
        (["good", "bad"], r"reward 'mine' returned 'good' \(str\) for completion 0; a score is a number"),
        ((x for x in [1.0, 2.0]), r"reward 'mine' returned a generator; a reward returns a list"),
        ("0.5", r"reward 'mine' returned a str; a reward returns a list"),
        (torch.ones(2, 1), r"reward 'mine' returned \[1\.0\] \(list\) for completion 0"),
    ],
)
def test_a_reward_returning_anything_but_scores_is_named(returned, message):
    with pytest.raises(RewardError, match=message):
        score([WeightedReward("mine", lambda prompts, completions, **_: returned, 1.0)], ["p", "p"], ["x", "y"], {})


@pytest.mark.parametrize("returned", [(1.0, 2), np.array([1.0, 2.0], dtype=np.float32), torch.tensor([1.0, 2.0])])
def test_tuples_arrays_and_tensors_are_scores(returned):
    matrix, _, _ = score([WeightedReward("mine", lambda prompts, completions, **_: returned, 1.0)], ["p"] * 2, ["x", "y"], {})
    assert matrix[0, 0] == 1.0


def sleepy(seconds):
    def reward(prompts, completions, **_):
        time.sleep(seconds)
        return [1.0] * len(completions)

    return reward


def test_a_reward_past_its_timeout_is_an_error_naming_it_and_the_limit():
    start = time.perf_counter()
    with pytest.raises(RewardError, match=r"reward 'slow' did not return within its timeout of 0\.2 s \(reward\.slow\.timeout\)"):
        score([WeightedReward("slow", sleepy(30), 1.0, timeout=0.2)], ["p"], ["x"], {})
    assert time.perf_counter() - start < 5


def test_a_reward_within_its_timeout_scores_and_its_errors_are_named():
    matrix, _, _ = score([WeightedReward("quick", sleepy(0), 1.0, timeout=5.0)], ["p"], ["x"], {})
    assert matrix.tolist() == [[1.0]]
    with pytest.raises(RewardError, match=r"reward 'broken' raised ZeroDivisionError"):
        score([WeightedReward("broken", lambda prompts, completions, **_: 1 / 0, 1.0, timeout=5.0)], ["p"], ["x"], {})


def test_the_timeout_is_a_setting_of_every_reward():
    entry = {"weight": 0.5, "timeout": 2.5, "_target_": "test_bad_input.sleepy", "seconds": 0}
    [spec] = parse_rewards({"mine": entry})
    reward = spec.build()
    assert (reward.weight, reward.timeout) == (0.5, 2.5)


# --- data files ----------------------------------------------------------------------------------------


def alpaca_file(path, lines: list[bytes]):
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def finqa_task(train):
    return make_config("+experiment=finqa", f"task.train_file={train}", "task.eval_file=null").task


def test_a_latin1_byte_names_the_file_line_and_column(tmp_path):
    train = alpaca_file(tmp_path / "train.jsonl", [
        b'{"instruction": "a", "input": "", "output": "b"}',
        b'{"instruction": "caf\xe9", "input": "", "output": "b"}',
    ])
    with pytest.raises(DataError, match=r"train\.jsonl:2: not UTF-8 text \(byte 0xe9 at column 21, .*save the file as UTF-8"):
        load_task(finqa_task(train))


@pytest.fixture
def ads_copy(tmp_path):
    shutil.copytree(ROOT / "data/ads", tmp_path / "ads", ignore=shutil.ignore_patterns("*.py"))
    return tmp_path / "ads"


def test_a_latin1_byte_in_the_ads_json_names_the_file_and_line(ads_copy):
    (ads_copy / "sampled_ads.json").write_bytes(b'{\n  "A0001": {"title": "Caf\xe9",\n "description": "d"}\n}\n')
    with pytest.raises(DataError, match=r"sampled_ads\.json:2: not UTF-8 text \(byte 0xe9"):
        load_task(make_config("+experiment=ads", f"task.data_dir={ads_copy}").task)


def test_an_ads_file_of_the_wrong_shape_is_named(ads_copy):
    (ads_copy / "classified_ads.json").write_text('["A0001"]')
    with pytest.raises(DataError, match=r"classified_ads\.json: expected a JSON object mapping ad ids to domains, got a list"):
        load_task(make_config("+experiment=ads", f"task.data_dir={ads_copy}").task)


def test_an_empty_data_file_is_named(tmp_path, ads_copy):
    empty = alpaca_file(tmp_path / "train.jsonl", [b"", b"  "])
    with pytest.raises(DataError, match=rf"{tmp_path}/train\.jsonl: no records: the file is empty"):
        load_task(finqa_task(empty))
    (tmp_path / "prompts.txt").write_text("\n\n")
    with pytest.raises(DataError, match=r"prompts\.txt: no records: the file is empty"):
        load_task(make_config("+experiment=rlhf_prompts", f"task.train_file={tmp_path}/prompts.txt").task)
    with pytest.raises(DataError, match=r"train\.jsonl: no records: the file is empty"):
        load_task(make_config("+experiment=prewrite", f"task.train_file={empty}").task)
    (ads_copy / "train_ppo.json").write_text("[]")
    with pytest.raises(DataError, match=rf"{ads_copy}/train_ppo\.json: no records"):
        load_task(make_config("+experiment=ads", f"task.data_dir={ads_copy}").task)


def test_a_null_gold_answer_is_named_when_the_data_loads(tmp_path):
    train = alpaca_file(tmp_path / "train.jsonl", [
        b'{"instruction": "a", "input": "", "output": "b"}',
        b'{"instruction": "Who?", "input": "", "output": null}',
    ])
    with pytest.raises(DataError, match=r"train\.jsonl:2: missing or null field\(s\) \['output'\]"):
        load_task(finqa_task(train))


# --- models ----------------------------------------------------------------------------------------------


def test_a_truncated_safetensors_file_is_named(tmp_path):
    from transformers import LlamaConfig, LlamaForCausalLM

    from ppo_suite.models import load_model

    config = LlamaConfig(vocab_size=64, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                         num_key_value_heads=2, intermediate_size=32)
    LlamaForCausalLM(config).save_pretrained(tmp_path)
    weights = tmp_path / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])  # an interrupted download or copy
    with pytest.raises(ConfigError, match=rf"model\.name_or_path='{tmp_path}': the weights of the model look truncated or corrupt .*: {weights}\."):
        load_model(str(tmp_path), ModelConfig(name_or_path=str(tmp_path)), HardwareConfig(device="cpu"), torch.device("cpu"))


# --- the command line -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "override, message",
    [("ppo.cliprange=-1", "ppo.cliprange=-1.0 must be > 0"), ("+ppo.kl_cof=0.1", "ppo.kl_cof is not a setting")],
)
def test_the_command_line_prints_one_paragraph_and_exits_2_before_any_model_loads(tmp_path, override, message):
    env = {**os.environ, "WANDB_MODE": "disabled", "HYDRA_FULL_ERROR": "0", "PPO_SUITE_CACHE": str(tmp_path / "cache")}
    result = subprocess.run(
        [sys.executable, "-m", "ppo_suite", "+experiment=ads", "model=tiny_test", "logger=none", override,
         f"hydra.run.dir={tmp_path}/run"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 2, result.stderr[-2000:]
    assert message in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "cache").exists()  # the embedded model was not built
