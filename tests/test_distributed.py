"""Data-parallel PPO on CPU: two gloo processes split the global batch, end with bit-identical weights, and
match one process on the same global batch, with gradients all-reduced or with DeepSpeed's ZeRO-2 optimizer
(which also checkpoints and resumes); through torchrun, one run dir with one log."""

import json
import os
import shutil
import subprocess
import sys

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from conftest import ROOT, TINY_RUN, make_config
from ppo_suite.distributed import Ranks
from ppo_suite.runner import run

# One mini-batch per epoch, fixed-length greedy rollouts, fp32, and old log-probs from a forward pass (sampling numerics
# depend on how prompts are batched): one process's update over the 4 sequences is the
# average of two processes' updates over 2 each, so the two runs agree up to float rounding.
SAME_GLOBAL_BATCH = [
    *TINY_RUN, "ppo.num_mini_batches=1", "hardware.micro_batch_size=2", "generation.top_k=1",
    "generation.min_new_tokens=8", "ppo.recompute_logprobs=true", "hardware.autocast=off", "eval.num_prompts=0",
]


def _final_weights_to(path):
    """Wrap Ranks.check_identical, which the runner calls with the trainable parameters once training is done,
    to save them to `path` first."""
    original = Ranks.check_identical

    def spy(self, parameters):
        torch.save([p.detach().clone() for p in parameters], path)
        original(self, parameters)

    return spy


def _rank(rank, world, init_file, run_dir, out_dir, overrides=SAME_GLOBAL_BATCH):
    torch.set_num_threads(1)
    os.environ["LOCAL_RANK"] = str(rank)  # as torchrun sets it
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world)
    Ranks.check_identical = _final_weights_to(out_dir / f"rank{rank}.pt")
    run(make_config(*overrides), run_dir=run_dir)
    # Both ranks leave together: once (2026-12-02), rank 1, done while rank 0 was still writing the summary,
    # aborted in its teardown ("terminate called without an active exception").
    dist.barrier()
    dist.destroy_process_group()


def test_two_gloo_ranks_end_identical_and_match_one_process(tmp_path, monkeypatch):
    monkeypatch.setattr(Ranks, "check_identical", _final_weights_to(tmp_path / "single.pt"))
    run(make_config(*SAME_GLOBAL_BATCH), run_dir=tmp_path / "single")  # also builds the tiny model into the cache
    monkeypatch.undo()

    mp.spawn(_rank, args=(2, tmp_path / "init", tmp_path / "ddp", tmp_path), nprocs=2)

    rank0, rank1 = torch.load(tmp_path / "rank0.pt"), torch.load(tmp_path / "rank1.pt")
    assert all(torch.equal(a, b) for a, b in zip(rank0, rank1, strict=True))  # bit-identical
    single = torch.load(tmp_path / "single.pt")
    initial = [p.detach() for p in _initial_weights()]
    for ddp, one, start in zip(rank0, single, initial, strict=True):
        update = (one - start).norm()
        assert (ddp - one).norm() <= 1e-3 * update + 1e-7, "the 2-process run left the 1-process run's path"
    assert sum((one - start).norm() for one, start in zip(single, initial)) > 0  # training moved the weights

    # Only rank 0 wrote: the 2 steps are logged once, and the run dir holds one final policy.
    lines = (tmp_path / "ddp" / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["step"] for line in lines] == [1, 2]
    assert (tmp_path / "ddp" / "final").is_dir()


# ZeRO-2 with two micro-batches per mini-batch on each rank (DeepSpeed accumulates them), a checkpoint every step.
ZERO_2 = [*SAME_GLOBAL_BATCH, "hardware.zero_stage=2", "hardware.micro_batch_size=1", "checkpoint_every=1"]


def test_zero2_ranks_match_one_process_and_resume_from_their_partitions(tmp_path, monkeypatch):
    monkeypatch.setattr(Ranks, "check_identical", _final_weights_to(tmp_path / "single.pt"))
    run(make_config(*SAME_GLOBAL_BATCH), run_dir=tmp_path / "single")  # plain AdamW, one process
    monkeypatch.undo()

    run_dir = tmp_path / "zero"
    mp.spawn(_rank, args=(2, tmp_path / "init", run_dir, tmp_path, ZERO_2), nprocs=2)
    rank0, rank1 = torch.load(tmp_path / "rank0.pt"), torch.load(tmp_path / "rank1.pt")
    assert all(torch.equal(a, b) for a, b in zip(rank0, rank1, strict=True))
    single = torch.load(tmp_path / "single.pt")
    for zero, one, start in zip(rank0, single, _initial_weights(), strict=True):
        assert (zero - one).norm() <= 1e-3 * (one - start).norm() + 1e-7, "ZeRO-2 left the 1-process run's path"

    # Each checkpoint holds both ranks' optimizer partitions, loadable as plain tensors: each rank kept the fp32
    # weights (and Adam's moments) of its own slice, together all of them.
    state = torch.load(run_dir / "checkpoints" / "step_000001" / "optimizer.pt", weights_only=True)
    slices = [sum(t.numel() for t in part["single_partition_of_fp32_groups"]) for part in state["zero_partitions"]]
    assert len(slices) == 2 and sum(slices) == sum(p.numel() for p in rank0) and max(slices) < sum(slices)
    # Resumed from step 1 on two ranks, the run ends where the uninterrupted one did.
    shutil.rmtree(run_dir / "checkpoints" / "step_000002")
    (tmp_path / "rank0.pt").unlink()  # written again only if the resumed run trains to the end
    mp.spawn(_rank, args=(2, tmp_path / "init_resume", None, tmp_path, [f"resume={run_dir}"]), nprocs=2)
    resumed = torch.load(tmp_path / "rank0.pt")
    assert all(torch.equal(a, b) for a, b in zip(resumed, rank0, strict=True))

    # On another number of ranks the partitions do not fit: a clear error, and the checkpoint stays.
    shutil.rmtree(run_dir / "checkpoints" / "step_000002")
    with pytest.raises(mp.ProcessRaisedException, match="split over 2 processes: resume it with 2, not 1"):
        mp.spawn(_rank, args=(1, tmp_path / "init_one", None, tmp_path, [f"resume={run_dir}"]), nprocs=1)
    assert (run_dir / "checkpoints" / "step_000001" / "optimizer.pt").is_file()


def test_a_zero_checkpoint_resumed_without_zero_is_refused():
    from ppo_suite.errors import ConfigError
    from ppo_suite.optimizer import AllReduceOptimizer

    ppo = make_config(*SAME_GLOBAL_BATCH).ppo
    optimizer = AllReduceOptimizer([torch.nn.Parameter(torch.zeros(2))], ppo, accumulation=1, ranks=Ranks())
    with pytest.raises(ConfigError, match="holds a ZeRO optimizer's state: resume it with the hardware.zero_stage"):
        optimizer.load_optimizer_state({"zero_partitions": [{}, {}]})


def test_the_zero2_preset_fully_fine_tunes_bf16_weights_on_two_ranks(tmp_path):
    overrides = [*SAME_GLOBAL_BATCH, "hardware=zero2", "hardware.device=cpu", "hardware.autocast=off",
                 "model.finetune=full", "hardware.micro_batch_size=1", "ppo.steps=1"]
    mp.spawn(_rank, args=(2, tmp_path / "init", tmp_path / "run", tmp_path, overrides), nprocs=2)
    rank0, rank1 = torch.load(tmp_path / "rank0.pt"), torch.load(tmp_path / "rank1.pt")
    assert all(torch.equal(a, b) for a, b in zip(rank0, rank1, strict=True))
    assert {p.dtype for p in rank0} == {torch.bfloat16, torch.float32}  # the preset's weights, the value head
    assert any(not torch.equal(a, b) for a, b in zip(rank0, _initial_weights(overrides), strict=True))


def _initial_weights(overrides=SAME_GLOBAL_BATCH):
    from ppo_suite.models import load_policy, model_source, resolve_device

    cfg = make_config(*overrides)
    torch.manual_seed(cfg.seed)  # as the runner seeds before loading the policy
    return load_policy(model_source(cfg.model), cfg.model, cfg.hardware, resolve_device("cpu")).trainable_parameters()


def test_torchrun_writes_one_run_dir_with_one_log(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m", "ppo_suite",
         *TINY_RUN, "ppo.num_mini_batches=1", "hardware.micro_batch_size=1"],
        cwd=tmp_path, capture_output=True, text=True, timeout=600,
        env={**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    (run_dir,) = tmp_path.glob("outputs/*/*")  # both ranks resolved the same dir
    steps = [json.loads(line)["step"] for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert steps == [0, 1, 2, 2]  # the initial evaluation, two PPO steps, the final evaluation: once each
    assert json.loads((run_dir / "summary.json").read_text())["final"]
    assert (run_dir / "__main__.log").read_text().count("summary") == 1  # rank 0's log only
