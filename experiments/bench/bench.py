"""`make bench`: the PPO iteration's time and peak memory, against the floor of plain transformers calls.

    python experiments/bench/bench.py                        # smollm2, tiny_test and llama_100m on the CPU
    python experiments/bench/bench.py --device cuda          # bf16 + SDPA on a GPU
    python experiments/bench/bench.py --device cuda --load-in-4bit --models llama_100m   # QLoRA
    python experiments/bench/bench.py --profile              # also: the top ops of one PPO iteration
    python experiments/bench/bench.py --models smollm2 --baseline f037136   # also the code of an older commit

Each model runs in every `--variant` (on a CPU by default fp32, bf16 autocast over fp32 weights, and that with `hardware=cpu_low_memory`), and with
`--baseline REV` also with the code of git revision REV (a worktree), so old and new code are side by side. A variant
that computes in bf16 on a CPU whose bf16 matmuls measure under half fp32's speed (no bf16 instructions) is skipped
and named in the results: there an iteration would take hours.

Every model runs at one fixed shape: 16 prompts of 32 tokens, 32 new tokens (EOS blocked until then), 2 PPO
epochs of 2 mini-batches, LoRA r=8 on every linear layer; the micro-batch is the variant's (the `cpu` preset's 8,
`cpu_low_memory`'s 4, or a `hardware.micro_batch_size` override). For each model, in processes of
their own so that each one's peak memory is its own:

  ppo        `ppo_suite.runner.run` for warm-up + measured iterations: the runner's own time/* metrics, its
             peak memory, and every forward of the model's trunk, counted by a hook; then, in the same
             process, the floor: the same model and batch through plain transformers calls, the base model's
             `generate` and one no-grad forward over prompt+response, then `ppo_epochs` forward+backward
             passes of the LoRA model (same micro-batches) with an AdamW step per mini-batch.
  inference  the base model's `generate` and one no-grad forward at the same batch: its peak memory.

Results go to `--out` as results.json and results.md. Nothing here is a test: `tests/test_bench.py` only
checks that one tiny iteration runs and writes its results.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[2]
# The shape every model runs at; device, dtype and 4-bit come from the command line.
SHAPE = [
    "+experiment=ads",
    "logger=none",
    "ppo.batch_size=16",
    "task.max_prompt_tokens=32",  # the ads prompts are longer, and left-truncated to exactly 32
    "generation.max_new_tokens=32",
    "generation.min_new_tokens=32",
    "ppo.ppo_epochs=2",
    "ppo.num_mini_batches=2",
    "model.finetune=lora",
    "model.lora.r=8",
    "model.lora.target_modules=all-linear",
    "eval.num_prompts=0",
    "logger.samples_every=0",
    "checkpoint_every=0",
]
# time: a PPO iteration against the floor of plain fp32 transformers calls: at most 1.15x in fp32 itself, and
# at most 0.45x in a faster compute mode (bf16), which must beat what plain fp32 code can do.
TARGETS = {"time": 1.15, "time_fast": 0.45, "no_grad_passes": 2, "memory": 1.3}
DEFAULT_VARIANTS = {"cpu": ["fp32=hardware.autocast=off", "bf16=hardware.autocast=bfloat16",
                            "bf16-low-memory=hardware=cpu_low_memory,hardware.autocast=bfloat16"],
                    "cuda": ["bf16=hardware.autocast=auto"]}
PHASES = ["generate", "reward", "forward", "optimize"]  # the runner's time/* split of an iteration
FLOOR_PHASES = ["generate", "forward", "optimize"]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", default=["smollm2", "tiny_test", "llama_100m"], help="model config options")
    parser.add_argument("--warmup", type=int, default=1, help="iterations run first and not counted")
    parser.add_argument("--iterations", type=int, default=3, help="iterations whose medians are reported")
    parser.add_argument("--device", default="cpu", help="cpu | cuda | cuda:N")
    parser.add_argument("--dtype", default=None, help="float32 | bfloat16 | float16 (default: fp32 on CPU, bf16 on CUDA)")
    parser.add_argument("--attn", default=None, help="attention kernel (default: transformers' on CPU, sdpa on CUDA)")
    parser.add_argument("--load-in-4bit", action="store_true", help="QLoRA: an NF4 base under the adapter")
    parser.add_argument("--profile", action="store_true", help="also profile one PPO iteration (torch.profiler)")
    parser.add_argument("--out", type=Path, default=ROOT / "experiments" / "bench", help="where results go")
    parser.add_argument("--variant", action="append", dest="variants", metavar="NAME=OVERRIDE[,OVERRIDE...]",
                        help="a named set of overrides each model also runs with (repeatable); default: "
                             + "; ".join(f"{d}: {' '.join(v)}" for d, v in DEFAULT_VARIANTS.items()))
    parser.add_argument("--baseline", metavar="REV", help="also run every variant with the code of this git revision")
    parser.add_argument("overrides", nargs="*", help="more Hydra overrides for every run, e.g. hardware.num_threads=2")
    parser.add_argument("--child", choices=["ppo", "inference", "training", "profile"], help=argparse.SUPPRESS)
    parser.add_argument("--model", help=argparse.SUPPRESS)
    parser.add_argument("--variant-overrides", default="", help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def hardware_overrides(args: argparse.Namespace) -> list[str]:
    on_cuda = args.device.startswith("cuda")
    dtype = args.dtype or ("bfloat16" if on_cuda else "float32")
    attn = args.attn or ("sdpa" if on_cuda else None)
    overrides = [f"hardware.device={args.device}", f"hardware.dtype={dtype}", f"hardware.load_in_4bit={args.load_in_4bit}"]
    return overrides + ([f"hardware.attn_implementation={attn}"] if attn else [])


def variants(args: argparse.Namespace) -> dict[str, list[str]]:
    """{name: overrides} of every --variant, or the device's defaults."""
    specs = args.variants or DEFAULT_VARIANTS["cuda" if args.device.startswith("cuda") else "cpu"]
    parsed = {}
    for spec in specs:
        name, _, overrides = spec.partition("=")
        if not name or not overrides:
            sys.exit(f"--variant {spec!r}: write NAME=OVERRIDE[,OVERRIDE...], e.g. bf16=hardware.autocast=bfloat16")
        parsed[name] = overrides.split(",")
    return parsed


def compose_config(model: str, args: argparse.Namespace, steps: int, variant: list[str] = ()):
    from hydra import compose, initialize_config_dir

    import ppo_suite
    from ppo_suite.config import register_configs

    register_configs()
    overrides = [f"model={model}", *SHAPE, f"ppo.steps={steps}", *hardware_overrides(args), *variant, *args.overrides]
    conf = Path(ppo_suite.__file__).resolve().parents[1] / "conf"  # the conf of the code under test (see --baseline)
    with initialize_config_dir(config_dir=str(conf), version_base="1.3"):
        return compose(config_name="config", overrides=overrides)


def peak_memory(device: torch.device) -> int:
    """Bytes: the CUDA allocator's peak on a GPU, else the process's peak resident set.

    On Linux that is VmHWM, the high-water mark of this process's own memory map: getrusage's ru_maxrss
    would also carry the parent's peak across fork and exec.
    """
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device)
    status = Path("/proc/self/status")
    if status.exists():
        line = next(line for line in status.read_text().splitlines() if line.startswith("VmHWM:"))
        return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * (1 if sys.platform == "darwin" else 1024)


# --- the processes that measure -------------------------------------------------------------------------


def child_ppo(cfg, warmup: int) -> dict:
    """The runner's iterations, its peak memory and its trunk forwards; then the floor, in the same process."""
    from ppo_suite import runner
    from ppo_suite.models import resolve_device

    from ppo_suite.models import autocast_dtype

    device = resolve_device(cfg.hardware.device)
    compute = autocast_dtype(cfg.hardware.autocast, device)
    calls: list[tuple[str, int, int]] = []
    weights: dict[str, int] = {}
    _watch_policy(runner, calls, weights)
    phase_peaks = _watch_phases(runner, device)
    before = peak_memory(device)
    with tempfile.TemporaryDirectory() as run_dir:
        runner.run(cfg, run_dir=Path(run_dir))
        metrics = [json.loads(line) for line in (Path(run_dir) / "metrics.jsonl").read_text().splitlines()]
    peak = peak_memory(device)
    iterations = [
        {**{phase: m[f"time/{phase}"] for phase in PHASES}, "step": m["time/step"],
         "tokens_per_sec": m["throughput/generated_tokens_per_sec"]}
        for m in metrics if "time/step" in m
    ][warmup:]
    return {
        "iterations": iterations,
        "passes": _passes(calls, cfg.ppo.batch_size, cfg.ppo.steps),
        "weights": weights,
        "memory_before_model": before,
        "peak_memory": peak,
        "phase_peaks": phase_peaks,
        "floor": floor(cfg, warmup, len(iterations)),
        "threads": torch.get_num_threads(),
        "micro_batch": cfg.hardware.micro_batch_size,
        "gradient_checkpointing": cfg.hardware.gradient_checkpointing,
        "compute_dtype": str(compute).removeprefix("torch.") if compute is not None else cfg.hardware.dtype,
        "code": str(Path(runner.__file__).resolve().parents[1]),  # which checkout's ppo_suite was measured
        "rollout_mismatch": statistics.median(m["ppo/rollout_mismatch"] for m in metrics if "ppo/rollout_mismatch" in m)
        if any("ppo/rollout_mismatch" in m for m in metrics) else None,
    }


def _watch_policy(runner, calls: list, weights: dict) -> None:
    """Hook the trunk of the policy the runner builds, recording each forward as (kind, rows, length).

    kind: `generate` (a cached decoding step), `no_grad` (a whole-sequence pass without gradients: log-probs
    or values of the rollout) or `train` (a pass with gradients). The runner builds its policy inside `run`,
    so its loader is wrapped.
    """
    load_policy = runner.load_policy

    def record(module, args, kwargs) -> None:
        kind = "generate" if kwargs.get("use_cache") else "train" if torch.is_grad_enabled() else "no_grad"
        calls.append((kind, *kwargs["input_ids"].shape))

    def watched(*args, **kwargs):
        policy = load_policy(*args, **kwargs)
        policy.causal_lm.base_model.register_forward_pre_hook(record, with_kwargs=True)
        weights["frozen"] = sum(p.numel() * p.element_size() for p in policy.parameters() if not p.requires_grad)
        weights["trainable"] = sum(p.numel() for p in policy.parameters() if p.requires_grad)
        return policy

    runner.load_policy = watched


# The runner's phases of an iteration, by the functions it calls for them.
PHASE_FUNCTIONS = {"generate": "generate", "reward": "score", "reference": "reference_logprobs", "optimise": "_ppo_epochs"}


def _watch_phases(runner, device: torch.device) -> list[dict]:
    """The process's peak memory as each phase of each iteration starts and ends: where it rises set the peak."""
    peaks: list[dict] = []

    def watched(phase: str, function):
        def call(*args, **kwargs):
            before = peak_memory(device)
            result = function(*args, **kwargs)
            peaks.append({"phase": phase, "before": before, "after": peak_memory(device)})
            return result
        return call

    for phase, name in PHASE_FUNCTIONS.items():
        setattr(runner, name, watched(phase, getattr(runner, name)))
    return peaks


def _passes(calls: list[tuple[str, int, int]], batch: int, steps: int) -> dict:
    """Passes over the rollout batch per iteration, from the trunk forwards in the order they ran."""
    rows = {"no_grad": 0, "train": 0}
    after_training = 0  # no-grad passes that ran after a training pass of the same iteration
    trained = False
    for kind, n, length in calls:
        if kind == "generate":
            trained = False  # a new rollout: the next iteration
            continue
        rows[kind] += n
        after_training += n if kind == "no_grad" and trained else 0
        trained = trained or kind == "train"
    lengths = sorted({length for kind, _, length in calls if kind != "generate"})
    return {
        "no_grad": rows["no_grad"] / (batch * steps),
        "train": rows["train"] / (batch * steps),
        "no_grad_after_training": after_training / (batch * steps),
        "sequence_lengths": lengths,
    }


def floor(cfg, warmup: int, iterations: int) -> dict:
    """Seconds of plain transformers calls on the same model and batch, per phase, one list entry per iteration."""
    from ppo_suite.models import load_model, model_source, resolve_device
    from ppo_suite.runner import clock

    device = resolve_device(cfg.hardware.device)
    source = model_source(cfg.model)
    encoded, config = _batch(cfg, device)
    times: dict[str, list[float]] = {phase: [] for phase in FLOOR_PHASES}
    model = load_model(source, cfg.model, cfg.hardware, device)
    for _ in range(warmup + iterations):
        sequences, seconds = _inference(model, encoded, config, device)
        for phase, t in seconds.items():
            times[phase].append(t)
    del model

    lm = _plain_lora_model(cfg, device)
    optimizer = torch.optim.AdamW([p for p in lm.parameters() if p.requires_grad], lr=cfg.ppo.learning_rate)
    times["generate_with_adapter"] = []  # not part of the floor: what the unmerged adapter adds to decoding
    for _ in range(warmup + iterations):
        lm.eval()
        times["generate_with_adapter"].append(_generate(lm, encoded, config, device)[1])
        start = clock(device)
        _train(lm, optimizer, sequences, _attention(encoded, sequences), config.max_new_tokens, cfg)
        times["optimize"].append(clock(device) - start)
    return {
        "iterations": [{phase: t[i] for phase, t in times.items()} for i in range(warmup, warmup + iterations)],
        "tokens": len(sequences) * config.max_new_tokens,
    }


def _train(lm, optimizer, sequences: torch.Tensor, attention: torch.Tensor, n_new: int, cfg) -> None:
    """`ppo_epochs` forward+backward passes over the batch in the runner's micro-batches, a step per mini-batch."""
    from ppo_suite.runner import Sizes

    sizes = Sizes.from_config(cfg)
    lm.train()
    for _ in range(cfg.ppo.ppo_epochs):
        for mini in torch.randperm(sizes.batch).split(sizes.mini_batch):
            for micro in mini.split(sizes.micro_batch):
                ids, attn = sequences[micro], attention[micro]
                logits = lm(input_ids=ids, attention_mask=attn, logits_to_keep=n_new + 1).logits[:, :-1]
                loss = torch.nn.functional.cross_entropy(logits.flatten(0, 1).float(), ids[:, -n_new:].flatten())
                (loss / sizes.accumulation).backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)


def _plain_lora_model(cfg, device):
    """The LoRA model the runner trains, as plain transformers calls run it: without autocast (the floor is fp32's,
    whatever the variant's compute mode), so with the weights as loaded, none stored narrow for autocast."""
    from ppo_suite.models import load_policy, model_source

    hardware = cfg.hardware.copy()
    hardware.autocast = "off"
    return load_policy(model_source(cfg.model), cfg.model, hardware, device).lm


def child_inference(cfg, warmup: int) -> dict:
    """The base model's peak memory for generate + one no-grad forward at the benchmark's batch."""
    from ppo_suite.models import load_model, model_source, resolve_device

    device = resolve_device(cfg.hardware.device)
    _same_allocator(cfg)
    before = peak_memory(device)
    encoded, config = _batch(cfg, device)
    model = load_model(model_source(cfg.model), cfg.model, cfg.hardware, device)
    for _ in range(warmup + 1):
        with _autocast(cfg, device):  # the same compute mode as the PPO run it is compared with
            _inference(model, encoded, config, device)
    return {
        "memory_before_model": before,
        "peak_memory": peak_memory(device),
        "parameters": model.num_parameters(),
        "weights": sum(p.numel() * p.element_size() for p in model.parameters()),  # bytes, as the policy's are counted
        "flops": iteration_flops(model, cfg),
    }


def _same_allocator(cfg) -> None:
    """The C allocator's setting the PPO run has (`hardware.host_mmap_threshold_mib`), so that memory compares."""
    threshold = cfg.hardware.get("host_mmap_threshold_mib")  # older code (--baseline) has no such setting
    if threshold:
        from ppo_suite.models import set_host_mmap_threshold

        set_host_mmap_threshold(threshold)


def _autocast(cfg, device):
    import contextlib

    from ppo_suite.models import autocast_dtype

    dtype = autocast_dtype(cfg.hardware.autocast, device)
    return contextlib.nullcontext() if dtype is None else torch.autocast(device.type, dtype=dtype)


def iteration_flops(model, cfg) -> dict:
    """Matmul FLOPs of one iteration at the bench's shape, from the model's linear layers (attention scores left out).

    Per token a linear layer of n weights costs 2n FLOPs forward and, for a frozen weight under LoRA, 2n backward
    (the input's gradient only). The LM head runs on the response positions only, except in decoding where every
    step needs it anyway. Generation, the reference pass and each epoch's forward see prompt+response tokens.
    """
    head = model.get_output_embeddings()
    head_weights = head.weight.numel()
    # By shape: a 4-bit layer (bitsandbytes' Linear4bit, an nn.Linear) stores two weights per element.
    trunk_weights = sum(m.in_features * m.out_features for m in model.modules()
                        if isinstance(m, torch.nn.Linear) and m is not head)
    batch, prompt, new = cfg.ppo.batch_size, cfg.task.max_prompt_tokens, cfg.generation.max_new_tokens
    one_pass = 2 * (trunk_weights * batch * (prompt + new) + head_weights * batch * new)
    passes = {"generate": 1, "reference": 1, "optimise": 2 * cfg.ppo.ppo_epochs}  # backward = forward once more
    return {phase: n * one_pass for phase, n in passes.items()} | {"linear_weights": trunk_weights + head_weights}


def matmul_rates(largest: int = 2048, repeats: int = 10, budget_s: float = 0.5) -> dict[str, dict[str, float]]:
    """GFLOP/s of square matmuls in fp32 and bf16 on this CPU, best of `repeats` after a warm-up, at `largest`² or,
    where one product would take over `budget_s`, at the largest power-of-two size under it: without bf16
    instructions a 2048² bf16 product takes a minute."""
    from ppo_suite.models import matmul_seconds

    rates = {}
    for name, dtype in (("float32", torch.float32), ("bfloat16", torch.bfloat16)):
        size = 256
        while size < largest and 8 * matmul_seconds(dtype, size, repeats=1) <= budget_s:
            size *= 2
        rates[name] = {"gflops": 2 * size**3 / matmul_seconds(dtype, size, repeats) / 1e9, "size": size}
    return rates


def too_slow_to_measure(cfg, rates: dict[str, dict[str, float]]) -> str | None:
    """Why a variant is not run on this CPU, or None: it computes in bf16 where bf16 matmuls have no fast kernel
    (an iteration would take hours)."""
    from ppo_suite.models import DTYPES, SLOW_BF16_SPEEDUP, autocast_dtype, resolve_device

    device = resolve_device(cfg.hardware.device)
    compute = autocast_dtype(cfg.hardware.autocast, device) or DTYPES.get(cfg.hardware.dtype, torch.float32)
    if device.type != "cpu" or compute is not torch.bfloat16 or not rates:
        return None
    speed = rates["bfloat16"]["gflops"] / rates["float32"]["gflops"]
    if speed >= SLOW_BF16_SPEEDUP:
        return None
    return (f"it computes in bf16, and a bf16 matmul runs at {speed:.3f}x fp32's speed on this CPU "
            f"({rates['bfloat16']['gflops']:.2g} against {rates['float32']['gflops']:.0f} GFLOP/s): no fast bf16 kernel")


def child_training(cfg, warmup: int) -> dict:
    """Peak memory of plain LoRA training at the runner's micro-batches: what backpropagation alone needs."""
    from ppo_suite.models import resolve_device

    device = resolve_device(cfg.hardware.device)
    _same_allocator(cfg)
    before = peak_memory(device)
    encoded, config = _batch(cfg, device)
    lm = _plain_lora_model(cfg, device)
    optimizer = torch.optim.AdamW([p for p in lm.parameters() if p.requires_grad], lr=cfg.ppo.learning_rate)
    with torch.no_grad():
        sequences = lm.generate(**encoded, generation_config=config)
    for _ in range(warmup + 1):
        _train(lm, optimizer, sequences, _attention(encoded, sequences), config.max_new_tokens, cfg)
    return {"memory_before_model": before, "peak_memory": peak_memory(device)}


def child_profile(cfg, warmup: int) -> dict:
    """torch.profiler's top ops over exactly one PPO iteration, the one after the warm-up."""
    from torch.profiler import ProfilerActivity, profile, schedule

    from ppo_suite import runner

    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if torch.cuda.is_available() else [])
    # The runner seeds each step first: advancing the profiler there makes its steps the runner's. Profiler
    # step k + 1 is runner step k (step 0 is the set-up), so runner step `warmup` is the active one, and it
    # ends when step `warmup + 1` starts: the run has warmup + 2 steps.
    seed_step = runner.seed_step
    with profile(activities=activities, schedule=schedule(wait=warmup, warmup=1, active=1, repeat=1)) as prof:
        runner.seed_step = lambda seed, step: (prof.step(), seed_step(seed, step))
        with tempfile.TemporaryDirectory() as run_dir:
            runner.run(cfg, run_dir=Path(run_dir))
    sort = "self_cuda_time_total" if torch.cuda.is_available() else "self_cpu_time_total"
    return {"table": prof.key_averages().table(sort_by=sort, row_limit=20)}


def _batch(cfg, device):
    """The first `ppo.batch_size` training prompts, encoded as the runner encodes them, and the sampling settings."""
    from ppo_suite.models import load_tokenizer, model_source
    from ppo_suite.rollout import generation_config
    from ppo_suite.tasks import load_task

    tokenizer = load_tokenizer(model_source(cfg.model), cfg.model)
    tokenizer.truncation_side = "left"
    prompts = [r["prompt"] for r in load_task(cfg.task).train[: cfg.ppo.batch_size]]
    encoded = tokenizer(
        prompts, return_tensors="pt", padding=True, truncation=True, max_length=cfg.task.max_prompt_tokens
    ).to(device)
    return encoded, generation_config(cfg.generation, tokenizer, [tokenizer.eos_token_id])


def _attention(encoded, sequences: torch.Tensor) -> torch.Tensor:
    new = sequences.shape[1] - encoded["attention_mask"].shape[1]
    return torch.cat([encoded["attention_mask"], encoded["attention_mask"].new_ones(len(sequences), new)], dim=1)


@torch.no_grad()
def _generate(model, encoded, config, device) -> tuple[torch.Tensor, float]:
    """Plain `generate`: the sequences and the seconds it took."""
    from ppo_suite.runner import clock

    start = clock(device)
    sequences = model.generate(**encoded, generation_config=config)
    return sequences, clock(device) - start


@torch.no_grad()
def _inference(model, encoded, config, device) -> tuple[torch.Tensor, dict[str, float]]:
    """Plain `generate`, then one forward over prompt+response with logits on the response positions only."""
    from ppo_suite.runner import clock

    sequences, generate_seconds = _generate(model, encoded, config, device)
    start = clock(device)
    model(input_ids=sequences, attention_mask=_attention(encoded, sequences), logits_to_keep=config.max_new_tokens + 1)
    return sequences, {"generate": generate_seconds, "forward": clock(device) - start}


# --- the process that reports ----------------------------------------------------------------------------


def run_child(role: str, model: str, variant: list[str], code: Path, args: argparse.Namespace, argv: list[str]) -> dict:
    """One measuring process, importing `ppo_suite` from `code` (this checkout, or a --baseline worktree)."""
    with tempfile.TemporaryDirectory() as tmp:
        result = Path(tmp) / "result.json"
        command = [sys.executable, __file__, *argv, "--child", role, "--model", model, "--result", str(result),
                   "--variant-overrides", ",".join(variant)]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(code), os.environ.get("PYTHONPATH", "")])}
        subprocess.run(command, check=True, env=env)
        return json.loads(result.read_text())


def baseline_worktree(rev: str, parent: Path) -> Path:
    """A detached git worktree of `rev`, for measuring older code with this script."""
    path = parent / f"baseline-{rev}"
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "--force", str(path), rev], check=True,
                   stdout=subprocess.DEVNULL)
    return path


def summarise(model: str, ppo: dict, inference: dict, training: dict) -> dict:
    median = {phase: statistics.median(it[phase] for it in ppo["iterations"]) for phase in [*PHASES, "step"]}
    median["step_without_reward"] = statistics.median(it["step"] - it["reward"] for it in ppo["iterations"])
    floor_runs = ppo["floor"]["iterations"]
    floor_median = {phase: statistics.median(it[phase] for it in floor_runs) for phase in floor_runs[0]}
    floor_median["total"] = statistics.median(sum(it[phase] for phase in FLOOR_PHASES) for it in floor_runs)
    fast = ppo["compute_dtype"] != "float32"
    ratios = {
        "iteration_over_floor": median["step_without_reward"] / floor_median["total"],
        "iteration_with_reward_over_floor": median["step"] / floor_median["total"],
        "memory_over_inference": ppo["peak_memory"] / inference["peak_memory"],
        "training_memory_over_inference": training["peak_memory"] / inference["peak_memory"],
        "memory_over_training": ppo["peak_memory"] / training["peak_memory"],
    }
    passes = ppo["passes"]
    peaks = ppo["phase_peaks"]
    raised_by = {phase: sum(p["after"] - p["before"] for p in peaks if p["phase"] == phase) for phase in PHASE_FUNCTIONS}
    return {
        "model": model,
        "parameters": inference["parameters"],
        "trainable_parameters": ppo["weights"]["trainable"],
        "base_weight_copies": ppo["weights"]["frozen"] / inference["weights"],
        "threads": ppo["threads"],
        "micro_batch": ppo["micro_batch"],
        "gradient_checkpointing": ppo["gradient_checkpointing"],
        "compute_dtype": ppo["compute_dtype"],
        "rollout_mismatch": ppo["rollout_mismatch"],
        "flops": inference["flops"],
        "ppo": {"median_seconds": median, "iterations": ppo["iterations"],
                "generated_tokens_per_sec": statistics.median(it["tokens_per_sec"] for it in ppo["iterations"]),
                "passes_per_iteration": passes, "peak_memory": ppo["peak_memory"],
                "memory_before_model": ppo["memory_before_model"],
                "peak_before_first_iteration": peaks[0]["before"], "peak_raised_by": raised_by},
        "floor": {"median_seconds": floor_median, "iterations": floor_runs,
                  "generated_tokens_per_sec": ppo["floor"]["tokens"] / floor_median["generate"]},
        "inference": inference,
        "training": training,
        "ratios": ratios,
        "targets": {
            "time": ratios["iteration_over_floor"] <= TARGETS["time_fast" if fast else "time"],
            "no_grad_passes": passes["no_grad"] <= TARGETS["no_grad_passes"] and passes["no_grad_after_training"] == 0,
            "memory": ratios["memory_over_inference"] <= TARGETS["memory"],
        },
    }


def cpu_name() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    lines = cpuinfo.read_text().splitlines() if cpuinfo.exists() else []
    return next((line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")), platform.processor())


def code_commit(root: Path) -> str:
    """The checkout's commit, with `+uncommitted changes` when its tracked files differ from it."""
    def git(*command: str) -> str:
        return subprocess.run(["git", "-C", str(root), *command], capture_output=True, text=True).stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "unknown (not a git checkout)"
    return commit + (" +uncommitted changes" if git("status", "--porcelain", "--untracked-files=no") else "")


def environment(args: argparse.Namespace, argv: list[str]) -> dict:
    versions = {"python": platform.python_version()}
    for package in ("torch", "transformers", "peft", "bitsandbytes", "sentence-transformers"):
        versions[package] = metadata.version(package)
    return {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "commit": code_commit(ROOT),
        "command": " ".join(["python", os.path.relpath(__file__, ROOT), *argv]),
        "cpu": cpu_name(),
        "cpu_cores": os.cpu_count(),
        "gpu": torch.cuda.get_device_name(args.device) if args.device.startswith("cuda") else None,
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "versions": versions,
        "settings": {"shape": SHAPE, "hardware": hardware_overrides(args), "overrides": args.overrides,
                     "variants": variants(args), "baseline": args.baseline,
                     "warmup": args.warmup, "iterations": args.iterations},
    }


def against_fp32_floor(results: list[dict]) -> None:
    """The time target of a faster compute mode is on the floor of plain fp32 calls at the bench's settings: the
    floor of the same model's and code's fp32 variant without gradient checkpointing, where the run has one (a
    variant's own floor runs at its micro-batch and checkpointing, which for a low-memory preset is ~2x slower)."""
    for r in results:
        r["fp32_floor_from"] = r["label"]
        if r["compute_dtype"] == "float32":
            continue
        plain = next((f for f in results if f["model"] == r["model"] and f["code"] == r["code"]
                      and f["compute_dtype"] == "float32" and not f["gradient_checkpointing"]), None)
        if plain is None:
            continue
        r["fp32_floor_from"] = plain["label"]
        r["ratios"]["iteration_over_fp32_floor"] = (
            r["ppo"]["median_seconds"]["step_without_reward"] / plain["floor"]["median_seconds"]["total"])
        r["targets"]["time"] = r["ratios"]["iteration_over_fp32_floor"] <= TARGETS["time_fast"]


def markdown(env: dict, results: list[dict], profiles: dict[str, str]) -> str:
    def seconds(d: dict, keys: list[str]) -> str:
        return " / ".join(f"{d[k]:.2f}" for k in keys)

    def mark(ok: bool) -> str:
        return "yes" if ok else "**no**"

    gib = 2**30
    header = "| | " + " | ".join(f"`{r['label']}` ({r['parameters'] / 1e6:.1f}M)" for r in results) + " |"
    rates = env.get("matmul_rates") or {}

    def flop_limit(r: dict) -> str:
        total = sum(r["flops"][p] for p in ("generate", "reference", "optimise"))
        amount = f"{total / 1e12:.2f} TFLOP" if total >= 1e11 else f"{total / 1e9:.2f} GFLOP"
        if not rates:
            return amount
        fp32, bf16 = rates["float32"]["gflops"], rates["bfloat16"]["gflops"]
        return f"{amount}: {total / 1e9 / fp32:.2g} s fp32 / {total / 1e9 / bf16:.2g} s bf16"
    rows = [
        ("compute dtype (autocast or weights)", lambda r: r["compute_dtype"]),
        ("micro-batch; gradient checkpointing",
         lambda r: f"{r['micro_batch']}; {'on' if r['gradient_checkpointing'] else 'off'}"),
        ("PPO s/iteration: generate / reward / reference pass / optimise",
         lambda r: seconds(r["ppo"]["median_seconds"], PHASES)),
        ("floor s/iteration: generate / forward / forward+backward",
         lambda r: seconds(r["floor"]["median_seconds"], FLOOR_PHASES)),
        ("PPO phase / its floor: generate, reference pass, optimise",
         lambda r: ", ".join(f"{r['ppo']['median_seconds'][p] / r['floor']['median_seconds'][p]:.2f}" for p in FLOOR_PHASES)),
        ("of which the LoRA adapter in decoding: plain generate with it / without it",
         lambda r: f"{r['floor']['median_seconds']['generate_with_adapter'] / r['floor']['median_seconds']['generate']:.2f}"),
        ("PPO s/iteration without reward / with reward", lambda r: seconds(r["ppo"]["median_seconds"], ["step_without_reward", "step"])),
        ("floor s/iteration", lambda r: f"{r['floor']['median_seconds']['total']:.2f}"),
        ("iteration / its own floor (plain fp32 calls at its micro-batch and checkpointing), without the reward",
         lambda r: f"{r['ratios']['iteration_over_floor']:.2f}"),
        (f"**iteration / fp32 floor**, without the reward (target ≤ {TARGETS['time']} in fp32; ≤ {TARGETS['time_fast']} "
         "in a faster dtype, on the floor of the fp32 variant without checkpointing)",
         lambda r: f"{r['ratios'].get('iteration_over_fp32_floor', r['ratios']['iteration_over_floor']):.2f}"
                   + (f" of `{r['fp32_floor_from']}`'s" if r.get("fp32_floor_from", r["label"]) != r["label"] else "")
                   + f" ({mark(r['targets']['time'])})"),
        ("FLOP limit of an iteration (matmuls at the measured rate)", flop_limit),
        ("rollout-vs-training mismatch, mean \\|ratio − 1\\| before the first update",
         lambda r: "n/a" if r["rollout_mismatch"] is None else f"{r['rollout_mismatch']:.2g}"),
        ("iteration / floor, with the reward", lambda r: f"{r['ratios']['iteration_with_reward_over_floor']:.2f}"),
        ("generated tokens/s: PPO / floor",
         lambda r: f"{r['ppo']['generated_tokens_per_sec']:.0f} / {r['floor']['generated_tokens_per_sec']:.0f}"),
        (f"**no-grad passes** over the batch per iteration (target ≤ {TARGETS['no_grad_passes']}, none after training)",
         lambda r: f"{r['ppo']['passes_per_iteration']['no_grad']:g}, {r['ppo']['passes_per_iteration']['no_grad_after_training']:g} "
                   f"({mark(r['targets']['no_grad_passes'])})"),
        ("training passes per iteration (= PPO epochs)", lambda r: f"{r['ppo']['passes_per_iteration']['train']:g}"),
        ("copies of the base weights (frozen bytes / the base model's as loaded)", lambda r: f"{r['base_weight_copies']:.2f}"),
        ("peak memory GiB: PPO / plain LoRA training / base inference",
         lambda r: " / ".join(f"{r[k]['peak_memory'] / gib:.2f}" for k in ("ppo", "training", "inference"))),
        ("PPO peak GiB: before the first iteration (model, reward, optimizer); then raised by generate / reward / "
         "reference / optimise", lambda r: f"{r['ppo']['peak_before_first_iteration'] / gib:.2f}; " + " / ".join(
             f"+{r['ppo']['peak_raised_by'][phase] / gib:.2f}" for phase in PHASE_FUNCTIONS)),
        (f"**memory / base inference** (target ≤ {TARGETS['memory']})",
         lambda r: f"{r['ratios']['memory_over_inference']:.2f} ({mark(r['targets']['memory'])})"),
        ("plain LoRA training / base inference; PPO / plain LoRA training",
         lambda r: f"{r['ratios']['training_memory_over_inference']:.2f}; {r['ratios']['memory_over_training']:.2f}"),
        ("GiB before any model is loaded (interpreter, torch): PPO / base inference",
         lambda r: f"{r['ppo']['memory_before_model'] / gib:.2f} / {r['inference']['memory_before_model'] / gib:.2f}"),
    ]
    s, load = env["settings"], env["load_average"]
    reward = next((o for o in s["overrides"] if o.lstrip("+").startswith("reward=")), None)  # else the ads reward
    reward_note = (f"The reward ({f'`{reward}`' if reward else 'sentence embeddings'}) has no floor counterpart: the "
                   "time target is on the iteration without it; with it is shown beside.")
    lines = [
        "# PPO benchmark",
        "",
        f"`{env['command']}` on {env['date']}, at commit {env.get('commit', 'unknown')}.",
        "",
        f"- Machine: {env['cpu']}, {env['cpu_cores']} cores, {env['memory_gib']} GiB"
        + (f"; GPU: {env['gpu']}" if env["gpu"] else "")
        + f"; torch threads: {results[0]['threads']}; load average {load[0]:.1f} before, {load[1]:.1f} after"
        + (" (above the core count: other work shared the machine, so the times are inflated and noisy)."
           if max(load) > env["cpu_cores"] else "."),
        "- Libraries: " + ", ".join(f"{k} {v}" for k, v in env["versions"].items()) + ".",
        *(["- Square matmuls in this run: " + ", ".join(
            f"{r['gflops']:.3g} GFLOP/s in {'fp32' if name == 'float32' else 'bf16'} ({r['size']}²)"
            for name, r in rates.items()) + "."] if rates else []),
        (f"- Shape: 16 prompts of 32 tokens, 32 new tokens (forced), 2 PPO epochs × 2 mini-batches, "
         f"LoRA r=8 on all linear layers; {', '.join(s['hardware'] + s['overrides'])}. "
         f"Medians over {s['iterations']} iterations after {s['warmup']} warm-up."),
        "",
        header,
        "|---|" + "---|" * len(results),
        *[f"| {name} | " + " | ".join(cell(r) for r in results) + " |" for name, cell in rows],
        "",
        ("The floor is plain transformers on the same model and batch: the base model's `generate` and one no-grad "
         "forward (logits on the response positions only), then the LoRA model's forward+backward passes with a "
         f"cross-entropy loss and an AdamW step per mini-batch. {reward_note} Peak memory is "
         "the process's peak resident set on a CPU (the CUDA allocator's peak on a GPU); PPO, plain LoRA training "
         "(the floor's forward+backward passes) and base inference each run in a process of their own, with the "
         "variant's autocast and C allocator settings."
         + ("" if reward else " The PPO process also holds the reward's sentence embedder.")),
    ]
    if env.get("skipped"):
        lines += ["", "Not measured:", *[f"- `{label}`: {why}" for label, why in env["skipped"].items()]]
    for model, table in profiles.items():
        lines += ["", f"## Where one PPO iteration of `{model}` spends its time (torch.profiler, top ops)", "",
                  "```", table.rstrip(), "```"]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    if args.child:
        steps = args.warmup + (2 if args.child == "profile" else args.iterations)  # profile: see child_profile
        cfg = compose_config(args.model, args, steps, [o for o in args.variant_overrides.split(",") if o])
        child = {"ppo": child_ppo, "inference": child_inference, "training": child_training, "profile": child_profile}[args.child]
        args.result.write_text(json.dumps(child(cfg, args.warmup)))
        return

    from ppo_suite.models import model_source
    from ppo_suite.stages import build_embedded

    load_before = os.getloadavg()[0]
    for model in args.models:  # build, convert (a GGUF file) or find every model first: that is not what is measured
        cfg = compose_config(model, args, 1)
        build_embedded.run(cfg)
        model_source(cfg.model)
    rates = matmul_rates() if not args.device.startswith("cuda") else {}
    results, profiles, skipped = [], {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        codes = [("", ROOT)] + ([(args.baseline, baseline_worktree(args.baseline, Path(tmp)))] if args.baseline else [])
        for rev, code in codes:
            for model in args.models:
                for name, variant in variants(args).items():
                    label = f"{model} {name}" + (f" @ {rev}" if rev else "")
                    why = too_slow_to_measure(compose_config(model, args, 1, variant), rates)
                    if why:
                        print(f"bench: {label}: skipped, {why}", file=sys.stderr)
                        skipped[label] = why
                        continue
                    print(f"bench: {label}: base inference peak memory", file=sys.stderr)
                    try:
                        inference = run_child("inference", model, variant, code, args, argv)
                    except subprocess.CalledProcessError:
                        if not rev:
                            raise
                        # e.g. a preset or setting newer than the baseline: its config rejects the variant
                        skipped[label] = f"the code of {rev} cannot run this variant"
                        print(f"bench: {label}: skipped, {skipped[label]}", file=sys.stderr)
                        continue
                    print(f"bench: {label}: plain LoRA training peak memory", file=sys.stderr)
                    training = run_child("training", model, variant, code, args, argv)
                    print(f"bench: {label}: PPO iterations, then the floor", file=sys.stderr)
                    ppo = run_child("ppo", model, variant, code, args, argv)
                    if Path(ppo["code"]) != code.resolve():
                        sys.exit(f"bench: {label} imported ppo_suite from {ppo['code']}, not from {code}")
                    results.append(summarise(model, ppo, inference, training) | {
                        "variant": name, "variant_overrides": variant, "code": rev or "this checkout", "label": label})
                    if args.profile:
                        print(f"bench: {label}: profiling one PPO iteration", file=sys.stderr)
                        profiles[label] = run_child("profile", model, variant, code, args, argv)["table"]
        if args.baseline:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "prune"], check=False)
    against_fp32_floor(results)
    env = environment(args, argv) | {"load_average": [load_before, os.getloadavg()[0]], "matmul_rates": rates,
                                     "skipped": skipped}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps({"environment": env, "models": results}, indent=2) + "\n")
    report = markdown(env, results, profiles)
    (args.out / "results.md").write_text(report)
    print(report)


if __name__ == "__main__":
    main()
