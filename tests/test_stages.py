"""The stages on the tiny model: sft -> reward_model -> ppo (reward=learned) -> evaluate, run once as the
ads_pipeline experiment does, then what each left behind; and the errors bad input gets."""

import json
import random
from pathlib import Path

import pytest
import torch

from conftest import TINY_RUN, make_config
from ppo_suite.errors import ConfigError, DataError, PPOSuiteError
from ppo_suite.stages import run_stage

ROOT = Path(__file__).resolve().parent.parent
TINY = ["model=tiny_test", "logger=none", "generation.max_new_tokens=8", "eval.num_prompts=4", "hardware.autocast=off"]


def write_pairs(path: Path, rows: list[dict]) -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(path)


@pytest.fixture(scope="module")
def pairs(tmp_path_factory):
    """Preference pairs an untrained model cannot rank but a trained one can: the ad (chosen) against a few of
    its words shuffled (rejected)."""
    rows = [json.loads(line) for line in (ROOT / "data/ads/sft_ads.jsonl").read_text().splitlines()[:36]]
    rng = random.Random(0)
    out = []
    for r in rows:
        words = r["completion"].split()
        rng.shuffle(words)
        out.append({"prompt": r["prompt"], "chosen": r["completion"], "rejected": " ".join(words[:6])})
    folder = tmp_path_factory.mktemp("pairs")
    return write_pairs(folder / "train.jsonl", out[:24]), write_pairs(folder / "eval.jsonl", out[24:])


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory, pairs):
    """The ads_pipeline experiment's steps, sized for the tiny model; returns the pipeline's run dir."""
    cfg = make_config("+experiment=ads_pipeline")
    cfg.stage.common_overrides = TINY
    sized = {
        "sft": ["stage.trainer.max_examples=8", "stage.trainer.batch_size=4"],
        "reward_model": [f"stage.train_file={pairs[0]}", f"stage.eval_file={pairs[1]}", "stage.trainer.epochs=3",
                         "stage.trainer.max_eval_examples=10", "stage.trainer.batch_size=4", "stage.trainer.learning_rate=1e-3"],
        "ppo": ["ppo.steps=2", "ppo.batch_size=4", "hardware.micro_batch_size=2"],
        "evaluate": [],
    }
    for step in cfg.stage.steps:
        step.overrides = [*step.overrides, *sized[step.name]]  # later overrides win
    run_dir = tmp_path_factory.mktemp("pipeline")
    run_stage(cfg, run_dir)
    return run_dir


def test_the_pipeline_runs_every_stage_each_in_its_own_dir(pipeline):
    assert (pipeline / "1_sft/adapter/adapter_config.json").is_file()
    assert (pipeline / "2_reward_model/reward_adapter/adapter_model.safetensors").is_file()
    assert (pipeline / "3_ppo/final/policy/adapter_config.json").is_file()
    for name in ("comparison.json", "comparison.md", "samples.md", "metrics.png", "training.png"):
        assert (pipeline / "4_evaluate" / name).is_file(), name
    sft = json.loads((pipeline / "1_sft/sft.json").read_text())
    assert sft["train_examples"] == 8 and sft["train_loss"] > 0


def test_the_reward_model_learns_to_rank_held_out_pairs(pipeline):
    record = json.loads((pipeline / "2_reward_model/reward_model.json").read_text())
    assert record["eval_pairs"] == 10  # the first 10 of 12: stage.trainer.max_eval_examples
    assert record["eval_accuracy_after"] >= 0.9
    # trained on the SFT model: the base it must be attached to has the SFT adapter merged in
    assert len(record["base"]["merged_adapters"]) == 1


def test_the_comparison_is_computed_from_the_runs_it_names(pipeline):
    comparison = json.loads((pipeline / "4_evaluate/comparison.json").read_text())
    labels = [c["label"] for c in comparison["checkpoints"]]
    assert labels == ["base", "sft", "ppo"]
    base, sft, ppo = (c["metrics"] for c in comparison["checkpoints"])
    assert base["kl_to_reference"] == 0.0 and base["kl_to_reference/max"] == 0.0  # the base against itself
    assert comparison["checkpoints"][2]["checkpoint"] == str(pipeline / "3_ppo")
    for metrics in (base, sft, ppo):
        assert metrics["reward/total/min"] <= metrics["reward/total/mean"] <= metrics["reward/total/max"]
        assert {"reward/learned/mean", "reward/ad_similarity/mean", "text/distinct_2", "response/tokens/mean"} <= set(metrics)
        # the learned reward has weight 0 in the evaluate step: the total is the ad-similarity reward alone
        assert metrics["reward/total/mean"] == pytest.approx(metrics["reward/ad_similarity/mean"])
    assert comparison["baseline"]["column"] == "ad_text"
    table = (pipeline / "4_evaluate/comparison.md").read_text()
    assert f"{base['reward/total/mean']:.4g} ± " in table


def test_ppo_starts_from_the_sft_model_and_its_reference_is_that_model(pipeline):
    from ppo_suite.models import adapter_chain, load_model, load_policy, model_source
    from ppo_suite.rollout import forward_no_grad

    chain = adapter_chain(pipeline / "3_ppo")
    assert chain == [pipeline / "1_sft/adapter", pipeline / "3_ppo/final/policy"]
    cfg = make_config(*TINY_RUN, f"model.adapter={pipeline / '1_sft'}")
    source = model_source(cfg.model)
    policy = load_policy(source, cfg.model, cfg.hardware, torch.device("cpu")).eval()
    sft_lm = load_model(source, cfg.model, cfg.hardware, torch.device("cpu")).eval()
    ids = torch.randint(5, 100, (2, 12))
    with torch.no_grad():
        with policy.reference():
            ref_hidden = policy.causal_lm(input_ids=ids).logits
        assert torch.allclose(ref_hidden, sft_lm(input_ids=ids).logits, atol=1e-5)
    assert callable(forward_no_grad)


def learned_reward(pipeline, policy=None):
    from omegaconf import OmegaConf

    from ppo_suite.rewards.learned import LearnedReward, LearnedRewardSettings

    return LearnedReward(OmegaConf.to_object(OmegaConf.merge(
        OmegaConf.structured(LearnedRewardSettings), {"run_dir": str(pipeline / "2_reward_model")})), policy=policy)


def test_the_reward_adapter_shares_the_policys_base_and_scores_as_its_own_copy_would(pipeline):
    from ppo_suite.models import load_policy, model_source

    cfg = make_config(*TINY_RUN, f"model.adapter={pipeline / '1_sft'}")
    policy = load_policy(model_source(cfg.model), cfg.model, cfg.hardware, torch.device("cpu"))
    trainable_before = [id(p) for p in policy.trainable_parameters()]
    base_storage = {p.data_ptr() for n, p in policy.causal_lm.named_parameters() if "lora_" not in n}
    shared = learned_reward(pipeline, policy)
    # one copy of the base: attaching added only the reward adapter's LoRA weights, all frozen
    after = {n: p for n, p in policy.causal_lm.named_parameters()}
    assert {p.data_ptr() for n, p in after.items() if "lora_" not in n} == base_storage
    assert all(".reward." in n for n in after if "lora_" in n and ".default." not in n)
    assert [id(p) for p in policy.trainable_parameters()] == trainable_before
    assert shared.scorer.peft_lm is policy.lm

    own = learned_reward(pipeline)  # no policy: loads its own base, as the evaluate stage does
    assert own.scorer.peft_lm is not policy.lm
    prompts = ["Search query: cheap flights\nAd: Flights from $99.", "Search query: hotels\nAd: Rooms from $79."]
    completions = ["Flights from $99. Book now.", "rooms rooms rooms"]
    assert shared(prompts, completions) == pytest.approx(own(prompts, completions), abs=1e-5)
    policy.train()
    with policy.lm.disable_adapter():  # the policy's adapter is still the active, trainable one after scoring
        pass
    assert policy.lm.active_adapter == "default"


def test_the_scorer_reads_the_score_where_the_trained_classifier_does(pipeline, pairs):
    """AdapterScorer's encoding and last-token pooling against transformers' sequence classifier on the same
    weights: the training-time scores and the PPO-time scores are one function."""
    from peft import PeftConfig, PeftModel

    from ppo_suite.chat import PromptFormat
    from ppo_suite.models import load_model, load_tokenizer, model_source
    from ppo_suite.reward_adapter import AdapterScorer, load_head, pair_token_ids
    from ppo_suite.stages.reward_model import sequence_classifier

    cfg = make_config(*TINY_RUN, f"model.adapter={pipeline / '1_sft'}")
    source = model_source(cfg.model)
    tokenizer = load_tokenizer(source, cfg.model)
    lm = load_model(source, cfg.model, cfg.hardware, torch.device("cpu"))
    classifier = sequence_classifier(lm, tokenizer.pad_token_id)
    classifier.score.weight.data = load_head(pipeline / "2_reward_model", torch.device("cpu")).weight.data.clone()
    adapter = str(pipeline / "2_reward_model/reward_adapter")
    config = PeftConfig.from_pretrained(adapter)
    config.task_type = None  # saved as a causal LM's adapter; here it goes on the classifier it was trained in
    peft_classifier = PeftModel.from_pretrained(classifier, adapter, config=config).eval()
    rows = [json.loads(line) for line in Path(pairs[1]).read_text().splitlines()[:3]]
    fmt = PromptFormat(use_chat=False)
    ids = [pair_token_ids(tokenizer, fmt, r["prompt"], r["chosen"]) for r in rows]
    width = max(map(len, ids))
    batch = torch.tensor([i + [tokenizer.pad_token_id] * (width - len(i)) for i in ids])
    with torch.no_grad():
        expected = peft_classifier(input_ids=batch, attention_mask=(batch != tokenizer.pad_token_id).long()).logits.squeeze(-1)
    scorer = AdapterScorer(peft_classifier, load_head(pipeline / "2_reward_model", torch.device("cpu")), tokenizer, fmt,
                           512, 2, None, adapter_name="default")
    assert scorer([r["prompt"] for r in rows], [r["chosen"] for r in rows]) == pytest.approx(expected, abs=1e-5)


# --- bad input -------------------------------------------------------------------------------------------


def test_a_reward_adapter_trained_on_another_base_is_refused(pipeline):
    from ppo_suite.models import load_policy, model_source

    cfg = make_config(*TINY_RUN)  # the plain base, not the SFT model the reward adapter was trained on
    policy = load_policy(model_source(cfg.model), cfg.model, cfg.hardware, torch.device("cpu"))
    with pytest.raises(ConfigError, match=r"reward\.learned\.run_dir=.*trained on another base"):
        learned_reward(pipeline, policy)


def test_a_run_dir_without_an_adapter_is_named(tmp_path):
    from ppo_suite.models import adapter_chain

    with pytest.raises(ConfigError, match=r"model\.adapter=.*no LoRA adapter there"):
        adapter_chain(tmp_path)
    with pytest.raises(ConfigError, match=r"reward\.learned\.run_dir=.*no trained reward model there"):
        learned_reward(tmp_path)


def test_preference_rows_missing_a_field_are_named_by_file_and_line(tmp_path):
    path = write_pairs(tmp_path / "pairs.jsonl", [{"prompt": "p", "chosen": "a", "rejected": "b"}, {"prompt": "p", "chosen": "a"}])
    cfg = make_config(*TINY, "stage=reward_model", f"stage.train_file={path}")
    with pytest.raises(DataError, match=r"pairs\.jsonl:2: missing or null field\(s\) \['rejected'\]"):
        run_stage(cfg, tmp_path / "run")
    assert not (tmp_path / "run").exists()  # stopped before writing anything


def test_an_unknown_stage_is_named():
    from hydra.errors import ConfigCompositionException

    with pytest.raises(ConfigCompositionException, match="stage/nope"):
        make_config("stage=nope")
    cfg = make_config("stage.name=nope")
    with pytest.raises(ConfigError, match=r"stage\.name='nope' is not one of \['build_embedded', 'evaluate', 'pipeline', 'ppo', 'prewrite_search', 'reward_model', 'sft'\]"):
        run_stage(cfg, Path("unused"))


def test_a_pipeline_step_referring_to_a_later_step_is_named(tmp_path):
    cfg = make_config("+experiment=ads_pipeline")
    cfg.stage.steps[0].overrides = ["model.adapter=@{ppo}"]
    with pytest.raises(ConfigError, match=r"stage\.steps\[0\]\.overrides: 'model\.adapter=@\{ppo\}' refers to @\{ppo\}"):
        run_stage(cfg, tmp_path)
    assert not list(tmp_path.iterdir())  # nothing started


def test_a_failing_step_stops_the_pipeline_naming_it(tmp_path):
    cfg = make_config("+experiment=ads_pipeline")
    cfg.stage.common_overrides = TINY
    cfg.stage.steps[0].overrides = ["stage.train_file=missing.jsonl"]
    with pytest.raises(PPOSuiteError, match=r"step 'sft' \(stage=sft\) failed.*1_sft/__main__\.log"):
        run_stage(cfg, tmp_path)
    assert not (tmp_path / "2_reward_model").exists()


def test_loading_never_trains_an_embedded_model_the_build_stage_does(tmp_path):
    from ppo_suite.models import model_source

    cfg = make_config(*TINY_RUN, "model.embedded.seed=7")  # a spec nothing has built yet
    with pytest.raises(ConfigError, match=r"model\.embedded is an embedded model that is not built.*stage=build_embedded"):
        model_source(cfg.model)
    run_stage(make_config(*TINY_RUN, "model.embedded.seed=7", "stage=build_embedded"), tmp_path)
    assert (Path(model_source(cfg.model)) / "config.json").is_file()
