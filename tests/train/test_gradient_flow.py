"""Gradient flow of seed 003 as full-batch gradient descent: the update, the recorded history, μ_t = −(dR/dt)/R."""

from __future__ import annotations

import numpy as np
import pytest

import neurones as nr
from neurones.nn import ODEResNet
from neurones.train import gradient_flow


@pytest.fixture
def problem(rng):
    return rng.standard_normal((8, 3)), rng.standard_normal((8, 3))


def make(depth=4, **kwargs):
    return ODEResNet(3, 3, 5, 3, depth, V_init="iid", W_init="iid", rng=0, dtype=np.float64, **kwargs)


def test_one_step_moves_residual_weights_at_rate_depth(problem):
    x, y = problem
    net, reference = make(), make()
    nr.functional.mse_loss(reference(nr.tensor(x)), nr.tensor(y)).backward()
    gradient_flow(net, x, y, lr=0.01, steps=1)
    for moved, start in zip(net.residual_parameters(), reference.residual_parameters(), strict=True):
        np.testing.assert_allclose(moved.data, start.data - 0.01 * 4 * start.grad.data, rtol=1e-12)


def test_maps_move_at_rate_lr(problem):
    x, y = problem
    kwargs = {"embedding": "random", "readout": "random", "train_embedding": True, "train_readout": True}
    net = ODEResNet(3, 6, 5, 3, 4, V_init="iid", W_init="iid", rng=0, dtype=np.float64, **kwargs)
    reference = ODEResNet(3, 6, 5, 3, 4, V_init="iid", W_init="iid", rng=0, dtype=np.float64, **kwargs)
    nr.functional.mse_loss(reference(nr.tensor(x)), nr.tensor(y)).backward()
    gradient_flow(net, x, y, lr=0.01, steps=1)
    np.testing.assert_allclose(net.A.data, reference.A.data - 0.01 * reference.A.grad.data, rtol=1e-12)
    np.testing.assert_allclose(net.B.data, reference.B.data - 0.01 * reference.B.grad.data, rtol=1e-12)


def test_history_records_times_losses_and_calls_back(problem):
    x, y = problem
    seen = []
    history = gradient_flow(make(), x, y, lr=0.05, steps=7, record_every=3, callback=lambda s, m: seen.append(s))
    assert history.steps == [0, 3, 6, 7] and seen == [0, 3, 6, 7]
    np.testing.assert_allclose(history.times, [0, 0.15, 0.3, 0.35])
    assert all(np.diff(history.losses) < 0)
    assert set(history.as_arrays()) == {"steps", "times", "losses", "pl_ratios"}


def test_pl_ratio_is_the_decay_rate_of_the_risk(problem):
    # dR/dt = −μ_t R: over a tiny flow step η, R(η) ≈ R(0)(1 − μ_0 η).
    x, y = problem
    eta = 1e-6
    history = gradient_flow(make(depth=6), x, y, lr=eta, steps=1)
    rate = (history.losses[0] - history.losses[1]) / (eta * history.losses[0])
    assert rate == pytest.approx(history.pl_ratios[0], rel=1e-4)


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning", "ignore:invalid value:RuntimeWarning")
def test_divergence_raises(problem):
    x, y = problem
    with pytest.raises(FloatingPointError, match="lower lr"):
        gradient_flow(make(), x * 1e3, y, lr=1e3, steps=20)


def test_argument_errors(problem):
    with pytest.raises(ValueError, match="record_every"):
        gradient_flow(make(), *problem, lr=0.1, steps=1, record_every=0)
