"""Landscape instruments: filter normalization, slices, Hessian extremes, input-gradient correlation."""

from __future__ import annotations

import numpy as np
import pytest

import neurones as nr
from neurones import nn
from neurones.analysis.landscape import filter_normalized_direction, input_gradient_autocorrelation, loss_slice
from neurones.func import hessian_extreme_eigenvalues


def _mse(out, target):
    return ((out - target) ** 2).mean()


def test_directions_have_the_norm_of_each_filter_and_skip_biases():
    model = nn.Sequential(nn.Linear(3, 5, rng=0), nn.ReLU(), nn.Conv1d(5, 4, 3, rng=1)).double()
    direction = filter_normalized_direction(model, np.random.default_rng(0))
    np.testing.assert_allclose(np.linalg.norm(direction["0.weight"], axis=1),
                               np.linalg.norm(model[0].weight.data, axis=1))
    np.testing.assert_allclose(np.sqrt(np.sum(direction["2.weight"] ** 2, axis=(1, 2))),
                               np.sqrt(np.sum(model[2].weight.data ** 2, axis=(1, 2))))
    assert not direction["0.bias"].any() and not direction["2.bias"].any()


def test_a_linear_least_squares_slice_is_a_parabola_with_the_hessians_curvature():
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((30, 4)), rng.standard_normal((30, 1))
    model = nn.Linear(4, 1, bias=False, dtype=np.float64, rng=0)
    direction = {"weight": rng.standard_normal((1, 4))}
    alphas = np.linspace(-1, 1, 5)
    values = loss_slice(model, _mse, x, y, [direction], alphas)
    hessian = 2 * x.T @ x / 30
    d = direction["weight"][0]
    assert values[2] == pytest.approx(float(_mse(model(nr.tensor(x)), nr.tensor(y)).data))
    second_difference = (values[4] - 2 * values[2] + values[0]) / 1.0**2
    assert second_difference == pytest.approx(d @ hessian @ d, rel=1e-10)
    low, high = hessian_extreme_eigenvalues(lambda w: _mse(nr.tensor(x) @ w.T, nr.tensor(y)), [model.weight],
                                            np.random.default_rng(2))
    exact = np.linalg.eigvalsh(hessian)
    assert low == pytest.approx(exact[0], rel=1e-6) and high == pytest.approx(exact[-1], rel=1e-6)
    with pytest.raises(ValueError, match="coordinates per point"):
        loss_slice(model, _mse, x, y, [direction, direction], alphas)


def test_input_gradients_of_a_smooth_function_stay_correlated():
    class Square(nn.Module):
        def forward(self, x):
            return (x * x).sum(dim=1)

    correlation = input_gradient_autocorrelation(Square(), np.zeros(3), np.ones(3), steps=200, spacing=0.01, lags=3)
    assert correlation.shape == (3,) and np.all(correlation > 0.99)
