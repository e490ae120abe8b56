"""Activations: values against reference formulas, gradient checks, subgradient conventions, stability at ±1e4."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import special

import neurones as nr
from neurones import functional as F
from neurones.errors import ShapeError
from tests.helpers import leaf, reference_library, shapes


def _gelu_tanh(x):
    return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))


def _softplus(x, beta, threshold):
    return np.where(beta * x > threshold, x, np.log1p(np.exp(beta * x)) / beta)


# name -> (the op, a reference formula in float64 for moderate inputs)
ELEMENTWISE = {
    "sigmoid": (F.sigmoid, special.expit),
    "tanh": (F.tanh, np.tanh),
    "relu": (F.relu, lambda x: np.maximum(x, 0)),
    "leaky_relu": (lambda x: F.leaky_relu(x, 0.2), lambda x: np.where(x > 0, x, 0.2 * x)),
    "elu": (lambda x: F.elu(x, alpha=1.5), lambda x: np.where(x > 0, x, 1.5 * (np.exp(x) - 1))),
    "gelu": (F.gelu, lambda x: x * special.ndtr(x)),
    "gelu_tanh": (lambda x: F.gelu(x, approximate="tanh"), _gelu_tanh),
    "softplus": (F.softplus, lambda x: _softplus(x, 1.0, 20.0)),
    "softplus_beta": (lambda x: F.softplus(x, beta=2.0, threshold=3.0), lambda x: _softplus(x, 2.0, 3.0)),
    "silu": (F.silu, lambda x: x * special.expit(x)),
    "arctan": (F.arctan, np.arctan),
    "hardtanh": (lambda x: F.hardtanh(x, -0.5, 1.5), lambda x: np.clip(x, -0.5, 1.5)),
}


@pytest.mark.parametrize("name", ELEMENTWISE)
@given(shape=shapes, seed=st.integers(0, 2**16))
def test_forward_matches_reference_formula(name, shape, seed):
    op, reference = ELEMENTWISE[name]
    x = np.random.default_rng(seed).standard_normal(shape) * 3
    out = op(nr.tensor(x))
    assert out.shape == x.shape
    np.testing.assert_allclose(out.data, reference(x), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", ELEMENTWISE)
@given(shape=shapes, seed=st.integers(0, 2**16))
def test_gradcheck(name, shape, seed):
    op, _ = ELEMENTWISE[name]
    x = np.random.default_rng(seed).standard_normal(shape) * 3
    # Keep clear of the kinks (0 for the ReLU family, the clipping bounds, softplus's threshold at x = 1.5).
    x = np.where(np.min(np.abs(x[..., None] - np.array([0.0, -0.5, 1.5])), axis=-1) < 1e-3, 0.7, x)
    assert nr.gradcheck(op, leaf(x))


def test_derivatives_from_saved_outputs(rng):
    x = rng.standard_normal(50)
    s, t = special.expit(x), np.tanh(x)
    for op, derivative in ((F.sigmoid, s * (1 - s)), (F.tanh, 1 - t * t), (F.arctan, 1 / (1 + x * x))):
        xt = leaf(x)
        op(xt).backward(np.ones(50))
        np.testing.assert_allclose(xt.grad.data, derivative, rtol=1e-12)


@pytest.mark.parametrize(
    ("op", "at", "expected"),
    [
        (F.relu, 0.0, 0.0),
        (lambda x: F.leaky_relu(x, 0.1), 0.0, 0.1),
        (lambda x: F.elu(x, alpha=2.0), 0.0, 2.0),
        (F.hardtanh, -1.0, 0.0),
        (F.hardtanh, 1.0, 0.0),
        (lambda x: F.softplus(x, threshold=1.0), 1.5, 1.0),
    ],
    ids=["relu", "leaky_relu", "elu", "hardtanh_low", "hardtanh_high", "softplus_above_threshold"],
)
def test_conventions_at_non_differentiable_points(op, at, expected):
    x = leaf([at])
    op(x).backward(np.ones(1))
    assert x.grad.data[0] == expected


def test_subgradient_conventions_match_torch():
    torch = reference_library("torch")
    points = np.array([-1.0, 0.0, 1.0, -2.0, 2.0])
    pairs = [
        (F.relu, torch.relu),
        (lambda x: F.leaky_relu(x, 0.3), lambda x: torch.nn.functional.leaky_relu(x, 0.3)),
        (lambda x: F.elu(x, 0.7), lambda x: torch.nn.functional.elu(x, 0.7)),
        (F.hardtanh, torch.nn.functional.hardtanh),
    ]
    for mine, theirs in pairs:
        x, tx = leaf(points), torch.tensor(points, requires_grad=True)
        mine(x).backward(np.ones(5))
        theirs(tx).backward(torch.ones(5))
        np.testing.assert_allclose(x.grad.data, tx.grad.numpy(), rtol=1e-14, atol=0)


@pytest.mark.parametrize(
    ("mine", "theirs"),
    [
        (F.gelu, lambda t, x: t.nn.functional.gelu(x)),
        (lambda x: F.gelu(x, approximate="tanh"), lambda t, x: t.nn.functional.gelu(x, approximate="tanh")),
        (F.softplus, lambda t, x: t.nn.functional.softplus(x)),
        (lambda x: F.softplus(x, 0.5, 4.0), lambda t, x: t.nn.functional.softplus(x, beta=0.5, threshold=4.0)),
        (lambda x: F.softplus(x, 3.0, 2.0), lambda t, x: t.nn.functional.softplus(x, beta=3.0, threshold=2.0)),
        (F.elu, lambda t, x: t.nn.functional.elu(x)),
        (lambda x: F.elu(x, 0.4), lambda t, x: t.nn.functional.elu(x, alpha=0.4)),
        (F.silu, lambda t, x: t.nn.functional.silu(x)),
        (F.sigmoid, lambda t, x: t.sigmoid(x)),
    ],
    ids=[
        "gelu",
        "gelu_tanh",
        "softplus",
        "softplus_small_beta",
        "softplus_large_beta",
        "elu",
        "elu_alpha",
        "silu",
        "sigmoid",
    ],
)
def test_values_and_gradients_match_torch(mine, theirs, rng):
    torch = reference_library("torch")
    x_np = np.concatenate([rng.standard_normal(40) * 4, [-30.0, -10.0, 0.0, 10.0, 30.0]])
    g = rng.standard_normal(x_np.shape)
    x, tx = leaf(x_np), torch.tensor(x_np, requires_grad=True)
    out, t_out = mine(x), theirs(torch, tx)
    np.testing.assert_allclose(out.data, t_out.detach().numpy(), rtol=1e-12, atol=1e-14)
    out.backward(g)
    t_out.backward(torch.tensor(g))
    np.testing.assert_allclose(x.grad.data, tx.grad.numpy(), rtol=1e-10, atol=1e-14)


# ------------------------------------------------------------------------------------------------ stability
EXTREMES = [-1e4, -100.0, -1.0, 0.0, 1.0, 100.0, 1e4]

# name -> the exact values at -1e4 and +1e4
LIMITS = {
    "sigmoid": (0.0, 1.0),
    "tanh": (-1.0, 1.0),
    "relu": (0.0, 1e4),
    "leaky_relu": (-2e3, 1e4),
    "elu": (-1.5, 1e4),
    "gelu": (0.0, 1e4),
    "gelu_tanh": (0.0, 1e4),
    "softplus": (0.0, 1e4),
    "softplus_beta": (0.0, 1e4),
    "silu": (0.0, 1e4),
    "arctan": (-math.atan(1e4), math.atan(1e4)),  # π/2 − 1e-4: arctan approaches its limit slowly
    "hardtanh": (-0.5, 1.5),
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ELEMENTWISE)
def test_stable_at_extreme_inputs(name, dtype):
    op, _ = ELEMENTWISE[name]
    x = nr.tensor(np.array(EXTREMES, dtype=dtype), requires_grad=True)
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
        warnings.simplefilter("error")
        out = op(x)
        out.backward(np.ones(len(EXTREMES), dtype))
    assert out.dtype == dtype and x.grad.dtype == dtype
    assert np.all(np.isfinite(out.data)) and np.all(np.isfinite(x.grad.data))
    low, high = LIMITS[name]
    np.testing.assert_allclose(out.data[[0, -1]], [low, high], rtol=1e-6, atol=1e-6)
    # Far from 0 every one of these functions is flat or has slope 1 (or the leaky slope / 0 on the left).
    assert np.all((x.grad.data[[0, -1]] >= 0) & (x.grad.data[[0, -1]] <= 1))


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_float32_stays_float32(name):
    op, _ = ELEMENTWISE[name]
    x = nr.tensor(np.linspace(-3, 3, 7, dtype=np.float32), requires_grad=True)
    out = op(x)
    out.backward(np.ones(7, np.float32))
    assert out.dtype == np.float32 and x.grad.dtype == np.float32


def test_gelu_rejects_unknown_approximation():
    with pytest.raises(ValueError, match="gelu: approximate"):
        F.gelu(nr.zeros(2), approximate="erf")


# -------------------------------------------------------------------------------------------- softmax family
@st.composite
def shape_and_dim(draw):
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=3)))
    dim = draw(st.integers(-len(shape), len(shape) - 1))
    return shape, dim


@given(case=shape_and_dim(), seed=st.integers(0, 2**16))
def test_softmax_and_log_softmax_match_scipy(case, seed):
    shape, dim = case
    x = np.random.default_rng(seed).standard_normal(shape) * 5
    np.testing.assert_allclose(F.softmax(nr.tensor(x), dim).data, special.softmax(x, axis=dim), rtol=1e-12)
    np.testing.assert_allclose(F.log_softmax(nr.tensor(x), dim).data, special.log_softmax(x, axis=dim), rtol=1e-12)
    np.testing.assert_allclose(F.softmax(nr.tensor(x), dim).data.sum(axis=dim), 1.0, rtol=1e-12)


@given(case=shape_and_dim(), seed=st.integers(0, 2**16))
def test_softmax_and_log_softmax_gradcheck(case, seed):
    shape, dim = case
    rng = np.random.default_rng(seed)
    assert nr.gradcheck(lambda x: F.softmax(x, dim), leaf(rng.standard_normal(shape)))
    assert nr.gradcheck(lambda x: F.log_softmax(x, dim), leaf(rng.standard_normal(shape)))


def test_softmax_jacobian_is_diag_minus_outer(rng):
    x = rng.standard_normal(4)
    p = special.softmax(x)
    jacobian = np.diag(p) - np.outer(p, p)
    for i in range(4):
        xt = leaf(x)
        F.softmax(xt, 0).backward(np.eye(4)[i])
        np.testing.assert_allclose(xt.grad.data, jacobian[i], rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_family_is_stable_at_extreme_inputs(dtype):
    x_np = np.array([[1e4, -1e4, 0.0], [1e4, 1e4, -1e4]], dtype=dtype)
    g = np.array([[1.0, 0.0, 0.0], [1.0, 0.0, 0.0]], dtype=dtype)
    log2 = math.log(2)
    cases = (  # op, value, gradient for the cotangent g: p ⊙ (g − Σ g p) and g − p Σ g
        (F.softmax, [[1.0, 0.0, 0.0], [0.5, 0.5, 0.0]], [[0.0, 0.0, 0.0], [0.25, -0.25, 0.0]]),
        (F.log_softmax, [[0.0, -2e4, -1e4], [-log2, -log2, -2e4 - log2]], [[0.0, 0.0, 0.0], [0.5, -0.5, 0.0]]),
    )
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
        warnings.simplefilter("error")
        for op, value, gradient in cases:
            x = nr.tensor(x_np, requires_grad=True)
            out = op(x, 1)
            out.backward(g)
            assert out.dtype == dtype
            np.testing.assert_allclose(out.data, value, rtol=1e-6, atol=1e-6)
            np.testing.assert_allclose(x.grad.data, gradient, rtol=1e-6, atol=1e-6)


def test_softmax_dim_out_of_range():
    with pytest.raises(ShapeError, match="softmax: dim 2 is out of range"):
        F.softmax(nr.zeros(2, 3), 2)
    with pytest.raises(ShapeError, match="log_softmax: dim -3"):
        F.log_softmax(nr.zeros(2, 3), -3)


# ---------------------------------------------------------------------------------------------------- binding
def test_methods_and_top_level_names(rng):
    x_np = rng.standard_normal((3, 4))
    x = nr.tensor(x_np)
    pairs = [
        (x.sigmoid(), special.expit(x_np)),
        (x.tanh(), np.tanh(x_np)),
        (x.relu(), np.maximum(x_np, 0)),
        (x.arctan(), np.arctan(x_np)),
        (x.atan(), np.arctan(x_np)),
        (x.softmax(1), special.softmax(x_np, axis=1)),
        (x.log_softmax(0), special.log_softmax(x_np, axis=0)),
        (nr.sigmoid(x), special.expit(x_np)),
        (nr.tanh(x), np.tanh(x_np)),
        (nr.relu(x), np.maximum(x_np, 0)),
        (nr.softmax(x, -1), special.softmax(x_np, axis=-1)),
    ]
    for out, expected in pairs:
        np.testing.assert_allclose(out.data, expected, rtol=1e-12)


@pytest.mark.parametrize("name", ["relu", "leaky_relu", "tanh", "sigmoid", "gelu", "identity"])
def test_array_activation_and_slope_is_the_kernel_pair(name):
    from neurones.ops.activations import array_activation, array_activation_and_slope

    u = np.array([-2.3, -0.4, 0.7, 1.9])
    value, slope = array_activation_and_slope(name, 0.3)(u)
    np.testing.assert_array_equal(value, array_activation(name, 0.3)(u))
    h = 1e-6
    numeric = (array_activation(name, 0.3)(u + h) - array_activation(name, 0.3)(u - h)) / (2 * h)
    np.testing.assert_allclose(slope, numeric, rtol=1e-6, atol=1e-8)
    assert u.tolist() == [-2.3, -0.4, 0.7, 1.9]  # the argument is left alone
