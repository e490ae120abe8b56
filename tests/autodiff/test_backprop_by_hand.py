"""Backprop through F.linear + sigmoid + mse_loss equals the hand-derived δ recursion of the lecture notes.

Seed 002, Exercise 1 ("Back propagation"): with zˡ = Wˡ aˡ⁻¹ + bˡ, aˡ = f(zˡ) and δˡ = ∂C/∂zˡ,

    δᴸ = f′(zᴸ) ⊙ ∂C/∂aᴸ,    δˡ = (Wˡ⁺¹)ᵀ δˡ⁺¹ ⊙ f′(zˡ),    ∂C/∂bˡ = δˡ,    ∂C/∂Wˡ = δˡ (aˡ⁻¹)ᵀ.

(Statement 3 of the exercise prints w_{j,k}; the sum runs over the neurons k of layer l + 1, so the entry is
w_{k,j}, the transpose, as the notes' own later summary writes it.) For a batch, C sums over the samples, so
each ∂C/∂Wˡ sums δˡ (aˡ⁻¹)ᵀ over them.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from neurones import functional as F
from tests.helpers import leaf


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


def _backprop_by_hand(x, y, weights, biases):
    """Forward pass storing zˡ and aˡ, then the δ recursion; returns the lists of ∂C/∂Wˡ, ∂C/∂bˡ and δˡ."""
    activations, pre_activations = [x], []
    for W, b in zip(weights, biases):
        z = W @ activations[-1] + b[:, None]
        pre_activations.append(z)
        activations.append(_sigmoid(z))
    sigmoid_prime = [_sigmoid(z) * (1 - _sigmoid(z)) for z in pre_activations]
    delta = sigmoid_prime[-1] * 2 * (activations[-1] - y)  # C = Σ (aᴸ − y)², so ∂C/∂aᴸ = 2 (aᴸ − y)
    deltas = [delta]
    for layer in range(len(weights) - 2, -1, -1):
        delta = (weights[layer + 1].T @ delta) * sigmoid_prime[layer]
        deltas.insert(0, delta)
    grad_w = [d @ a.T for d, a in zip(deltas, activations[:-1])]  # Σ over samples of δ (aˡ⁻¹)ᵀ
    grad_b = [d.sum(axis=1) for d in deltas]
    return grad_w, grad_b, deltas


@pytest.mark.parametrize("sizes", [(3, 4, 2), (5, 3, 6), (2, 4, 3, 1)], ids=["2-layer", "2-layer-wide-out", "3-layer"])
@pytest.mark.parametrize("batch", [1, 7])
def test_backprop_equals_delta_recursion(sizes, batch, rng):
    weights = [rng.standard_normal((n_out, n_in)) for n_in, n_out in itertools.pairwise(sizes)]
    biases = [rng.standard_normal(n_out) for n_out in sizes[1:]]
    x, y = rng.standard_normal((sizes[0], batch)), rng.uniform(0, 1, (sizes[-1], batch))

    W = [leaf(w) for w in weights]
    b = [leaf(bias) for bias in biases]
    a = leaf(x.T, requires_grad=False)  # the engine stores samples as rows: (batch, features)
    pre_activations = []
    for W_l, b_l in zip(W, b):
        z = F.linear(a, W_l, b_l)
        z.retain_grad()
        pre_activations.append(z)
        a = F.sigmoid(z)
    F.mse_loss(a, y.T, reduction="sum").backward()

    grad_w, grad_b, deltas = _backprop_by_hand(x, y, weights, biases)
    for layer in range(len(weights)):
        np.testing.assert_allclose(pre_activations[layer].grad.data, deltas[layer].T, rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(b[layer].grad.data, grad_b[layer], rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(W[layer].grad.data, grad_w[layer], rtol=1e-10, atol=1e-14)


def test_single_sample_as_a_vector(rng):
    """The exercise's setting exactly: one input vector x ∈ ℝⁿ, F.linear on a 1-D input."""
    weights = [rng.standard_normal((4, 3)), rng.standard_normal((2, 4))]
    biases = [rng.standard_normal(4), rng.standard_normal(2)]
    x, y = rng.standard_normal(3), rng.uniform(0, 1, 2)
    W, b = [leaf(w) for w in weights], [leaf(bias) for bias in biases]
    a = leaf(x, requires_grad=False)
    for W_l, b_l in zip(W, b):
        a = F.sigmoid(F.linear(a, W_l, b_l))
    F.mse_loss(a, y, reduction="sum").backward()
    grad_w, grad_b, _ = _backprop_by_hand(x[:, None], y[:, None], weights, biases)
    for layer in range(2):
        np.testing.assert_allclose(W[layer].grad.data, grad_w[layer], rtol=1e-10)
        np.testing.assert_allclose(b[layer].grad.data, grad_b[layer], rtol=1e-10)
