"""Gradient statistics: norms, displacement, direction variance and error, on cases with known answers."""

from __future__ import annotations

import numpy as np
import pytest

import neurones as nr
from neurones import nn
from neurones.analysis.gradient_stats import (
    direction_error,
    direction_variance,
    displacement,
    flat_parameters,
    gradient_norm,
    minibatch_gradients,
)


def _mse(out, target):
    return ((out - target) ** 2).mean()


def test_cosine_statistics_on_known_directions():
    same = np.array([[1.0, 0.0], [2.0, 0.0], [0.5, 0.0]])
    assert direction_variance(same) == pytest.approx(0.0)
    orthogonal = np.array([[1.0, 0.0], [0.0, 3.0]])
    assert direction_variance(orthogonal) == pytest.approx(1.0)
    assert direction_variance(np.array([[1.0, 0.0], [-1.0, 0.0]])) == pytest.approx(2.0)
    assert direction_error(orthogonal, np.array([1.0, 0.0])) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="at least two"):
        direction_variance(np.ones((1, 3)))
    with pytest.raises(ValueError, match="zero"):
        direction_variance(np.zeros((2, 3)))


def test_minibatch_gradients_average_to_the_full_gradient_and_leave_grad_alone():
    rng = np.random.default_rng(0)
    model = nn.Linear(3, 1, dtype=np.float64, rng=0)
    x, y = nr.tensor(rng.standard_normal((12, 3))), nr.tensor(rng.standard_normal((12, 1)))
    batches = [(x[i : i + 4], y[i : i + 4]) for i in range(0, 12, 4)]
    rows = minibatch_gradients(model, _mse, batches)
    full = minibatch_gradients(model, _mse, [(x, y)])[0]
    np.testing.assert_allclose(rows.mean(axis=0), full, rtol=1e-12)  # equal batches: the mean is the full gradient
    assert all(p.grad is None for p in model.parameters())
    _mse(model(x), y).backward()
    assert gradient_norm(model) == pytest.approx(np.linalg.norm(full))
    start = flat_parameters(model)
    model.weight.data += 3.0
    assert displacement(model, start) == pytest.approx(3.0 * np.sqrt(3))
