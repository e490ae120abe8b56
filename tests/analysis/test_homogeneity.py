"""Homogeneity instruments: invariance, the penalty minimized over rescalings, balance, conserved quantities."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import optimize

import neurones as nr
from neurones import nn
from neurones.analysis.homogeneity import (
    balance,
    balancing_scales,
    path_penalty,
    rescale_units,
    unit_invariants,
    unit_parameters,
    weight_decay_penalty,
)


def _net(width=6, seed=0):
    return nn.Sequential(nn.Linear(2, width, dtype=np.float64, rng=seed), nn.ReLU(),
                         nn.Linear(width, 1, bias=False, dtype=np.float64, rng=seed + 1))


def test_rescaling_leaves_the_function_and_the_path_penalty_unchanged():
    net = _net()
    x = nr.tensor(np.random.default_rng(0).standard_normal((50, 2)))
    before, path, decay = net(x).data, path_penalty(net, 2.0, 1.5), weight_decay_penalty(net, 2.0, 1.5)
    rescale_units(net, np.array([0.1, 0.5, 1.0, 2.0, 5.0, 10.0]))
    np.testing.assert_allclose(net(x).data, before, atol=1e-14)
    assert path_penalty(net, 2.0, 1.5) == pytest.approx(path, rel=1e-13)
    assert abs(weight_decay_penalty(net, 2.0, 1.5) - decay) > 0.1 * decay
    with pytest.raises(ValueError, match="α_j must be > 0"):
        rescale_units(net, np.zeros(6))


def test_the_weight_decay_minimized_over_rescalings_is_the_path_penalty():
    net, strength, bound = _net(seed=3), 0.7, 2.0
    eta, w, b = unit_parameters(net)
    for j in range(6):
        inner = np.sum(w[j] ** 2) + (b[j] / bound) ** 2
        best = optimize.minimize_scalar(lambda a, j=j, inner=inner: strength * a**2 * eta[j] ** 2 + inner / a**2,
                                        bounds=(1e-3, 1e3), method="bounded", options={"xatol": 1e-12})
        assert best.fun == pytest.approx(2 * np.sqrt(strength) * abs(eta[j]) * np.sqrt(inner), rel=1e-8)
    rescale_units(net, balancing_scales(net, strength, bound))
    np.testing.assert_allclose(balance(net, strength, bound), 0, atol=1e-12)
    assert weight_decay_penalty(net, strength, bound) == pytest.approx(path_penalty(net, strength, bound), rel=1e-12)


def test_gradient_descent_conserves_the_unit_invariants_to_first_order_in_the_step():
    rng = np.random.default_rng(1)
    x, y = nr.tensor(rng.standard_normal((20, 2))), nr.tensor(rng.standard_normal((20, 1)))
    drifts = []
    for lr in (0.02, 0.01):
        net = _net(seed=5)
        start = unit_invariants(net)
        optimizer = nr.optim.SGD(net.parameters(), lr=lr)
        for _ in range(round(2.0 / lr)):
            optimizer.zero_grad()
            ((net(x) - y) ** 2).mean().backward()
            optimizer.step()
        drifts.append(np.max(np.abs(unit_invariants(net) - start)))
    assert drifts[0] / drifts[1] == pytest.approx(2, rel=0.15)


def test_other_networks_are_refused():
    with pytest.raises(ValueError, match="expected Sequential"):
        unit_parameters(nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)))
