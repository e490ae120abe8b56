"""Penalties Ω(θ): values, gradients (gradcheck in float64), and the homogeneity argument of 001 §II."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.optimize import minimize_scalar

import neurones as nr
from neurones import optim
from neurones.errors import ShapeError
from tests.helpers import leaf

# at least one axis: backward through 0-d products currently trips the engine (a NumPy scalar cotangent)
shapes = st.lists(st.integers(1, 4), min_size=1, max_size=3).map(tuple)


def network(eta: np.ndarray, W: np.ndarray, b: np.ndarray, x: np.ndarray) -> np.ndarray:
    """f(x) = Σ_j η_j (w_jᵀx + b_j)₊ for a batch x (n, d), in plain NumPy."""
    return np.maximum(x @ W.T + b, 0.0) @ eta


@st.composite
def hidden_layers(draw):
    """(eta, W, b, M, lam) with |η_j| ≥ 0.2 and ‖w_j‖ bounded away from 0: away from the penalty's kinks."""
    m, d = draw(st.integers(1, 4)), draw(st.integers(1, 3))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    eta = rng.uniform(0.2, 2.0, m) * rng.choice([-1.0, 1.0], m)
    W = rng.standard_normal((m, d))
    W[:, 0] += np.where(W[:, 0] >= 0, 0.3, -0.3)
    b = rng.standard_normal(m)
    M = draw(st.floats(0.5, 3.0))
    lam = draw(st.floats(0.1, 4.0))
    return eta, W, b, M, lam


def leaves(eta, W, b):
    return leaf(eta), leaf(W), leaf(b)


# ------------------------------------------------------------------------------------------------ ℓ2 and ℓ1
@given(shape_a=shapes, shape_b=shapes)
def test_l2_and_l1_penalties_values_and_gradcheck(shape_a, shape_b):
    rng = np.random.default_rng(0)
    a, b = leaf(rng.standard_normal(shape_a)), leaf(rng.standard_normal(shape_b))
    l2 = optim.l2_penalty([a, b])
    l1 = optim.l1_penalty([a, b])
    assert l2.shape == () and l1.shape == ()
    np.testing.assert_allclose(l2.item(), np.sum(a.data**2) + np.sum(b.data**2), rtol=1e-12)
    np.testing.assert_allclose(l1.item(), np.sum(np.abs(a.data)) + np.sum(np.abs(b.data)), rtol=1e-12)
    nr.gradcheck(lambda x, y: optim.l2_penalty([x, y]), (a, b))
    nr.gradcheck(lambda x, y: optim.l1_penalty((x, y)), (a, b))


def test_l1_and_l2_gradients_and_the_subgradient_at_zero():
    theta = leaf([1.5, 0.0, -2.0])
    optim.l2_penalty(theta).backward()
    np.testing.assert_array_equal(theta.grad.data, [3.0, 0.0, -4.0])
    theta.grad = None
    optim.l1_penalty(theta).backward()
    np.testing.assert_array_equal(theta.grad.data, [1.0, 0.0, -1.0])


def test_penalties_keep_float32():
    theta = nr.tensor(np.array([1.0, -2.0], dtype=np.float32), requires_grad=True)
    assert optim.l2_penalty(theta).dtype == np.float32
    assert optim.l1_penalty([theta]).dtype == np.float32
    eta, W, b = (nr.tensor(np.ones(s, dtype=np.float32)) for s in [(2,), (2, 3), (2,)])
    assert optim.weight_decay_penalty(eta, W, b, M=2.0).dtype == np.float32
    assert optim.homogeneous_penalty(eta, W, b, M=2.0, lam=0.5).dtype == np.float32


def test_penalties_need_tensors():
    with pytest.raises(ValueError, match="no tensors"):
        optim.l2_penalty([])


# -------------------------------------------------------------------------------------- homogeneity (§II.1)
@given(hidden_layers())
def test_rescaling_hidden_units_leaves_the_network_unchanged(layer):
    eta, W, b, M, lam = layer
    rng = np.random.default_rng(1)
    alpha = np.exp(rng.uniform(-2.0, 2.0, eta.shape))
    x = rng.standard_normal((20, W.shape[1]))
    new_eta, new_W, new_b = optim.rescale_hidden_units(*leaves(eta, W, b), alpha)
    np.testing.assert_allclose(new_eta.data, eta * alpha, rtol=1e-15)
    np.testing.assert_allclose(new_W.data, W / alpha[:, None], rtol=1e-15)
    np.testing.assert_allclose(new_b.data, b / alpha, rtol=1e-15)
    np.testing.assert_allclose(network(new_eta.data, new_W.data, new_b.data, x), network(eta, W, b, x), atol=1e-12)
    # the weight-decay penalty sees the rescaling, the homogeneous one does not
    homogeneous = optim.homogeneous_penalty(*leaves(eta, W, b), M, lam).item()
    np.testing.assert_allclose(optim.homogeneous_penalty(new_eta, new_W, new_b, M, lam).item(), homogeneous, rtol=1e-12)


def test_weight_decay_penalty_changes_under_rescaling():
    eta, W, b = leaves([1.0, -2.0], [[1.0, 0.0], [0.0, 3.0]], [0.5, 1.0])
    before = optim.weight_decay_penalty(eta, W, b, M=2.0).item()
    after = optim.weight_decay_penalty(*optim.rescale_hidden_units(eta, W, b, [2.0, 2.0]), M=2.0).item()
    np.testing.assert_allclose(before, 1 + 4 + 1 + 9 + (0.25 + 1) / 4, rtol=1e-15)
    np.testing.assert_allclose(after, 4 * (1 + 4) + (1 + 9) / 4 + (0.25 + 1) / 16, rtol=1e-15)


def test_rescaling_is_differentiable_and_the_homogeneous_penalty_has_no_gradient_along_it():
    rng = np.random.default_rng(2)
    eta, W, b = leaves(rng.standard_normal(3), rng.standard_normal((3, 2)), rng.standard_normal(3))
    alpha = leaf(np.exp(rng.uniform(-1, 1, 3)))
    nr.gradcheck(
        lambda a, *p: optim.weight_decay_penalty(*optim.rescale_hidden_units(*p, a), 1.5, 0.7), (alpha, eta, W, b)
    )
    alpha.grad = None
    optim.homogeneous_penalty(*optim.rescale_hidden_units(eta, W, b, alpha), 1.5, 0.7).backward()
    np.testing.assert_allclose(alpha.grad.data, np.zeros(3), atol=1e-12)


def test_rescale_validation():
    eta, W, b = leaves([1.0, 2.0], [[1.0], [2.0]], [0.0, 1.0])
    with pytest.raises(ValueError, match="positive"):
        optim.rescale_hidden_units(eta, W, b, [1.0, 0.0])
    with pytest.raises(ShapeError, match=r"alpha must have shape \(2,\)"):
        optim.rescale_hidden_units(eta, W, b, [1.0, 2.0, 3.0])


# ------------------------------------------------------------------------------------ regularization (§II.2)
@given(hidden_layers())
def test_weight_decay_penalty_value_and_gradcheck(layer):
    eta, W, b, M, lam = layer
    expected = np.sum(lam * eta**2 + np.sum(W**2, axis=1) + b**2 / M**2)
    penalty = optim.weight_decay_penalty(*leaves(eta, W, b), M, lam)
    np.testing.assert_allclose(penalty.item(), expected, rtol=1e-12)
    nr.gradcheck(lambda *p: optim.weight_decay_penalty(*p, M, lam), leaves(eta, W, b))


@given(hidden_layers())
def test_homogeneous_penalty_value_gradient_and_gradcheck(layer):
    eta, W, b, M, lam = layer
    r = np.sqrt(np.sum(W**2, axis=1) + b**2 / M**2)
    params = leaves(eta, W, b)
    penalty = optim.homogeneous_penalty(*params, M, lam)
    np.testing.assert_allclose(penalty.item(), np.sum(2 * math.sqrt(lam) * np.abs(eta) * r), rtol=1e-12)
    penalty.backward()
    scale = 2 * math.sqrt(lam)
    np.testing.assert_allclose(params[0].grad.data, scale * np.sign(eta) * r, rtol=1e-12)
    np.testing.assert_allclose(params[1].grad.data, scale * (np.abs(eta) / r)[:, None] * W, rtol=1e-12)
    np.testing.assert_allclose(params[2].grad.data, scale * np.abs(eta) * b / (M**2 * r), rtol=1e-12)
    nr.gradcheck(lambda *p: optim.homogeneous_penalty(*p, M, lam), leaves(eta, W, b))


@pytest.mark.parametrize("lam", [0.25, 1.0, 3.0])
def test_minimizing_weight_decay_over_rescalings_gives_the_homogeneous_penalty(lam):
    rng = np.random.default_rng(3)
    m, d, M = 5, 3, 2.0
    eta, W, b = rng.standard_normal(m), rng.standard_normal((m, d)), rng.standard_normal(m)
    c = np.sum(W**2, axis=1) + b**2 / M**2
    best_alpha = np.empty(m)
    for j in range(m):
        # unit j's share of the weight-decay penalty after rescaling by α = e^s
        result = minimize_scalar(lambda s, j=j: lam * math.exp(2 * s) * eta[j] ** 2 + c[j] * math.exp(-2 * s))
        best_alpha[j] = math.exp(result.x)
        np.testing.assert_allclose(result.fun, 2 * math.sqrt(lam) * abs(eta[j]) * math.sqrt(c[j]), rtol=1e-9)
    np.testing.assert_allclose(best_alpha, (c / (lam * eta**2)) ** 0.25, rtol=1e-4)
    minimized = optim.weight_decay_penalty(*optim.rescale_hidden_units(*leaves(eta, W, b), best_alpha), M, lam)
    homogeneous = optim.homogeneous_penalty(*leaves(eta, W, b), M, lam)
    np.testing.assert_allclose(minimized.item(), homogeneous.item(), rtol=1e-9)
    assert optim.weight_decay_penalty(*leaves(eta, W, b), M, lam).item() >= homogeneous.item()


def test_dead_unit_gets_the_zero_subgradient():
    eta, W, b = leaves([0.0, 2.0], [[0.0, 0.0], [3.0, 0.0]], [0.0, 4.0])
    penalty = optim.homogeneous_penalty(eta, W, b, M=2.0, lam=4.0)
    np.testing.assert_allclose(penalty.item(), 2 * 2 * 2 * math.sqrt(9 + 4), rtol=1e-15)
    penalty.backward()
    r = math.sqrt(13.0)
    np.testing.assert_array_equal(eta.grad.data[0], 0.0)
    np.testing.assert_array_equal(W.grad.data[0], [0.0, 0.0])
    np.testing.assert_array_equal(b.grad.data[0], 0.0)
    np.testing.assert_allclose(eta.grad.data[1], 4 * r, rtol=1e-15)
    np.testing.assert_allclose(W.grad.data[1], [4 * 2 * 3 / r, 0.0], rtol=1e-15)
    np.testing.assert_allclose(b.grad.data[1], 4 * 2 * 4 / (4 * r), rtol=1e-15)


def test_hidden_layer_validation():
    eta, W, b = leaves([1.0, 2.0], [[1.0], [2.0]], [0.0, 1.0])
    with pytest.raises(ShapeError, match=r"homogeneous_penalty: .*eta \(2,\), W \(2,\) and b \(2,\)"):
        optim.homogeneous_penalty(eta, leaf([1.0, 2.0]), b, M=1.0)
    with pytest.raises(ShapeError, match="weight_decay_penalty"):
        optim.weight_decay_penalty(leaf([1.0]), W, b, M=1.0)
    with pytest.raises(ValueError, match="M must be positive"):
        optim.homogeneous_penalty(eta, W, b, M=0.0)
    with pytest.raises(ValueError, match="lam must be non-negative"):
        optim.weight_decay_penalty(eta, W, b, M=1.0, lam=-1.0)
