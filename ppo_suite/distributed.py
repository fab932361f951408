"""Data-parallel PPO: the ranks of `torchrun` / `accelerate launch`, and the few collectives the runner needs.

Every rank samples and trains on its own slice of the global batch; gradients are averaged across ranks before
clipping, so every rank takes the same optimizer step and the adapters stay bit-identical. What the runner
normalises, controls or logs with (reward moments, advantage whitening, the KL controller, metrics) is computed
over the global batch. Only rank 0 writes files and logs. With one process every call here is the identity.
"""

from __future__ import annotations

import contextlib
import datetime
import functools
import os
from dataclasses import dataclass
from typing import Sequence

import torch
import torch.distributed as dist

from ppo_suite import ppo_math as pm
from ppo_suite.errors import ConfigError, PPOSuiteError


@dataclass(frozen=True)
class Ranks:
    rank: int = 0
    world: int = 1
    device: str = "cpu"  # where collectives run: the rank's GPU under NCCL, the CPU under gloo

    @property
    def main(self) -> bool:
        return self.rank == 0

    def shard(self, items: Sequence) -> list:
        """This rank's contiguous slice of a global batch (whole prompts' groups, when the batch divides)."""
        if len(items) % self.world:
            raise ConfigError(f"a batch of {len(items)} does not split evenly over {self.world} processes")
        size = len(items) // self.world
        return list(items[self.rank * size : (self.rank + 1) * size])

    def gather(self, x: torch.Tensor) -> torch.Tensor:
        """The ranks' equal-length 1-D tensors, concatenated in rank order."""
        if self.world == 1:
            return x
        local = x.to(self.device).contiguous()
        parts = [torch.empty_like(local) for _ in range(self.world)]
        dist.all_gather(parts, local)
        return torch.cat(parts).to(x.device)

    def sum(self, x: torch.Tensor) -> torch.Tensor:
        if self.world == 1:
            return x
        total = x.to(self.device, copy=True)
        dist.all_reduce(total)
        return total.to(x.device)

    def mean_of(self, values: dict[str, float]) -> dict[str, float]:
        """Each value averaged over the ranks (per-rank means of equal-sized slices: the global mean)."""
        if self.world == 1 or not values:
            return values
        means = self.sum(torch.tensor(list(values.values()), dtype=torch.float64)) / self.world
        return dict(zip(values, means.tolist()))

    def masked_moments(self, x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and unbiased variance of the unmasked entries of every rank's `x` (as `ppo_math.masked_var`)."""
        if self.world == 1:
            return pm.masked_mean(x, mask), pm.masked_var(x, mask)
        sums = self.sum(torch.stack([(x * mask).sum(), (x * x * mask).sum(), mask.sum()]).double())
        total, total_sq, n = sums.unbind()
        if n < 2:
            raise ValueError("masked moments need at least two unmasked values; raise the batch size")
        mean = total / n
        var = (total_sq / n - mean * mean) * n / (n - 1)
        return mean.to(x.dtype), var.clamp(min=0).to(x.dtype)

    def average_gradients(self, parameters: Sequence[torch.nn.Parameter]) -> None:
        """All-reduce and average the gradients in one flat buffer: every rank then holds the same gradient."""
        if self.world == 1:
            return
        grads = [p.grad for p in parameters if p.grad is not None]
        flat = torch.cat([g.reshape(-1) for g in grads])
        dist.all_reduce(flat)
        flat /= self.world
        offset = 0
        for g in grads:
            g.copy_(flat[offset : offset + g.numel()].view_as(g))
            offset += g.numel()

    def gather_objects(self, value) -> list:
        """Every rank's picklable `value`, in rank order."""
        if self.world == 1:
            return [value]
        values = [None] * self.world
        dist.all_gather_object(values, value)
        return values

    def broadcast_parameters(self, parameters: Sequence[torch.nn.Parameter]) -> None:
        """Rank 0's values everywhere: every rank starts from the same weights."""
        if self.world == 1:
            return
        for p in parameters:
            dist.broadcast(p.data, src=0)

    def check_identical(self, parameters: Sequence[torch.nn.Parameter]) -> None:
        """Stop with an error if the ranks' weights differ (they must not: every step is the same on every rank)."""
        if self.world == 1:
            return
        checksum = torch.stack([p.detach().double().sum() for p in parameters]).sum().reshape(1)
        checksums = self.gather(checksum)
        if not torch.equal(checksums, checksum.expand_as(checksums)):
            raise PPOSuiteError(f"the data-parallel ranks' weights diverged (checksums {checksums.tolist()})")

    @contextlib.contextmanager
    def main_first(self):
        """Rank 0 runs the block first, the others after it: what it builds into the cache (transformers writes
        model files from rank 0 only) the others then find there."""
        if not self.main:
            dist.barrier()
        yield
        if self.main and self.world > 1:
            dist.barrier()

    def broadcast_object(self, value):
        if self.world == 1:
            return value
        box = [value]
        dist.broadcast_object_list(box, src=0)
        return box[0]


@functools.lru_cache(maxsize=1)
def ranks() -> Ranks:
    """This process's place among the launcher's processes (WORLD_SIZE/RANK, set by torchrun and accelerate), or
    in a process group already set up; the group is created on first use: NCCL where CUDA is available, else gloo."""
    if not dist.is_initialized():
        if int(os.environ.get("WORLD_SIZE", "1")) == 1:
            return Ranks()
        if torch.cuda.is_available():
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        # Rank 0 alone runs the held-out evaluations while the others wait at their next collective: a long timeout.
        dist.init_process_group(_backend(), timeout=datetime.timedelta(hours=2))
    device = f"cuda:{torch.cuda.current_device()}" if dist.get_backend() == "nccl" else "cpu"
    return Ranks(dist.get_rank(), dist.get_world_size(), device)


def ensure_process_group() -> None:
    """A process group even for a single process, for DeepSpeed's ZeRO optimizer, which runs its collectives in one."""
    if not dist.is_initialized():
        dist.init_process_group(_backend(), store=dist.HashStore(), rank=0, world_size=1)


def _backend() -> str:
    return "nccl" if torch.cuda.is_available() else "gloo"
