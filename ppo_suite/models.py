"""Loading the policy: hub id or local path, full / LoRA / QLoRA, with a scalar value head.

With LoRA and QLoRA the reference policy is the same base weights with the adapter switched off, so
one copy of the base serves policy and reference. Full fine-tuning keeps a frozen copy.
"""

from __future__ import annotations

import contextlib
import copy
import ctypes
import functools
import itertools
import json
import logging
import os
import time
from pathlib import Path

import torch
from omegaconf import OmegaConf
from torch import nn

from ppo_suite.config import HardwareConfig, ModelConfig
from ppo_suite.embedded_model import cache_key_material, embedded_model_dir
from ppo_suite.errors import ConfigError
from ppo_suite.token_logprobs import chunked_token_logprobs

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
FINETUNE_MODES = ("lora", "full")
log = logging.getLogger(__name__)


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"hardware.device={name!r} but no CUDA device is available; use hardware=cpu")
    return device


def model_source(model_cfg: ModelConfig, key: str = "model") -> str:
    """The `from_pretrained` argument: a hub id, a local directory, the converted GGUF model or the built
    embedded one (`stage=build_embedded` builds it; `key` names the config entry in the error when it is not built)."""
    if model_cfg.gguf is not None:
        from ppo_suite.gguf_model import ensure_converted

        return str(ensure_converted(model_cfg.gguf.package, model_cfg.gguf.file))
    if model_cfg.embedded is not None:
        return str(embedded_model_dir(model_cfg.embedded, f"{key}.embedded"))
    if not model_cfg.name_or_path:
        raise ConfigError("model.name_or_path is empty and neither model.gguf nor model.embedded is set; pick a model=<option>")
    return model_cfg.name_or_path


AUTOCAST_MODES = ("auto", "off", "bfloat16", "float16")
# bf16 must beat fp32 by this much before `auto` takes it. Measured 2048x2048 matmuls: ~3x on a Xeon with AMX, 2-3x on
# a 2-core AMD EPYC VM with avx512_bf16 and no AMX, 0.76x on a 2-core VM that hid AMX, 0.003x on a 2-core EPYC VM with
# AVX2 alone; the margin keeps noise out.
CPU_BF16_MIN_SPEEDUP = 1.5


def autocast_dtype(mode: str, device: torch.device) -> torch.dtype | None:
    """The dtype forward passes run in under torch.autocast, or None for none (`hardware.autocast`)."""
    if mode not in AUTOCAST_MODES:
        raise ConfigError(f"hardware.autocast={mode!r} is not one of {AUTOCAST_MODES}")
    if mode == "auto":
        if device.type == "cuda":
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else None
        # CPU flags do not tell: avx512_bf16 is fast on some CPUs and slower than fp32 on others, so measure.
        return torch.bfloat16 if cpu_bf16_speedup() >= CPU_BF16_MIN_SPEEDUP else None
    return None if mode == "off" else DTYPES[mode]


# Below this, bf16 has no fast kernel here: a CPU without bf16 instructions (AVX2 only) falls back to a reference
# kernel 100-300x slower than fp32, where a 1024x1024 product takes seconds.
SLOW_BF16_SPEEDUP = 0.5


def matmul_seconds(dtype: torch.dtype, size: int, repeats: int) -> float:
    """The best of `repeats` timed products of two random `size` x `size` matrices, after one untimed warm-up
    (kernel selection, first-touch page faults)."""
    a, b = torch.randn(size, size, dtype=dtype), torch.randn(size, size, dtype=dtype)
    a @ b
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - start)
    return min(times)


@functools.cache
def cpu_bf16_speedup(size: int = 1024, repeats: int = 5) -> float:
    """How many times faster a bf16 matmul runs than an fp32 one on this CPU (best of `repeats`, ~0.2 s).

    A product a quarter the size (1/64 of the work) goes first: where bf16 is already slow there, it has no fast
    kernel and the full-size measurement, seconds long on such a CPU, is skipped.
    """
    for n in (max(size // 4, 1), size):
        speedup = matmul_seconds(torch.float32, n, repeats) / matmul_seconds(torch.bfloat16, n, repeats)
        if speedup < SLOW_BF16_SPEEDUP:
            break
    log.info("hardware.autocast=auto: a bf16 matmul (%dx%d) runs %.2fx as fast as fp32 on this CPU (bf16 from %.1fx)",
             n, n, speedup, CPU_BF16_MIN_SPEEDUP)
    return speedup


@functools.cache
def _glibc() -> ctypes.CDLL | None:
    try:
        libc = ctypes.CDLL("libc.so.6")
        return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None
    except OSError:  # not glibc (macOS, musl): its allocator is left as it is
        return None


M_MMAP_THRESHOLD = -3  # mallopt's parameter number, from glibc's malloc.h


def set_host_mmap_threshold(mib: float) -> bool:
    """CPU tensors of at least `mib` MiB get pages of their own from the OS, handed back the moment they are freed
    (`hardware.host_mmap_threshold_mib`). Returns whether glibc took it.

    By default glibc raises this threshold to the size of each large block freed (up to 32 MiB), so after the
    first PPO step most tensors come from its heap, where what one phase freed stays as holes that the next
    phase's differently sized tensors do not all fit: the process grows beyond what is alive at any moment.
    """
    libc = _glibc()
    taken = libc is not None and libc.mallopt(M_MMAP_THRESHOLD, int(mib * 2**20)) == 1
    if not taken:
        log.warning("hardware.host_mmap_threshold_mib=%s: not applied (this C library is not glibc)", mib)
    return taken


def release_freed_host_memory() -> None:
    """Hand the free pages of glibc's heap back to the OS (malloc_trim), e.g. after sampling freed the merged weights
    and the KV cache: each page costs a page fault when it is taken again."""
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)


MADV_DONTNEED = 4  # madvise's advice number, from Linux's mman.h


def _file_mappings() -> list[tuple[int, int]]:
    """(start, end) addresses of this process's mappings of files (a safetensors checkpoint, mmapped at load)."""
    maps = Path("/proc/self/maps")
    if not maps.exists():
        return []
    ranges = []
    for line in maps.read_text().splitlines():
        fields = line.split(maxsplit=5)
        if len(fields) == 6 and fields[5].startswith("/"):
            start, end = (int(address, 16) for address in fields[0].split("-"))
            ranges.append((start, end))
    return ranges


def drop_file_pages(dead: list[torch.Tensor], live: list[torch.Tensor]) -> int:
    """Hand back the resident pages of mmapped checkpoint files that only `dead` tensors read (madvise DONTNEED;
    a later read would fetch them from the file again). Returns the bytes handed back.

    transformers maps a safetensors checkpoint and its weights read from it in place; the mapping lives while any of
    them does. Weights replaced by copies (bf16 for autocast) leave the pages read for the copy resident, counted in
    the process's memory: SmolLM2's whole 0.54 GB file, beside its bf16 copies. Only whole pages inside a dead tensor,
    inside a file mapping and overlapping no live tensor are dropped."""
    libc = _glibc()
    if libc is None or not dead:
        return 0
    page = os.sysconf("SC_PAGE_SIZE")
    files = _file_mappings()
    def span(tensor: torch.Tensor) -> tuple[int, int]:
        return tensor.data_ptr(), tensor.data_ptr() + tensor.numel() * tensor.element_size()

    live_spans = [span(t) for t in live if t.device.type == "cpu"]
    dropped = 0
    for tensor in dead:
        if tensor.device.type != "cpu" or not tensor.is_contiguous():
            continue
        start, end = span(tensor)
        start, end = -(-start // page) * page, end // page * page  # the whole pages inside
        if end <= start or not any(lo <= start and end <= hi for lo, hi in files):
            continue
        if any(lo < end and start < hi for lo, hi in live_spans):
            continue
        libc.madvise(ctypes.c_void_p(start), ctypes.c_size_t(end - start), MADV_DONTNEED)
        dropped += end - start
    return dropped


def _from_pretrained(loader, source: str, what: str, key: str = "model.name_or_path", **kwargs):
    """`loader.from_pretrained(source)`; a model that cannot be loaded is a ConfigError naming `key` and why."""
    from safetensors import SafetensorError

    try:
        return loader.from_pretrained(source, **kwargs)
    except SafetensorError as err:  # a weights file cut short by an interrupted download or copy
        raise ConfigError(
            f"{key}={source!r}: the weights of the {what} look truncated or corrupt ({err}): "
            f"{_unreadable_weights(source) or 'a .safetensors file of it'}. Download or copy the model again."
        ) from err
    except (OSError, ValueError) as err:  # unknown ids, missing files, malformed ids, no network
        raise ConfigError(
            f"{key}={source!r}: could not load the {what} ({err}). A hub id needs network access or a copy in "
            "the Hugging Face cache (HF_HUB_OFFLINE=1 uses only the cache); a local path must hold "
            "a saved model (config.json and weights)."
        ) from err


def _unreadable_weights(source: str) -> str:
    """The .safetensors files of a local model dir that safetensors cannot open, comma-separated."""
    from safetensors import SafetensorError, safe_open

    unreadable = []
    for path in sorted(Path(source).glob("*.safetensors")):
        try:
            with safe_open(path, framework="pt"):
                pass
        except SafetensorError:
            unreadable.append(str(path))
    return ", ".join(unreadable)


def load_tokenizer(source: str, model_cfg: ModelConfig):
    from transformers import AutoTokenizer

    tokenizer = _from_pretrained(
        AutoTokenizer, source, "tokenizer", revision=model_cfg.revision, trust_remote_code=model_cfg.trust_remote_code
    )
    tokenizer.padding_side = "left"  # generation appends to the right of every prompt
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


class Policy(nn.Module):
    """A causal LM with a scalar value head on its trunk, and a switch to its reference policy."""

    def __init__(
        self, lm: nn.Module, ref_lm: nn.Module | None = None, compute_dtype: torch.dtype | None = None,
        logit_chunk_tokens: int = 0, merge_full_precision: bool = True,
    ) -> None:
        super().__init__()
        self.lm = lm
        self.compute_dtype = compute_dtype  # autocast dtype of every forward pass; None = the weights' own
        self.logit_chunk_tokens = logit_chunk_tokens  # response positions per LM-head pass; 0 = all at once
        self.merge_full_precision = merge_full_precision  # hardware.merge_adapter_full_precision
        hidden_size = self.causal_lm.config.get_text_config().hidden_size
        self.value_head = nn.Linear(hidden_size, 1)
        nn.init.zeros_(self.value_head.weight)
        nn.init.zeros_(self.value_head.bias)
        self.ref_lm = ref_lm  # only for full fine-tuning; LoRA uses the base with the adapter off
        self._use_ref = False
        self._compiled_trunks: dict[int, nn.Module] = {}  # id(causal LM) -> its compiled trunk (`compile_trunks`)

    @property
    def is_peft(self) -> bool:
        return hasattr(self.lm, "disable_adapter")

    @property
    def causal_lm(self) -> nn.Module:
        return self.lm.get_base_model() if self.is_peft else self.lm

    def trainable_parameters(self) -> list[nn.Parameter]:
        return [p for p in self.parameters() if p.requires_grad]

    def autocast(self):
        """The context forward passes run in: autocast to `compute_dtype`, or nothing."""
        if self.compute_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.value_head.weight.device.type, dtype=self.compute_dtype)

    def store_frozen_linear_weights_in_compute_dtype(self) -> None:
        """Every frozen `nn.Linear` (the LoRA base layers, the output head, a full fine-tune's reference) keeps its
        weights in the autocast dtype from now on, and every forward must then run under `autocast()`.

        Under autocast a matmul reads its weights in that dtype anyway, so the products are the same bit for bit;
        but autocast caches only the casts of weights that require grad, so a frozen fp32 weight is cast again at
        every call (each training forward, each checkpointed recompute, each log-prob chunk of the head) and autograd
        keeps each cast alive for backward. Stored narrow, the casts are gone and the weights take half the memory.
        A head tied to the input embedding is untied: the embedding, norms and residual stream stay as they were."""
        if self.compute_dtype is None:
            return
        dropped = 0
        for model in (self.lm, self.ref_lm):
            for module in model.modules() if model is not None else ():
                # exactly nn.Linear: a quantised subclass holds weights of its own format
                if type(module) is not nn.Linear or module.weight.requires_grad:
                    continue
                if module.weight.dtype.itemsize <= self.compute_dtype.itemsize:
                    continue
                replaced = []
                with torch.no_grad():
                    for name in ("weight", "bias"):
                        wide = getattr(module, name)
                        if wide is not None:
                            replaced.append(wide.data)
                            setattr(module, name, nn.Parameter(wide.to(self.compute_dtype), requires_grad=False))
                # one weight at a time: the pages read for the copy go back before the next weight is read
                dropped += drop_file_pages(replaced, live=list(itertools.chain(self.parameters(), self.buffers())))
        release_freed_host_memory()  # the wide weights that were not mapped from a file
        log.info("frozen Linear weights stored in %s for autocast (%.2f GB of checkpoint pages handed back)",
                 str(self.compute_dtype).removeprefix("torch."), dropped / 1e9)

    def compile_trunks(self) -> None:
        """`forward` runs the trunks (the policy's; a full fine-tune's reference too) through `torch.compile` from
        now on. Sampling does not: `generate` calls the modules themselves. Turning the adapter off for the reference
        pass, or train/eval mode, is a guard of the compiled code: it compiles once more."""
        self._compiled_trunks = {
            id(lm): torch.compile(lm.base_model) for lm in (self.causal_lm, self.ref_lm) if lm is not None
        }

    @contextlib.contextmanager
    def reference(self):
        """Within this context `forward` computes the reference policy."""
        if self.ref_lm is not None:
            self._use_ref = True
            try:
                yield
            finally:
                self._use_ref = False
        else:
            with self.lm.disable_adapter():
                yield

    @contextlib.contextmanager
    def merged_adapter(self):
        """Within this context the LoRA adapter is folded into the base weights, so sampling costs what the
        base model's does instead of adding the adapter's small matmuls at every decoding step.

        The merged weights are new tensors swapped in, and the original tensors are swapped back after: merging
        in place and unmerging (W + BA - BA) is not exact in floating point (~2e-4 relative per cycle in bf16),
        and over many steps the reference policy (the base) would drift, and a resumed run would differ from
        an uninterrupted one. A 4-bit base is left alone: merging into it would re-quantise the weights. Without
        `merge_full_precision`, a merged copy as wide as the stored base weights is not made either (fp32
        sampling, or bf16 autocast over base weights stored in bf16)."""
        if not self.is_peft or getattr(self.causal_lm, "hf_quantizer", None) is not None:
            yield
            return
        from peft.tuners.lora import LoraLayer

        adapted = next((m.get_base_layer().weight for m in self.lm.modules() if isinstance(m, LoraLayer)), None)
        stored_dtype = adapted.dtype if adapted is not None else self.causal_lm.dtype
        if not self.merge_full_precision and (self.compute_dtype or stored_dtype).itemsize >= stored_dtype.itemsize:
            yield
            return
        originals = []
        head = self.causal_lm.get_output_embeddings()
        head_weight = head.weight
        with torch.no_grad():
            if self.compute_dtype is not None and isinstance(head, nn.Linear) and head_weight.dtype != self.compute_dtype:
                # The output embedding is frozen too, and often tied to the input one: a copy in the autocast
                # dtype for sampling (rebinding the head alone) spares a cast of vocab x hidden weights per token.
                head.weight = nn.Parameter(head_weight.to(self.compute_dtype), requires_grad=False)
            for module in self.lm.modules():
                if isinstance(module, LoraLayer):
                    weight = module.get_base_layer().weight
                    deltas = [module.get_delta_weight(a) for a in module.active_adapters if a in module.lora_A]
                    if deltas:
                        originals.append((weight, weight.data))
                        # In the autocast dtype already: autocast would otherwise cast every weight at every
                        # decoding step (it caches casts only of weights that require grad).
                        weight.data = (weight.data + sum(deltas)).to(self.compute_dtype or weight.dtype)
        try:
            with self.lm.disable_adapter():  # the adapter's contribution is in the swapped-in weights
                yield
        finally:
            for weight, data in originals:
                weight.data = data
            head.weight = head_weight
            release_freed_host_memory()  # the merged weights and the sampling's KV cache

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        prompt_length: int,
        temperature: float,
        with_values: bool = True,
        with_entropy: bool = False,
    ) -> dict[str, torch.Tensor]:
        """Log-probs (and values, entropy) of the response tokens of prompt+response sequences.

        input_ids, attention_mask: (B, P + T) with prompts left-padded to P. Returns (B, T) tensors.
        Only the T response positions go through the LM head, which spares most of the vocabulary work.
        """
        lm = self.ref_lm if self._use_ref else self.causal_lm
        position_ids = (attention_mask.cumsum(1) - 1).clamp(min=0)
        trunk = self._compiled_trunks.get(id(lm), lm.base_model)
        with self.autocast():
            hidden = trunk(
                input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids, use_cache=False
            ).last_hidden_state
            # The state before response token t sits at position prompt_length + t - 1.
            return self.heads(
                hidden[:, prompt_length - 1 : -1], input_ids[:, prompt_length:], temperature, with_values, with_entropy
            )

    def heads(
        self,
        hidden: torch.Tensor,
        response: torch.Tensor,
        temperature: float,
        with_values: bool = True,
        with_entropy: bool = False,
    ) -> dict[str, torch.Tensor]:
        """Log-probs of `response` (and values, entropy) from the trunk's last hidden states before each token.

        hidden: (B, T, H), response: (B, T). Returns (B, T) tensors.
        """
        lm = self.ref_lm if self._use_ref else self.causal_lm
        logprobs, entropy = chunked_token_logprobs(
            lm.get_output_embeddings(), hidden, response, temperature, with_entropy, self.logit_chunk_tokens
        )
        out = {"logprobs": logprobs}
        if with_values:
            out["values"] = self.value(hidden)
        if with_entropy:
            out["entropy"] = entropy
        return out

    def value(self, hidden: torch.Tensor) -> torch.Tensor:
        """(B, T) fp32 values from the trunk's hidden states (B, T, H)."""
        return self.value_head(hidden.to(self.value_head.weight.dtype)).squeeze(-1).float()

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        # only the policy's own adapter: a reward adapter attached beside it (reward=learned) is not the policy's
        extra = {"selected_adapters": ["default"]} if self.is_peft else {}
        self.lm.save_pretrained(directory / "policy", **extra)
        torch.save(self.value_head.state_dict(), directory / "value_head.pt")

    def load(self, directory: Path) -> None:
        if self.is_peft:
            from peft import set_peft_model_state_dict
            from safetensors.torch import load_file

            set_peft_model_state_dict(self.lm, load_file(directory / "policy" / "adapter_model.safetensors"))
        else:
            from safetensors.torch import load_file

            state = {}
            for shard in sorted((directory / "policy").glob("*.safetensors")):
                state.update(load_file(shard))
            self.lm.load_state_dict(state, strict=False)
        self.value_head.load_state_dict(torch.load(directory / "value_head.pt", weights_only=True))


def _disable_dropout(model: nn.Module) -> None:
    # PPO's ratio compares two forwards of the same weights; dropout would make it noise.
    for module in model.modules():
        if isinstance(module, nn.Dropout):
            module.p = 0.0


def adapter_chain(path: str | Path, key: str = "model.adapter") -> list[Path]:
    """The LoRA adapters that make up the model of `path`, in the order they apply to the base.

    `path` is an adapter dir (adapter_config.json), an `sft` run dir (adapter/) or a PPO run dir (final/policy/);
    a run that itself started from `model.adapter` (its config.yaml says) has that chain first.
    """
    path = Path(path).expanduser()
    if (path / "adapter_config.json").is_file():
        return [path]
    for own in (path / "adapter", path / "final" / "policy"):
        if (own / "adapter_config.json").is_file():
            saved = path / "config.yaml"
            start = OmegaConf.select(OmegaConf.load(saved), "model.adapter") if saved.is_file() else None
            return (adapter_chain(start, f"{saved}: model.adapter") if start else []) + [own]
    raise ConfigError(
        f"{key}={str(path)!r}: no LoRA adapter there: expected adapter_config.json, or the adapter/ of an sft run "
        "dir, or the final/policy/ of a PPO run dir (a run with model.finetune=full saves a whole model: load it with "
        "model.name_or_path)"
    )


def base_identity(model_cfg: ModelConfig) -> dict:
    """What makes a base model the same one: its source and the adapters merged into it (by content).

    Saved beside a reward adapter and compared when it is attached to a policy: an adapter trained on another
    base would score nonsense without any error."""
    import hashlib

    if model_cfg.gguf is not None:
        source = f"gguf:{model_cfg.gguf.package}/{model_cfg.gguf.file}"
    elif model_cfg.embedded is not None:
        # the spec as the model's cache dir is keyed: settings added later count only where they are set
        spec = OmegaConf.to_container(OmegaConf.structured(model_cfg.embedded))
        source = "embedded:" + json.dumps(cache_key_material(spec, [])[0], sort_keys=True)
    else:
        source = f"{model_cfg.name_or_path}@{model_cfg.revision or 'main'}"
    adapters = [
        hashlib.sha256((p / "adapter_model.safetensors").read_bytes()).hexdigest()[:16]
        for p in (adapter_chain(model_cfg.adapter) if model_cfg.adapter else [])
    ]
    return {"source": source, "merged_adapters": adapters}


def _merge_adapters(lm: nn.Module, chain: list[Path]) -> nn.Module:
    from peft import PeftModel

    for path in chain:
        lm = PeftModel.from_pretrained(lm, str(path)).merge_and_unload()
    return lm


FP32_ATTENTION = "sdpa_fp32"


def _sdpa_in_fp32(module, query, key, value, attention_mask, dropout=0.0, scaling=None, is_causal=None, **kwargs):
    """Scaled dot-product attention over fp32 queries, keys and values with autocast off, grouped-query heads left
    grouped, the output in the queries' dtype: transformers' `sdpa` attention as it runs for Llama-style models.

    SDPA is on autocast's bf16 list: under bf16 autocast on a CPU it runs PyTorch's flash-attention kernel in bf16,
    which is slower there than in fp32 (grouped-query heads of SmolLM2's shape, forward+backward over 8 x 64 tokens:
    6.6 ms against 2.8; one decoding query per row over a 16 x 64 KV cache: 510 us against 180). transformers
    repeats grouped keys and values to every query head when there is a mask; `enable_gqa` reads them as they are.
    SmolLM2 under bf16 autocast, one training micro-batch (8 x 64 tokens, forward+backward): 1.29 s against 1.44
    with transformers' `sdpa`; a 32-token rollout of 16 prompts: 2.40 s against 2.68 (medians, alternating in
    one process). The rotary embedding leaves queries and keys in fp32 already, values in bf16."""
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    if kwargs.get("position_bias") is not None or kwargs.get("softcap") is not None:  # not Llama-style: as transformers does
        with torch.autocast(query.device.type, enabled=False):
            out, weights = sdpa_attention_forward(
                module, query.float(), key.float(), value.float(), attention_mask, dropout=dropout, scaling=scaling,
                is_causal=is_causal, **kwargs,
            )
        return out.to(query.dtype), weights
    causal = getattr(module, "is_causal", True) if is_causal is None else is_causal
    with torch.autocast(query.device.type, enabled=False):
        out = torch.nn.functional.scaled_dot_product_attention(
            query.float(), key.float(), value.float(), attn_mask=attention_mask, dropout_p=dropout, scale=scaling,
            # a mask carries the causal pattern; without one a query block (not one decoding query) is causal
            is_causal=causal and attention_mask is None and query.shape[2] > 1,
            enable_gqa=query.shape[1] != key.shape[1],
        )
    return out.transpose(1, 2).contiguous().to(query.dtype), None


def _register_fp32_attention() -> None:
    from transformers import AttentionInterface
    from transformers.masking_utils import AttentionMaskInterface, sdpa_mask

    AttentionInterface.register(FP32_ATTENTION, _sdpa_in_fp32)
    AttentionMaskInterface.register(FP32_ATTENTION, sdpa_mask)  # unregistered, transformers would pass no mask at all


def attention_implementation(hardware: HardwareConfig, device: torch.device) -> str | None:
    """`hardware.attn_implementation`, or where it is unset: fp32 attention on a CPU under bf16 autocast (see
    `_sdpa_in_fp32`), transformers' own choice elsewhere."""
    if hardware.attn_implementation:
        return hardware.attn_implementation
    if device.type == "cpu" and autocast_dtype(hardware.autocast, device) == torch.bfloat16:
        return FP32_ATTENTION
    return None


def load_model(source: str, model_cfg: ModelConfig, hardware: HardwareConfig, device: torch.device):
    """The plain causal LM as `hardware` asks for it (dtype, attention kernel, 4-bit base), dropout off, with the
    `model.adapter` chain merged in (a 4-bit base leaves that to `load_policy`)."""
    from transformers import AutoModelForCausalLM, BitsAndBytesConfig

    if hardware.dtype != "auto" and hardware.dtype not in DTYPES:
        raise ConfigError(f"hardware.dtype={hardware.dtype!r} is not one of {sorted(DTYPES) + ['auto']}")
    # auto: bf16 where the device computes it fast (CUDA), fp32 elsewhere
    dtype = DTYPES.get(hardware.dtype, torch.bfloat16 if device.type == "cuda" else torch.float32)
    kwargs = dict(
        revision=model_cfg.revision, trust_remote_code=model_cfg.trust_remote_code, dtype=dtype
    )
    attention = attention_implementation(hardware, device)
    if attention == FP32_ATTENTION:
        _register_fp32_attention()
    if attention:
        kwargs["attn_implementation"] = attention
    if hardware.load_in_4bit:
        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_quant_type=hardware.bnb_4bit_quant_type,
            bnb_4bit_use_double_quant=hardware.bnb_4bit_use_double_quant,
            bnb_4bit_compute_dtype=dtype,
        )
        kwargs["device_map"] = {"": str(device) if device.type == "cpu" else device.index or 0}
    lm = _from_pretrained(AutoModelForCausalLM, source, "model", **kwargs)
    if not hardware.load_in_4bit:
        lm.to(device)
        if model_cfg.adapter:
            lm = _merge_adapters(lm, adapter_chain(model_cfg.adapter))
    elif device.type == "cpu":
        _keep_4bit_layout_trainable(lm)
    _disable_dropout(lm)
    if lm.generation_config.pad_token_id is None:
        lm.generation_config.pad_token_id = lm.generation_config.eos_token_id
    return lm


def _keep_4bit_layout_trainable(lm: nn.Module) -> None:
    """On the CPU, bitsandbytes (0.50) repacks a 4-bit weight for its AVX512-BF16 inference kernel at the first
    no-grad forward in eval mode, and keeps it repacked; that kernel has no backward, so every later training
    forward would pass no gradient through the base to the adapters below it. Sampling happens in eval mode,
    so switch the repacking off."""
    import bitsandbytes as bnb

    for module in lm.modules():
        if isinstance(module, bnb.nn.Linear4bit):
            module.support_avx512bf16_for_cpu = False


def lora_config(model_cfg: ModelConfig, task_type: str):
    from peft import LoraConfig

    target = model_cfg.lora.target_modules
    return LoraConfig(
        r=model_cfg.lora.r,
        lora_alpha=model_cfg.lora.alpha,
        lora_dropout=model_cfg.lora.dropout,
        target_modules=target if isinstance(target, str) else list(target),
        task_type=task_type,
    )


def _continue_adapter(lm: nn.Module, chain: list[Path]) -> nn.Module:
    from peft import PeftModel

    if len(chain) > 1:
        raise ConfigError(
            f"model.adapter is a chain of {len(chain)} adapters ({', '.join(map(str, chain))}) and a 4-bit base cannot "
            "have adapters merged into it; start from a run trained on the plain base"
        )
    return PeftModel.from_pretrained(lm, str(chain[0]), is_trainable=True)


def load_policy(source: str, model_cfg: ModelConfig, hardware: HardwareConfig, device: torch.device) -> Policy:
    if model_cfg.finetune not in FINETUNE_MODES:
        raise ConfigError(f"model.finetune={model_cfg.finetune!r} is not one of {FINETUNE_MODES}")
    if hardware.load_in_4bit and model_cfg.finetune != "lora":
        raise ConfigError("hardware.load_in_4bit (QLoRA) trains a LoRA adapter: set model.finetune=lora")
    lm = load_model(source, model_cfg, hardware, device)

    ref_lm = None
    if model_cfg.finetune == "lora":
        from peft import get_peft_model, prepare_model_for_kbit_training

        if hardware.load_in_4bit:
            lm = prepare_model_for_kbit_training(lm, use_gradient_checkpointing=hardware.gradient_checkpointing)
        if hardware.load_in_4bit and model_cfg.adapter:  # no merging into 4-bit weights: train that adapter on
            lm = _continue_adapter(lm, adapter_chain(model_cfg.adapter))
        else:
            lm = get_peft_model(lm, lora_config(model_cfg, "CAUSAL_LM"))
    else:
        ref_lm = copy.deepcopy(lm).requires_grad_(False).eval()
    if hardware.gradient_checkpointing:
        lm.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        if model_cfg.finetune == "lora":
            lm.enable_input_require_grads()
    policy = Policy(
        lm, ref_lm, autocast_dtype(hardware.autocast, device), hardware.logit_chunk_tokens,
        hardware.merge_adapter_full_precision,
    )
    policy.value_head.to(device)
    if not hardware.load_in_4bit:
        policy.store_frozen_linear_weights_in_compute_dtype()
    if hardware.compile:
        policy.compile_trunks()
    policy.base_identity = base_identity(model_cfg)  # what a reward adapter attached to this base must have been trained on
    return policy
