"""The fused residual block against its unfused definition h + α V σ(W h)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.special import erf

import neurones as nr
from neurones.errors import ShapeError
from neurones.ops.residual import ACTIVATIONS, residual_block
from tests.helpers import randn_leaf, reference_library


def reference(h, V, W, alpha, activation, slope):
    u = h @ W.T if W is not None else h
    r = {
        "relu": np.maximum(u, 0),
        "leaky_relu": np.where(u > 0, u, slope * u),
        "tanh": np.tanh(u),
        "sigmoid": 1 / (1 + np.exp(-u)),
        "gelu": u * 0.5 * (1 + erf(u / np.sqrt(2))),
        "identity": u,
    }[activation]
    return h + alpha * r @ V.T


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("with_inner", [True, False])
def test_forward_matches_definition(rng, activation, with_inner):
    h, V = rng.standard_normal((5, 4)), rng.standard_normal((4, 4))
    W = rng.standard_normal((4, 4)) if with_inner else None
    out = residual_block(nr.tensor(h), nr.tensor(V), None if W is None else nr.tensor(W), 0.3, activation, 0.2)
    np.testing.assert_allclose(out.data, reference(h, V, W, 0.3, activation, 0.2), rtol=1e-12)


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_rectangular_block_matches_definition(rng, activation):
    h, V, W = rng.standard_normal((5, 3)), rng.standard_normal((3, 7)), rng.standard_normal((7, 3))
    out = residual_block(nr.tensor(h), nr.tensor(V), nr.tensor(W), 0.25, activation, 0.2)
    np.testing.assert_allclose(out.data, reference(h, V, W, 0.25, activation, 0.2), rtol=1e-12)


def test_gelu_block_matches_torch(rng):
    torch = reference_library("torch")
    h, V, W = rng.standard_normal((6, 4)), rng.standard_normal((4, 8)), rng.standard_normal((8, 4))
    g = rng.standard_normal((6, 4))
    ours = [nr.tensor(a, requires_grad=True) for a in (h, V, W)]
    residual_block(*ours, alpha=0.5, activation="gelu").backward(g)
    theirs = [torch.tensor(a, requires_grad=True) for a in (h, V, W)]
    th, tV, tW = theirs
    (th + 0.5 * torch.nn.functional.gelu(th @ tW.T) @ tV.T).backward(torch.tensor(g))
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a.grad.data, b.grad.numpy(), rtol=1e-10, atol=1e-12)


@given(
    n=st.integers(1, 4),
    d=st.integers(1, 5),
    m=st.integers(1, 5),
    activation=st.sampled_from(ACTIVATIONS),
    with_inner=st.booleans(),
    alpha=st.floats(0.05, 2.0),
    seed=st.integers(0, 1000),
)
def test_gradcheck(n, d, m, activation, with_inner, alpha, seed):
    rng = np.random.default_rng(seed)
    h, V = randn_leaf(rng, n, d), randn_leaf(rng, d, m if with_inner else d)
    if with_inner:
        W = randn_leaf(rng, m, d)
        assert nr.gradcheck(lambda h, V, W: residual_block(h, V, W, alpha, activation, 0.3), (h, V, W))
    else:
        assert nr.gradcheck(lambda h, V: residual_block(h, V, None, alpha, activation, 0.3), (h, V))


def test_float32_stays_float32(rng):
    h = nr.tensor(rng.standard_normal((3, 4)).astype(np.float32), requires_grad=True)
    V = nr.tensor(rng.standard_normal((4, 4)).astype(np.float32), requires_grad=True)
    out = residual_block(h, V, V, 0.5)
    out.backward(np.ones((3, 4), np.float32))
    assert out.dtype == np.float32 and h.grad.dtype == np.float32 and V.grad.dtype == np.float32


def test_shape_errors_name_the_op():
    with pytest.raises(ShapeError, match=r"residual_block.*\(3, 5\)"):
        residual_block(nr.ones(2, 4), nr.ones(3, 5))
    with pytest.raises(ShapeError, match=r"V \(q, m\) and W \(m, q\).*W \(6, 4\)"):
        residual_block(nr.ones(2, 4), nr.ones(4, 5), nr.ones(6, 4))


def test_unknown_activation():
    with pytest.raises(ValueError, match="activation"):
        residual_block(nr.ones(2, 4), nr.ones(4, 4), activation="swish")


@pytest.mark.parametrize("activation, slope", [(a, 0.2) for a in ACTIVATIONS] + [("leaky_relu", -0.5)])
def test_gradients_equal_those_of_the_unfused_chain_of_activation_nodes(rng, activation, slope):
    # The block and the activation nodes run one forward/derivative pair (ops.activations.KERNELS): they agree at
    # the kinks too (u = 0 exactly, from the zero rows of h), and for a negative leaky slope, where the output's
    # sign no longer tells which side of 0 the input was on.
    h, V, W = rng.standard_normal((6, 4)), rng.standard_normal((4, 5)), rng.standard_normal((5, 4))
    h[:2] = 0.0
    g = rng.standard_normal((6, 4))
    nodes = {
        "relu": nr.functional.relu,
        "leaky_relu": lambda u: nr.functional.leaky_relu(u, slope),
        "tanh": nr.functional.tanh,
        "sigmoid": nr.functional.sigmoid,
        "gelu": nr.functional.gelu,
        "identity": lambda u: u,
    }
    fused = [nr.tensor(a, requires_grad=True) for a in (h, V, W)]
    residual_block(*fused, alpha=0.7, activation=activation, negative_slope=slope).backward(g)
    chain = [nr.tensor(a, requires_grad=True) for a in (h, V, W)]
    (chain[0] + 0.7 * nodes[activation](chain[0] @ chain[2].T) @ chain[1].T).backward(g)
    for a, b in zip(fused, chain):
        np.testing.assert_allclose(a.grad.data, b.grad.data, rtol=1e-12, atol=1e-15)
