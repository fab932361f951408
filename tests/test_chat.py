"""Chat templates: rendering with SmolLM2's template and a Llama 3 style one, stop tokens, response masks,
and a PPO step on the converted SmolLM2 model."""

import pytest
import torch

from conftest import TINY_RUN, make_config
from ppo_suite.chat import PromptFormat, prompt_format, stop_token_ids
from ppo_suite.errors import ConfigError
from ppo_suite.models import load_policy, load_tokenizer, model_source
from ppo_suite.rollout import cut_at_stop_strings, generate, response_mask_after_eos

# Llama 3's template, trimmed to what a user turn and a system turn need.
LLAMA3_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}<|start_header_id|>{{ message['role'] }}<|end_header_id|>\n\n"
    "{{ message['content'] | trim }}<|eot_id|>{% endfor %}"
    "{% if add_generation_prompt %}<|start_header_id|>assistant<|end_header_id|>\n\n{% endif %}"
)


@pytest.fixture(scope="module")
def smollm2():
    """The default model, converted from its packaged GGUF file into the tests' cache (~30 s, once)."""
    cfg = make_config(*TINY_RUN[1:], "+experiment=ads", "model=smollm2")
    source = model_source(cfg.model)
    return cfg, source, load_tokenizer(source, cfg.model)


def test_smollm2_renders_the_prompt_as_a_user_turn_with_its_default_system_turn(smollm2):
    _, _, tokenizer = smollm2
    fmt = prompt_format(tokenizer, "auto", None)
    assert fmt.render(tokenizer, ["Rewrite: cheap flights"]) == [
        "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
        "<|im_start|>user\nRewrite: cheap flights<|im_end|>\n<|im_start|>assistant\n"
    ]
    fmt = prompt_format(tokenizer, "on", "Reply with the ad only.")
    assert fmt.render(tokenizer, ["x"])[0].startswith("<|im_start|>system\nReply with the ad only.<|im_end|>\n")
    assert prompt_format(tokenizer, "off", None).render(tokenizer, ["x"]) == ["x"]
    assert tokenizer.eos_token == "<|im_end|>"  # the end-of-turn token ends generation


def test_a_llama3_style_template_renders_with_its_own_headers(tmp_path):
    from conftest import save_tiny_classifier
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(save_tiny_classifier(tmp_path / "m", ["a", "b"], chat_template=LLAMA3_TEMPLATE))
    fmt = prompt_format(tokenizer, "auto", "Be brief.")
    assert fmt.render(tokenizer, ["What is PPO?"]) == [
        f"{tokenizer.bos_token}<|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
        "<|start_header_id|>user<|end_header_id|>\n\nWhat is PPO?<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\n"
    ]
    assert not fmt.add_special_tokens  # the template wrote the BOS; the tokenizer must not add another


def test_chat_settings_that_cannot_work_are_errors(tmp_path):
    from conftest import save_tiny_classifier
    from transformers import AutoTokenizer

    plain = AutoTokenizer.from_pretrained(save_tiny_classifier(tmp_path / "m", ["a", "b"]))
    assert prompt_format(plain, "auto", None) == PromptFormat(use_chat=False)
    with pytest.raises(ConfigError, match="model.chat_template=on but this model's tokenizer has no chat template"):
        prompt_format(plain, "on", None)
    with pytest.raises(ConfigError, match="model.system_prompt is set but prompts are fed raw"):
        prompt_format(plain, "off", "Be brief.")
    with pytest.raises(ConfigError, match="model.chat_template='yes' is not one of"):
        prompt_format(plain, "yes", None)


def test_every_end_of_turn_id_stops_a_response():
    from transformers import GenerationConfig

    class Tok:
        eos_token_id = 2

    assert stop_token_ids(Tok(), GenerationConfig(eos_token_id=[7, 2])) == [2, 7]
    assert stop_token_ids(Tok(), GenerationConfig()) == [2]
    responses = torch.tensor([[5, 7, 9, 2], [5, 6, 2, 7], [5, 6, 8, 9]])
    expected = torch.tensor([[1, 1, 0, 0], [1, 1, 1, 0], [1, 1, 1, 1]]).float()
    assert torch.equal(response_mask_after_eos(responses, [2, 7]), expected)
    assert cut_at_stop_strings("an ad.\nQuery: more", ["\nQuery:", "###"]) == "an ad."
    assert cut_at_stop_strings("an ad.", ["###"]) == "an ad."


def test_a_smollm2_rollout_is_the_assistant_turn_only_and_ends_at_its_end_of_turn(smollm2):
    cfg, source, tokenizer = smollm2
    torch.manual_seed(0)
    policy = load_policy(source, cfg.model, cfg.hardware, torch.device("cpu"))
    generation = cfg.generation.copy()  # not the module's fixture
    generation.max_new_tokens = 24
    fmt = prompt_format(tokenizer, "auto", None)
    prompts = ["Say hello.", "Write one short sentence about the sea.", "Reply with one word: yes or no.", "Say hi."]
    rollout = generate(policy, tokenizer, prompts, generation, 128, torch.device("cpu"), fmt)
    prompt_text = tokenizer.decode(rollout.input_ids[0, : rollout.prompt_length], skip_special_tokens=False)
    assert prompt_text.endswith("<|im_start|>assistant\n") and prompt_text.count("<|im_start|>") == 3
    for row, completion in enumerate(rollout.completions):
        assert completion and "<|im_" not in completion and "assistant" not in completion[:12]
        response = rollout.responses[row][rollout.response_mask[row].bool()].tolist()
        if rollout.finished[row]:  # the mask keeps the end-of-turn token and nothing after it
            assert response[-1] == tokenizer.eos_token_id and tokenizer.eos_token_id not in response[:-1]
    assert rollout.finished.any()  # an instruct model ends its turn within 24 tokens on at least one of these
    # (four prompts: with two, one seed's draws ended neither within 24 tokens)


def test_a_ppo_step_on_the_converted_smollm2(smollm2, tmp_path):
    from ppo_suite.runner import run

    cfg = make_config(*TINY_RUN, "model=smollm2", "ppo.steps=1", "eval.num_prompts=2", "checkpoint_every=0")
    summary = run(cfg, run_dir=tmp_path)
    assert summary["final"]["reward/total/mean"] == summary["final"]["reward/total/mean"]  # not NaN
    assert (tmp_path / "final/policy/adapter_model.safetensors").exists()


def test_smollm2_as_the_prewrite_task_model_answers_in_its_assistant_turn(smollm2):
    from ppo_suite.config import GGUFSource
    from ppo_suite.rewards.rewrite_task_model import RewriteTaskModel, RewriteTaskModelSettings

    cfg, _, _ = smollm2
    reward = RewriteTaskModel(RewriteTaskModelSettings(
        gguf=GGUFSource(**cfg.model.gguf), prompt_template="{instruction}\n\n{input}", max_new_tokens=16,
    ))
    assert reward.task_model.identity.endswith("|chat")
    answers = reward.task_model.answer([
        "What is 2 + 3? Reply with the number only.",
        "Is this review positive or negative?\n\nHotel review: The room was spotless and quiet.",
    ])
    assert "5" in answers[0] and "positive" in answers[1]
    assert not any("<|im_" in a or a.startswith("assistant") for a in answers)
    # The reward: the rewrite's instruction is put in front of each example's input and the answer is scored.
    from ppo_suite.metrics import score_answer
    from ppo_suite.rewards.rewrite_task_model import first_line

    rewrite, inputs, golds = "What is the sum? Reply with the number only.", ["2 + 3", "4 + 4"], ["5", "8"]
    direct = reward.task_model.answer([f"{rewrite}\n\n{x}" for x in inputs])  # the prompt_template above
    expected = sum(score_answer("numeric_match", first_line(a), g) for a, g in zip(direct, golds)) / 2
    assert reward(["p"], [rewrite], inputs=[inputs], outputs=[golds], task=["math"]) == [expected]
    assert expected > 0
