"""Reward-model losses on a batch of preference pairs, as small pure functions on tensors.

`r_chosen`, `r_rejected`: (N,) scores the reward model gives the two completions of each pair.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def pairwise_loss(r_chosen: torch.Tensor, r_rejected: torch.Tensor) -> torch.Tensor:
    """Bradley-Terry: -log sigmoid(r_chosen - r_rejected), the usual RLHF reward-model loss."""
    return -F.logsigmoid(r_chosen - r_rejected).mean()


def similarity_loss(
    r_chosen: torch.Tensor,
    r_rejected: torch.Tensor,
    relevance_gap: torch.Tensor,
    ranking_gap: torch.Tensor,
    content_gap: torch.Tensor,
    alpha: float,
    beta: float,
    gamma: float,
    temperature: float,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The ad project's three-term loss: alpha * L1 + beta * L2 + gamma * L3.

    Each gap is a sentence-embedding similarity of the chosen completion minus the rejected one's:
    L1 query-ad relevance cos(query, ad), L2 the ranking margin against the competing ads, L3 content
    preservation cos(original ad, ad). Each term is a Bradley-Terry loss whose target is that term's own
    preference, soft by the gap's size: binary cross-entropy between sigmoid(r_chosen - r_rejected) and
    sigmoid(gap / temperature). So the reward model learns the order each similarity gives, weighted by
    alpha/beta/gamma, and a pair on which a term does not care (gap 0) pulls its margin towards 0.
    Returns the loss and each term's value.
    """
    margin = r_chosen - r_rejected
    terms = {
        name: F.binary_cross_entropy_with_logits(margin, torch.sigmoid(gap.to(margin.dtype) / temperature))
        for name, gap in (("relevance", relevance_gap), ("ranking", ranking_gap), ("content", content_gap))
    }
    loss = alpha * terms["relevance"] + beta * terms["ranking"] + gamma * terms["content"]
    return loss, terms
