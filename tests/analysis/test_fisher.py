"""Fisher information: a logistic regression in closed form, per-layer traces, sampling, and the KL's curvature."""

from __future__ import annotations

import copy

import numpy as np
import pytest

import neurones as nr
from neurones import nn
from neurones.analysis.fisher import empirical_fisher_trace, fisher_trace, kl_divergence


def test_a_softmax_regression_has_its_closed_form_trace():
    # p = softmax(Wx + b): ∇_W log p(y|x) = (e_y − p)xᵀ, ∇_b = e_y − p, and E_y ‖e_y − p‖² = 1 − ‖p‖², so
    # tr F = E_x (1 − ‖p‖²)(‖x‖² + 1); with the observed labels, E (‖e_y − p‖²)(‖x‖² + 1).
    rng = np.random.default_rng(0)
    model = nn.Linear(4, 3, dtype=np.float64, rng=0)
    x, y = rng.standard_normal((50, 4)), rng.integers(0, 3, 50)
    logits = x @ model.weight.data.T + model.bias.data
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    scale = np.sum(x * x, axis=1) + 1
    assert fisher_trace(model, x) == pytest.approx(np.mean((1 - np.sum(p * p, axis=1)) * scale), rel=1e-12)
    residual = np.eye(3)[y] - p
    assert empirical_fisher_trace(model, x, y) == pytest.approx(np.mean(np.sum(residual**2, axis=1) * scale),
                                                                rel=1e-12)


def test_per_layer_traces_sum_to_the_total_and_sampling_is_unbiased():
    rng = np.random.default_rng(1)
    model = nn.Sequential(nn.Linear(5, 8, rng=0), nn.Tanh(), nn.Linear(8, 4, rng=1)).double()
    x = rng.standard_normal((40, 5))
    total, layers = fisher_trace(model, x, per_layer=True)
    assert set(layers) == {"0", "2"} and sum(layers.values()) == pytest.approx(total, rel=1e-12)
    sampled = [fisher_trace(model, x, exact=False, samples=20, rng=rng) for _ in range(10)]
    assert np.mean(sampled) == pytest.approx(total, rel=0.03)
    with pytest.raises(ValueError, match="pass rng"):
        fisher_trace(model, x, exact=False)


def test_the_kl_between_nearby_networks_is_half_the_fisher_form():
    rng = np.random.default_rng(2)
    model = nn.Sequential(nn.Linear(3, 6, rng=0), nn.Tanh(), nn.Linear(6, 3, rng=1)).double()
    x = rng.standard_normal((30, 3))
    moved = copy.deepcopy(model)
    direction = [rng.standard_normal(p.shape) for p in model.parameters()]
    epsilon = 1e-3
    for p, d in zip(moved.parameters(), direction):
        p.data += epsilon * d
    # ½ δwᵀFδw = ½ E_x E_y (∇ log p · δw)², by finite differences of log p along δw
    def log_probabilities(net):
        return nr.functional.log_softmax(net(nr.tensor(x)), dim=-1).data

    plus, minus = copy.deepcopy(model), copy.deepcopy(model)
    for p_plus, p_minus, d in zip(plus.parameters(), minus.parameters(), direction):
        p_plus.data += 1e-6 * d
        p_minus.data -= 1e-6 * d
    slope = (log_probabilities(plus) - log_probabilities(minus)) / 2e-6  # ∇ log p(y|x) · d for every y
    p = np.exp(log_probabilities(model))
    quadratic = 0.5 * epsilon**2 * np.mean(np.sum(p * slope**2, axis=1))
    assert kl_divergence(model, moved, x) / quadratic == pytest.approx(1, abs=0.01)
    assert kl_divergence(model, model, x) == 0
