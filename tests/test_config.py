"""Composing every experiment, and the errors a wrong setting gets before any model loads."""

import pytest
from hydra.errors import ConfigCompositionException
from omegaconf import OmegaConf

from conftest import CONF, make_config
from ppo_suite.config import validate
from ppo_suite.errors import ConfigError
from ppo_suite.rewards import parse_rewards
from ppo_suite.runner import Sizes, draw_batch

EXPERIMENTS = sorted(p.stem for p in (CONF / "experiment").glob("*.yaml"))
MODELS = sorted(p.stem for p in (CONF / "model").glob("*.yaml"))
HARDWARE = sorted(p.stem for p in (CONF / "hardware").glob("*.yaml"))


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_every_experiment_composes_and_resolves(experiment):
    cfg = make_config(f"+experiment={experiment}")
    OmegaConf.to_container(cfg, resolve=True, throw_on_missing=True)
    validate(cfg)
    assert parse_rewards(cfg.reward)
    Sizes.from_config(cfg)


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("hardware", HARDWARE)
def test_every_model_and_hardware_option_composes(model, hardware):
    cfg = make_config("+experiment=ads", f"model={model}", f"hardware={hardware}")
    validate(cfg)
    assert cfg.model.name_or_path or cfg.model.embedded is not None or cfg.model.gguf is not None


def test_overrides_reach_the_config():
    cfg = make_config("+experiment=ads", "ppo.kl_coef=0.1", "ppo.adaptive_kl=true")
    assert cfg.ppo.kl_coef == 0.1 and cfg.ppo.adaptive_kl is True


def test_misspelled_key_is_named():
    with pytest.raises(ConfigCompositionException) as err:
        make_config("+experiment=ads", "ppo.kl_coeff=0.1")
    assert "kl_coeff" in str(err.value.__cause__ or err.value)


def test_wrong_type_is_named():
    with pytest.raises(ConfigCompositionException) as err:
        make_config("+experiment=ads", "ppo.batch_size=sixteen")
    assert "batch_size" in str(err.value.__cause__ or err.value)


def test_unknown_group_option_fails():
    with pytest.raises(Exception, match="nope"):
        make_config("+experiment=ads", "model=nope")


def test_misspelled_reward_setting_is_named():
    cfg = make_config("+experiment=ads", "+reward.ad_similarity.alpah=2.0")
    with pytest.raises(ConfigError, match=r"reward\.ad_similarity.*alpah"):
        parse_rewards(cfg.reward)


def test_unknown_reward_lists_the_builtin_ones():
    with pytest.raises(ConfigError, match="ad_similarity"):
        parse_rewards({"nonsense": {"weight": 1.0}})


def test_batch_sizes_must_divide():
    with pytest.raises(ConfigError, match="num_mini_batches"):
        Sizes.from_config(make_config("+experiment=ads", "ppo.batch_size=10", "ppo.num_mini_batches=3"))
    with pytest.raises(ConfigError, match="micro_batch_size"):
        Sizes.from_config(make_config("+experiment=ads", "ppo.batch_size=12", "ppo.num_mini_batches=2", "hardware.micro_batch_size=4"))
    sizes = Sizes.from_config(make_config("+experiment=ads", "ppo.batch_size=16", "ppo.num_mini_batches=2", "hardware.micro_batch_size=4"))
    assert (sizes.prompts, sizes.mini_batch, sizes.micro_batch, sizes.accumulation) == (16, 8, 4, 2)


def test_completions_per_prompt_must_divide_the_batch_and_a_group_baseline_needs_two():
    with pytest.raises(ConfigError, match="samples_per_prompt=3"):
        Sizes.from_config(make_config("+experiment=ads", "ppo.batch_size=16", "ppo.samples_per_prompt=3"))
    with pytest.raises(ConfigError, match="group_baseline"):
        Sizes.from_config(make_config("+experiment=ads", "ppo.group_baseline=true"))
    sizes = Sizes.from_config(make_config("+experiment=ads", "ppo.batch_size=16", "ppo.samples_per_prompt=4", "ppo.group_baseline=true"))
    assert (sizes.batch, sizes.prompts) == (16, 4)


def test_a_batch_holds_each_drawn_prompt_samples_per_prompt_times_in_a_row():
    records = [{"prompt": f"p{i}"} for i in range(10)]
    batch = [r["prompt"] for r in draw_batch(records, n_prompts=4, samples_per_prompt=3)]
    groups = [batch[i : i + 3] for i in range(0, 12, 3)]
    assert all(len(set(g)) == 1 for g in groups)  # one prompt per group, as center_groups assumes
    assert len({g[0] for g in groups}) == 4  # drawn without replacement
    few = [r["prompt"] for r in draw_batch(records[:2], n_prompts=3, samples_per_prompt=2)]
    assert few == ["p0", "p0", "p1", "p1", "p0", "p0"]  # fewer records than prompts: cycle through them
