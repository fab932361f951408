"""PPO math against values computed by hand."""

import math

import pytest
import torch

from ppo_suite import ppo_math as pm
from ppo_suite.errors import ConfigError


def test_gae_three_steps_by_hand():
    # gamma=0.9, lam=0.8: delta_t = r_t + 0.9 V_{t+1} - V_t, A_t = delta_t + 0.72 A_{t+1}, V_3 = 0.
    rewards = torch.tensor([[0.0, 0.0, 1.0], [0.0, 1.0, 0.0]])
    values = torch.tensor([[0.5, 0.6, 0.7], [0.5, 0.6, 9.0]])  # 9.0 sits on padding and must not leak
    mask = torch.tensor([[1.0, 1.0, 1.0], [1.0, 1.0, 0.0]])
    advantages, returns = pm.gae(rewards, values, mask, gamma=0.9, lam=0.8)
    # Row 0: A2 = 1 - 0.7 = 0.3; A1 = (0.63 - 0.6) + 0.72*0.3 = 0.246; A0 = (0.54 - 0.5) + 0.72*0.246 = 0.21712.
    # Row 1: A1 = 1 - 0.6 = 0.4 (the value after the last token is 0); A0 = 0.04 + 0.72*0.4 = 0.328.
    expected = torch.tensor([[0.21712, 0.246, 0.3], [0.328, 0.4, 0.0]])
    torch.testing.assert_close(advantages, expected)
    torch.testing.assert_close(returns, torch.tensor([[0.71712, 0.846, 1.0], [0.828, 1.0, 0.0]]))


def test_gae_with_gamma_lambda_one_is_reward_to_go_minus_value():
    rewards = torch.tensor([[0.1, -0.2, 0.3, 1.0]])
    values = torch.tensor([[0.2, 0.1, 0.0, -0.1]])
    advantages, _ = pm.gae(rewards, values, torch.ones(1, 4), gamma=1.0, lam=1.0)
    reward_to_go = torch.tensor([[1.2, 1.1, 1.3, 1.0]])
    torch.testing.assert_close(advantages, reward_to_go - values)


def test_masked_whiten_ignores_padding():
    x = torch.tensor([1.0, 2.0, 3.0, 100.0])
    mask = torch.tensor([1.0, 1.0, 1.0, 0.0])
    # mean 2, unbiased variance ((1 + 0 + 1) / 2) = 1 over the three unmasked values
    torch.testing.assert_close(pm.masked_whiten(x, mask), torch.tensor([-1.0, 0.0, 1.0, 0.0]), atol=1e-6, rtol=0)
    torch.testing.assert_close(pm.masked_mean(x, mask), torch.tensor(2.0))
    torch.testing.assert_close(pm.masked_var(x, mask), torch.tensor(1.0))


def test_policy_loss_clips_on_both_sides():
    old = torch.zeros(1, 4)
    ratio = torch.tensor([[1.5, 0.5, 1.5, 0.5]])
    advantages = torch.tensor([[1.0, 1.0, -1.0, -1.0]])
    loss, stats = pm.policy_loss(ratio.log(), old, advantages, torch.ones(1, 4), cliprange=0.2)
    # per token max(-A r, -A clip(r)): A>0,r=1.5 -> -1.2 (clipped); A>0,r=0.5 -> -0.5;
    # A<0,r=1.5 -> 1.5; A<0,r=0.5 -> 0.8 (clipped)
    assert loss.item() == pytest.approx((-1.2 - 0.5 + 1.5 + 0.8) / 4)
    assert stats["clipfrac"].item() == pytest.approx(0.5)
    assert stats["approxkl"].item() == pytest.approx(0.5 * 2 * (math.log(1.5) ** 2 + math.log(0.5) ** 2) / 4)


def test_policy_loss_ignores_masked_tokens():
    loss, _ = pm.policy_loss(torch.tensor([[0.0, 5.0]]), torch.zeros(1, 2), torch.tensor([[2.0, 100.0]]), torch.tensor([[1.0, 0.0]]), 0.2)
    assert loss.item() == pytest.approx(-2.0)


def test_value_loss_takes_the_clipped_error_when_worse():
    old = torch.tensor([[0.0, 0.0]])
    values = torch.tensor([[1.0, 0.1]])
    returns = torch.tensor([[2.0, 0.05]])
    loss, stats = pm.value_loss(values, old, returns, torch.ones(1, 2), cliprange_value=0.2)
    # token 0: clipped prediction 0.2 -> error 1.8^2 = 3.24 beats the raw 1.0; token 1: both 0.05^2
    assert loss.item() == pytest.approx(0.5 * (3.24 + 0.0025) / 2)
    assert stats["clipfrac"].item() == pytest.approx(0.5)


def test_kl_estimators_average_to_the_true_kl():
    p = torch.tensor([0.5, 0.5])
    q = torch.tensor([0.9, 0.1])
    true_kl = 0.5 * math.log(0.5 / 0.9) + 0.5 * math.log(0.5 / 0.1)  # 0.5108256
    for name in ("k1", "k3"):
        per_token = pm.kl_estimator(name)(p.log(), q.log())
        assert (p * per_token).sum().item() == pytest.approx(true_kl, rel=1e-6)
    assert (pm.kl_k3(p.log(), q.log()) >= 0).all()
    assert pm.kl_k1(p.log(), q.log())[1].item() == pytest.approx(math.log(0.5 / 0.1))


def test_unknown_kl_estimator_lists_the_valid_ones():
    with pytest.raises(ConfigError, match=r"ppo\.kl_estimator='k2' is not one of \['k1', 'k3'\]"):
        pm.kl_estimator("k2")


def test_shape_rewards_puts_the_score_on_the_last_response_token():
    kl = torch.tensor([[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]])
    mask = torch.tensor([[1.0, 1.0, 1.0], [1.0, 0.0, 0.0]])
    rewards = pm.shape_rewards(torch.tensor([1.0, 2.0]), kl, kl_coef=0.5, mask=mask)
    torch.testing.assert_close(rewards, torch.tensor([[-0.05, -0.1, 0.85], [1.8, 0.0, 0.0]]))


def test_penalize_unfinished_subtracts_the_penalty_only_where_the_turn_never_ended():
    scores = torch.tensor([0.5, -1.0, 2.0])
    finished = torch.tensor([True, False, False])
    torch.testing.assert_close(pm.penalize_unfinished(scores, finished, 0.25), torch.tensor([0.5, -1.25, 1.75]))


def test_rollout_mismatch_is_the_mean_absolute_ratio_deviation_on_response_tokens():
    old = torch.tensor([[-1.0, -2.0, -3.0]])
    new = old + torch.tensor([[math.log(1.1), math.log(0.8), 5.0]])  # ratios 1.1, 0.8; the last token is padding
    mask = torch.tensor([[1.0, 1.0, 0.0]])
    assert pm.rollout_mismatch(new, old, mask).item() == pytest.approx((0.1 + 0.2) / 2)
    assert pm.rollout_mismatch(old, old, mask).item() == 0.0


def test_center_groups_subtracts_each_prompts_mean():
    scores = torch.tensor([1.0, 3.0, 0.0, 0.0, 5.0, -1.0])
    torch.testing.assert_close(pm.center_groups(scores, 2), torch.tensor([-1.0, 1.0, 0.0, 0.0, 3.0, -3.0]))
    torch.testing.assert_close(pm.center_groups(scores, 3), torch.tensor([-0.3333, 1.6667, -1.3333, -1.3333, 3.6667, -2.3333]), atol=1e-4, rtol=0)


def test_adaptive_kl_controller_update():
    ctl = pm.AdaptiveKLController(0.1, target=6.0, horizon=10000)
    ctl.update(current_kl=9.0, n_samples=256)  # error 0.5 clipped to 0.2: x (1 + 0.2 * 256 / 10000)
    assert ctl.value == pytest.approx(0.100512)
    ctl = pm.AdaptiveKLController(0.1, target=6.0, horizon=10000)
    ctl.update(current_kl=5.4, n_samples=1000)  # error -0.1: x (1 - 0.1 * 0.1)
    assert ctl.value == pytest.approx(0.099)
    fixed = pm.FixedKLController(0.1)
    fixed.update(100.0, 1000)
    assert fixed.value == 0.1


def test_explained_variance():
    returns = torch.tensor([[1.0, 2.0, 3.0]])
    mask = torch.ones(1, 3)
    assert pm.explained_variance(returns, returns, mask).item() == pytest.approx(1.0)
    assert pm.explained_variance(torch.full((1, 3), 2.0), returns, mask).item() == pytest.approx(0.0)


def test_running_moments_match_the_whole_sample():
    moments = pm.RunningMoments()
    data = torch.tensor([1.0, 4.0, 2.0, 8.0, 5.0, 7.0])
    moments.update(data[:2])
    moments.update(data[2:])
    assert moments.mean == pytest.approx(data.mean().item(), rel=1e-4)
    assert moments.std == pytest.approx(data.std(unbiased=False).item(), rel=1e-4)
