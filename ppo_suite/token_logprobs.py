"""Log-probs and entropy of response tokens without keeping (batch, time, vocab) fp32 tensors for backward.

With SmolLM2's 49,152-token vocabulary the fp32 logits of 16 responses of 56 tokens take 176 MB, and autograd's
backward of a log-softmax and an entropy keeps about ten tensors of that size alive (the logits, their softmax,
products, and a gradient of each): the largest tensors of a PPO step. Through a linear head the gradient is written
out by hand instead (`_LinearHeadLogprobs`): the backward turns the logits into their own gradient in place, one
(positions, vocab) tensor at a time. With `chunk_tokens` the head runs over that many positions at a time, and only
the hidden states are kept: each chunk's logits are recomputed in the backward pass (the fused cross-entropy trick).
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint


def token_logprobs(
    head: Callable[[torch.Tensor], torch.Tensor], hidden: torch.Tensor, tokens: torch.Tensor, temperature: float,
    with_entropy: bool = False,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """log p(token) and the entropy at each position, from hidden states (N, H) and tokens (N,), in fp32."""
    logits = head(hidden).float() / temperature
    log_z = torch.logsumexp(logits, dim=-1)
    logprobs = logits.gather(-1, tokens.unsqueeze(-1)).squeeze(-1) - log_z
    if not with_entropy:
        return logprobs, None
    # H = -sum p log p = log Z - sum p * logit, with no (N, V) log-softmax kept beside the logits
    entropy = log_z - (torch.softmax(logits, dim=-1) * logits).sum(-1)
    return logprobs, entropy


class _LinearHeadLogprobs(torch.autograd.Function):
    """`token_logprobs` through `F.linear(hidden, weight, bias)` with the gradient written out by hand:

        d log p(y) / d logits = onehot(y) - p        d H / d logits = -p * (logits - sum p * logits)

    Saved for backward: the fp32 logits and their log-normaliser, or with `recompute` only the inputs and the
    log-normaliser (the logits are recomputed, in the autocast mode of the forward). Backward runs once: it
    overwrites the logits with their gradient.
    """

    @staticmethod
    def forward(ctx, hidden, weight, bias, tokens, temperature: float, with_entropy: bool, recompute: bool):
        ctx.set_materialize_grads(False)  # an output the loss does not use (the logged entropy) costs nothing
        device = hidden.device.type
        ctx.autocast = torch.get_autocast_dtype(device) if torch.is_autocast_enabled(device) else None
        ctx.temperature, ctx.recompute = temperature, recompute
        head_out = F.linear(hidden, weight, bias)
        ctx.head_dtype = head_out.dtype
        logits = head_out.float() / temperature
        del head_out
        log_z = torch.logsumexp(logits, dim=-1)
        logprobs = logits.gather(-1, tokens.unsqueeze(-1)).squeeze(-1) - log_z  # as `token_logprobs`, op for op
        outputs = (logprobs,)
        if with_entropy:
            outputs += (log_z - (torch.softmax(logits, dim=-1) * logits).sum(-1),)
        ctx.save_for_backward(hidden, weight, bias, tokens, log_z, None if recompute else logits)
        return outputs if with_entropy else logprobs

    @staticmethod
    def backward(ctx, grad_logprobs, grad_entropy=None):
        hidden, weight, bias, tokens, log_z, logits = ctx.saved_tensors
        if logits is None:
            device = hidden.device.type
            with torch.autocast(device, dtype=ctx.autocast or torch.bfloat16, enabled=ctx.autocast is not None):
                logits = F.linear(hidden, weight, bias).float().div_(ctx.temperature)
        log_z = log_z.unsqueeze(-1)
        if grad_entropy is None:  # then the log-probs' gradient is there: backward runs for some output
            grad = logits.sub_(log_z).exp_().mul_(-grad_logprobs.unsqueeze(-1))  # -p g, in place of the logits
        else:
            probs = torch.sub(logits, log_z).exp_()
            mean_logit = torch.bmm(probs.unsqueeze(1), logits.unsqueeze(2)).view(-1, 1)  # sum p * logits, no (N, V) product
            scale = logits.sub_(mean_logit).mul_(grad_entropy.unsqueeze(-1))
            if grad_logprobs is not None:
                scale.add_(grad_logprobs.unsqueeze(-1))
            grad = probs.mul_(scale).neg_()
            del logits, scale
        if grad_logprobs is not None:
            grad.scatter_add_(-1, tokens.unsqueeze(-1), grad_logprobs.unsqueeze(-1).to(grad.dtype))
        # d logits / d head output = 1 / temperature; the head's matmuls in the dtype its forward ran in
        grad = grad.div_(ctx.temperature).to(ctx.head_dtype)
        needs = ctx.needs_input_grad
        grad_hidden = (grad @ weight.to(grad.dtype)).to(hidden.dtype) if needs[0] else None
        grad_weight = (grad.T @ hidden.to(grad.dtype)).to(weight.dtype) if needs[1] else None
        grad_bias = grad.sum(0).to(bias.dtype) if bias is not None and needs[2] else None
        return grad_hidden, grad_weight, grad_bias, None, None, None, None


def chunked_token_logprobs(
    head: Callable[[torch.Tensor], torch.Tensor], hidden: torch.Tensor, tokens: torch.Tensor, temperature: float,
    with_entropy: bool = False, chunk_tokens: int = 0,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """`token_logprobs` over hidden (B, T, H) and tokens (B, T), `chunk_tokens` positions at a time (0: all at once).

    Returns (B, T) log-probs and, with `with_entropy`, (B, T) entropies.
    """
    batch, time = tokens.shape
    flat_hidden, flat_tokens = hidden.reshape(batch * time, -1), tokens.reshape(-1)
    chunk = flat_tokens.numel() if chunk_tokens <= 0 else chunk_tokens
    recompute = chunk < flat_tokens.numel()
    parts = []
    for start in range(0, flat_tokens.numel(), chunk):
        args = (flat_hidden[start : start + chunk], flat_tokens[start : start + chunk], temperature, with_entropy)
        if not torch.is_grad_enabled():
            parts.append(token_logprobs(head, *args))
        elif type(head) is nn.Linear:  # exactly: a quantised Linear subclass has weights F.linear cannot read
            out = _LinearHeadLogprobs.apply(args[0], head.weight, head.bias, *args[1:], recompute)
            parts.append(out if with_entropy else (out, None))
        elif recompute:
            parts.append(checkpoint(token_logprobs, head, *args, use_reentrant=False))
        else:
            parts.append(token_logprobs(head, *args))
    logprobs = torch.cat([p[0] for p in parts]) if len(parts) > 1 else parts[0][0]
    entropy = None
    if with_entropy:
        entropy = torch.cat([p[1] for p in parts]) if len(parts) > 1 else parts[0][1]
    return logprobs.view(batch, time), None if entropy is None else entropy.view(batch, time)
