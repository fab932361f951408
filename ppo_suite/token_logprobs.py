"""Log-probs and entropy of response tokens without materialising (batch, time, vocab) fp32 tensors.

With SmolLM2's 49,152-token vocabulary the fp32 logits of 16 responses of 56 tokens take 176 MB, the
log-softmax as much again, and autograd keeps them until the backward pass: the largest tensors of a PPO
step. Here the LM head runs over `chunk_tokens` positions at a time and only (N,) results are kept; under
autograd each chunk is checkpointed, so its logits are recomputed in the backward pass and only the hidden
states stay alive (the fused cross-entropy trick).
"""

from __future__ import annotations

from typing import Callable

import torch
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


def chunked_token_logprobs(
    head: Callable[[torch.Tensor], torch.Tensor], hidden: torch.Tensor, tokens: torch.Tensor, temperature: float,
    with_entropy: bool = False, chunk_tokens: int = 0,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """`token_logprobs` over hidden (B, T, H) and tokens (B, T), `chunk_tokens` positions at a time (0: all at once).

    Returns (B, T) log-probs and, with `with_entropy`, (B, T) entropies.
    """
    batch, time = tokens.shape
    flat_hidden, flat_tokens = hidden.reshape(batch * time, -1), tokens.reshape(-1)
    if chunk_tokens <= 0 or chunk_tokens >= flat_tokens.numel():
        logprobs, entropy = token_logprobs(head, flat_hidden, flat_tokens, temperature, with_entropy)
    else:
        recompute = torch.is_grad_enabled() and flat_hidden.requires_grad
        parts = []
        for start in range(0, flat_tokens.numel(), chunk_tokens):
            args = (head, flat_hidden[start : start + chunk_tokens], flat_tokens[start : start + chunk_tokens],
                    temperature, with_entropy)
            parts.append(checkpoint(token_logprobs, *args, use_reentrant=False) if recompute else token_logprobs(*args))
        logprobs = torch.cat([p[0] for p in parts])
        entropy = torch.cat([p[1] for p in parts]) if with_entropy else None
    return logprobs.view(batch, time), None if entropy is None else entropy.view(batch, time)
