"""The optimizer side of a PPO update: AdamW over the policy's trainable weights, one step per mini-batch.

`build_optimizer` picks how data-parallel ranks take that step (`hardware.zero_stage`):
- 0, `AllReduceOptimizer`: every rank holds all of AdamW's state; gradients are averaged across ranks before
  clipping, so every rank takes the same step.
- 1 or 2, `ZeroOptimizer`: DeepSpeed's ZeRO optimizer. Each rank keeps AdamW's state (and at stage 2 the averaged
  gradients) of its own slice of the weights, updates that slice, and the slices are all-gathered: the same
  step, with the optimizer's memory divided by the number of ranks.

Both take `backward(loss)` for every micro-batch (the loss of that micro-batch, averaged over its tokens) and
`step()` once its mini-batch is done, which returns the gradient norm before clipping.
"""

from __future__ import annotations

import os

import torch

from ppo_suite.distributed import Ranks, ensure_process_group
from ppo_suite.errors import ConfigError


class AllReduceOptimizer:
    def __init__(self, parameters: list[torch.nn.Parameter], ppo, accumulation: int, ranks: Ranks) -> None:
        self.parameters, self.max_grad_norm, self.accumulation, self.ranks = parameters, ppo.max_grad_norm, accumulation, ranks
        self.optimizer = torch.optim.AdamW(parameters, lr=ppo.learning_rate, weight_decay=ppo.weight_decay)
        self.scheduler = _scheduler(self.optimizer, ppo)

    def backward(self, loss: torch.Tensor) -> None:
        (loss / self.accumulation).backward()

    def step(self) -> torch.Tensor:
        self.ranks.average_gradients(self.parameters)  # every rank then takes the same step
        grad_norm = torch.nn.utils.clip_grad_norm_(self.parameters, self.max_grad_norm)
        self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        return grad_norm

    def optimizer_state(self) -> dict:
        return self.optimizer.state_dict()

    def load_optimizer_state(self, state: dict) -> None:
        if "zero_partitions" in state:
            raise ConfigError("this checkpoint holds a ZeRO optimizer's state: resume it with the hardware.zero_stage it ran with")
        self.optimizer.load_state_dict(state)


class ZeroOptimizer:
    # What a ZeRO partition's state holds besides tensors and plain values: left out of checkpoints, which load
    # with torch.load(weights_only=True). The loss scaler is fixed at 1 (no fp16 loss scaling here) and the
    # slice mappings serve DeepSpeed's universal checkpoints only.
    _OBJECTS = ("loss_scaler", "param_slice_mappings")

    def __init__(self, policy: torch.nn.Module, ppo, micro_batch: int, accumulation: int, stage: int, ranks: Ranks) -> None:
        try:
            import deepspeed
        except ImportError as err:
            raise ConfigError(f"hardware.zero_stage={stage} needs DeepSpeed: pip install deepspeed") from err
        ensure_process_group()
        os.environ.setdefault("LOCAL_RANK", "0")  # set by torchrun and accelerate; DeepSpeed insists on it
        # ZeRO flattens each parameter group into one buffer: one group per dtype (bf16 weights of a full
        # fine-tune beside the fp32 value head). Each slice is updated in an fp32 copy, whatever the weights' dtype.
        by_dtype: dict[torch.dtype, list[torch.nn.Parameter]] = {}
        for p in policy.trainable_parameters():
            by_dtype.setdefault(p.dtype, []).append(p)
        optimizer = torch.optim.AdamW(
            [{"params": group} for group in by_dtype.values()], lr=ppo.learning_rate, weight_decay=ppo.weight_decay
        )
        self.ranks = ranks
        # Forward passes run under the policy's own autocast, so DeepSpeed keeps the weights as they are (no
        # fp16/bf16 section). It scales each micro-batch's loss by 1/accumulation and steps at the boundary.
        self.engine, self.optimizer, _, self.scheduler = deepspeed.initialize(
            model=policy, optimizer=optimizer, lr_scheduler=_scheduler(optimizer, ppo), dist_init_required=False,
            config={
                "train_micro_batch_size_per_gpu": micro_batch,
                "gradient_accumulation_steps": accumulation,
                "gradient_clipping": ppo.max_grad_norm,
                "zero_optimization": {"stage": stage},
                "zero_allow_untested_optimizer": True,  # torch's AdamW: DeepSpeed vouches only for its own
                "steps_per_print": 2**31,
            },
        )

    def backward(self, loss: torch.Tensor) -> None:
        self.engine.backward(loss)
        if not self.engine.is_gradient_accumulation_boundary():
            self.engine.step()  # counts the micro-batch; the optimizer steps in `step`

    def step(self) -> torch.Tensor:
        self.engine.step()
        return torch.as_tensor(float(self.engine.get_global_grad_norm()))

    def optimizer_state(self) -> dict | None:
        """Every rank's partition, on rank 0 (None on the others); a collective: every rank must call it."""
        local = {k: v for k, v in self.optimizer.state_dict().items() if k not in self._OBJECTS}
        local["zero_stage"] = int(local["zero_stage"])
        partitions = self.ranks.gather_objects(_to_cpu(local))
        return {"zero_partitions": partitions} if self.ranks.main else None

    def load_optimizer_state(self, state: dict) -> None:
        partitions = state.get("zero_partitions")
        if partitions is None:
            raise ConfigError("this checkpoint holds a plain optimizer's state: resume it with hardware.zero_stage=0")
        if len(partitions) != self.ranks.world:
            raise ConfigError(
                f"this checkpoint's ZeRO optimizer state is split over {len(partitions)} processes: resume it with "
                f"{len(partitions)}, not {self.ranks.world}"
            )
        self.optimizer.load_state_dict(partitions, load_from_fp32_weights=True)


def build_optimizer(policy, ppo, hardware, micro_batch: int, accumulation: int, ranks: Ranks):
    if hardware.zero_stage:
        return ZeroOptimizer(policy, ppo, micro_batch, accumulation, hardware.zero_stage, ranks)
    return AllReduceOptimizer(policy.trainable_parameters(), ppo, accumulation, ranks)


def _scheduler(optimizer: torch.optim.Optimizer, ppo):
    from transformers import get_scheduler

    return get_scheduler(
        ppo.lr_scheduler, optimizer, num_warmup_steps=ppo.warmup_steps,
        num_training_steps=ppo.steps * ppo.ppo_epochs * ppo.num_mini_batches,
    )


def _to_cpu(value):
    if isinstance(value, torch.Tensor):
        return value.detach().cpu()
    if isinstance(value, dict):
        return {k: _to_cpu(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_to_cpu(v) for v in value)
    return value
