"""Reward-model losses against hand-computed values."""

import math

import pytest
import torch

from ppo_suite.reward_losses import pairwise_loss, similarity_loss


def test_pairwise_loss_is_minus_log_sigmoid_of_the_margin():
    # margins 0 and ln 3: -log(1/2) and -log(3/4), averaged
    loss = pairwise_loss(torch.tensor([1.0, math.log(3)]), torch.tensor([1.0, 0.0]))
    assert loss.item() == pytest.approx((math.log(2) + math.log(4 / 3)) / 2)


def test_similarity_loss_matches_each_term_by_hand():
    tau = 0.1
    r_chosen, r_rejected = torch.tensor([math.log(3)]), torch.tensor([0.0])  # sigmoid(margin) = 3/4
    loss, terms = similarity_loss(
        r_chosen, r_rejected,
        relevance_gap=torch.tensor([tau * math.log(3)]),  # target sigmoid(ln 3) = 3/4: the margin agrees
        ranking_gap=torch.tensor([0.0]),  # target 1/2: this term does not prefer either
        content_gap=torch.tensor([-tau * math.log(3)]),  # target 1/4: this term prefers the rejected one
        alpha=1.0, beta=2.0, gamma=0.5, temperature=tau,
    )
    def bce(p, q):  # cross-entropy of prediction q against target p
        return -(p * math.log(q) + (1 - p) * math.log(1 - q))

    assert terms["relevance"].item() == pytest.approx(bce(0.75, 0.75))  # 0.5623
    assert terms["ranking"].item() == pytest.approx(bce(0.5, 0.75))  # 0.8959
    assert terms["content"].item() == pytest.approx(bce(0.25, 0.75))  # 1.2425
    assert loss.item() == pytest.approx(bce(0.75, 0.75) + 2 * bce(0.5, 0.75) + 0.5 * bce(0.25, 0.75))


def test_similarity_loss_pushes_the_margin_towards_the_gaps_preference():
    margin = torch.zeros(1, requires_grad=True)
    loss, _ = similarity_loss(margin, torch.zeros(1), torch.tensor([0.2]), torch.tensor([0.2]), torch.tensor([0.2]),
                              alpha=1, beta=1, gamma=1, temperature=0.05)
    loss.backward()
    assert margin.grad.item() < 0  # gradient descent raises r_chosen - r_rejected
