"""Rademacher complexity instruments: the exact supremum against brute force, the bound chain, the projections."""

from __future__ import annotations

import numpy as np
import pytest

from neurones import nn
from neurones.analysis.generalization import (
    _ascent_supremum,
    _circle_supremum,
    _lifted,
    final_bound,
    project_onto_l1_ball,
    project_to_class,
    rademacher_chain,
)


def test_the_circle_sweep_is_the_supremum():
    rng = np.random.default_rng(0)
    angles = np.linspace(0, 2 * np.pi, 400_001)
    units = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    for n in (3, 17, 60):
        z = _lifted(rng.uniform(-1, 1, (n, 1)), 1.0)
        signs = rng.choice([-1.0, 1.0], n)
        brute = np.abs(np.maximum(units @ z.T, 0) @ signs / n).max()
        exact = _circle_supremum(z, signs)
        assert brute <= exact + 1e-15 and exact == pytest.approx(brute, rel=1e-7)  # the grid misses the peak by Δt²
        assert _ascent_supremum(z, signs, rng) <= exact + 1e-12  # ascent finds a lower bound


def test_the_chain_of_bounds_holds_on_toy_data():
    rng = np.random.default_rng(1)
    x = rng.uniform(-1, 1, 64)
    chain = rademacher_chain(x, 1.0, 2.0, 400, rng)
    complexity, intermediate = chain["complexity"].mean(), chain["intermediate"].mean()
    assert complexity < intermediate < final_bound(64, 1.0, 2.0)
    assert bool(chain["exact"])
    assert final_bound(50, 1.0, 1.0) == pytest.approx(2 * np.sqrt(2) / np.sqrt(50))
    two_dimensional = rademacher_chain(rng.uniform(-0.7, 0.7, (32, 2)), 1.0, 1.0, 5, rng)
    assert not bool(two_dimensional["exact"]) and np.all(two_dimensional["complexity"] > 0)
    with pytest.raises(ValueError, match="‖x‖ ≤ M"):
        rademacher_chain(np.array([2.0]), 1.0, 1.0, 1, rng)


def test_projections():
    np.testing.assert_allclose(project_onto_l1_ball([3.0, -1.0, 0.5], 2.0), [2.0, 0.0, 0.0])
    np.testing.assert_allclose(project_onto_l1_ball([1.0, 1.0], 1.0), [0.5, 0.5])
    np.testing.assert_allclose(project_onto_l1_ball([0.2, -0.3], 1.0), [0.2, -0.3])  # inside: unchanged
    net = nn.Sequential(nn.Linear(2, 5, dtype=np.float64, rng=0), nn.ReLU(),
                        nn.Linear(5, 1, bias=False, dtype=np.float64, rng=1))
    net[-1].weight.data[...] *= 10
    project_to_class(net, 2.0, 1.5)
    norms = np.sqrt(np.sum(net[0].weight.data ** 2, axis=1) + (net[0].bias.data / 2.0) ** 2)
    np.testing.assert_allclose(norms, 1.0)
    assert np.sum(np.abs(net[-1].weight.data)) == pytest.approx(1.5)
