"""ScaledResNet (Shen & Vin, Table 2.1) against an unfused NumPy forward, its initialization law, and its gradients."""

from __future__ import annotations

import math

import numpy as np
import pytest

import neurones as nr
from neurones.nn import ScaledResidualBlock, ScaledResNet


def leaky(u, slope):
    return np.where(u > 0, u, slope * u)


def reference_states(net: ScaledResNet, x: np.ndarray, sigma) -> list[np.ndarray]:
    """h_0 = A x, h_{k+1} = h_k + α V_{k+1} g(h_k), with g(h) = σ(h) (res-1) or σ(W h), rows of x as examples."""
    h = x @ net.A.data.T
    states = [h]
    for block in net.blocks:
        u = h if block.W is None else h @ block.W.data.T
        h = h + net.alpha * sigma(u) @ block.V.data.T
        states.append(h)
    return states


@pytest.mark.parametrize(
    ("depth", "beta", "alpha", "expected"),
    [(16, 0.5, None, 0.25), (100, 1.0, None, 0.01), (81, 0.25, None, 1 / 3), (10, 0.5, 0.3, 0.3), (7, 2.0, 1, 1.0)],
)
def test_residual_scale(depth, beta, alpha, expected):
    net = ScaledResNet(2, 3, 1, depth, beta=beta, alpha=alpha, rng=0)
    assert net.alpha == pytest.approx(expected, rel=1e-14)
    assert all(block.alpha == net.alpha for block in net.blocks)


def test_default_scale_is_critical():
    assert ScaledResNet(2, 3, 1, 25, rng=0).alpha == pytest.approx(0.2, rel=1e-14)


@pytest.mark.parametrize("block", ["res-1", "res-2", "res-3"])
def test_output_and_state_shapes(block):
    net = ScaledResNet(5, 7, 3, 4, block=block, rng=0)
    x = nr.randn(6, 5, rng=1)
    assert net(x).shape == (6, 3)
    out, states = net(x, return_states=True)
    assert out.shape == (6, 3) and len(states) == 5
    assert all(s.shape == (6, 7) and s.dtype == np.float32 for s in states)
    assert out.dtype == np.float32


def test_states_are_graph_tensors_whose_gradients_are_p_k(rng):
    net = ScaledResNet(3, 4, 2, 3, block="res-1", rng=0, dtype=np.float64)
    x = nr.tensor(rng.standard_normal((5, 3)))
    out, states = net(x, return_states=True)
    for s in states:
        s.retain_grad()
    g = rng.standard_normal((5, 2))
    out.backward(g)
    # p_L = ∂⟨g, B h_L⟩/∂h_L = g B; for res-1 p_k = p_{k+1} + α (p_{k+1} V ⊙ σ′(h_k)); ∂L/∂A = p_0ᵀ x.
    p = g @ net.B.data
    np.testing.assert_allclose(states[-1].grad.data, p, rtol=1e-12)
    for k in range(net.depth - 1, -1, -1):
        h_k = states[k].data
        p = p + net.alpha * (p @ net.blocks[k].V.data) * np.where(h_k > 0, 1.0, 0.75)
        np.testing.assert_allclose(states[k].grad.data, p, rtol=1e-10)
    np.testing.assert_allclose(net.A.grad.data, p.T @ x.data, rtol=1e-10)


@pytest.mark.parametrize("init", ["gaussian", "uniform"])
@pytest.mark.parametrize(
    ("block", "activation", "sigma"),
    [
        ("res-1", None, lambda u: leaky(u, 0.75)),
        ("res-1", "tanh", np.tanh),
        ("res-2", None, lambda u: leaky(u, 0.75)),
        ("res-2", "identity", lambda u: u),
        ("res-3", None, lambda u: np.maximum(u, 0)),
        ("res-3", "relu", lambda u: np.maximum(u, 0)),
    ],
)
def test_forward_matches_unfused_reference(rng, block, activation, sigma, init):
    net = ScaledResNet(4, 6, 3, 5, block=block, activation=activation, init=init, rng=3, dtype=np.float64)
    x = rng.standard_normal((8, 4))
    out, states = net(nr.tensor(x), return_states=True)
    expected = reference_states(net, x, sigma)
    for state, ref in zip(states, expected, strict=True):
        np.testing.assert_allclose(state.data, ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(out.data, expected[-1] @ net.B.data.T, rtol=1e-12, atol=1e-12)


def test_negative_slope_is_used(rng):
    net = ScaledResNet(4, 6, 3, 3, block="res-2", negative_slope=0.2, rng=5, dtype=np.float64)
    x = rng.standard_normal((8, 4))
    _, states = net(nr.tensor(x), return_states=True)
    np.testing.assert_allclose(states[-1].data, reference_states(net, x, lambda u: leaky(u, 0.2))[-1], rtol=1e-12)


def test_float32_forward_matches_reference(rng):
    net = ScaledResNet(4, 6, 3, 5, block="res-3", rng=3)
    x = rng.standard_normal((8, 4)).astype(np.float32)
    out = net(nr.tensor(x))
    assert out.dtype == np.float32 and net.A.dtype == np.float32 and net.blocks[0].W.dtype == np.float32
    expected = reference_states(net, x.astype(np.float64), lambda u: np.maximum(u, 0))[-1] @ net.B.data.T
    np.testing.assert_allclose(out.data, expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("init", ["gaussian", "uniform"])
def test_initialization_has_unit_variance(init):
    width, depth = 100, 8
    net = ScaledResNet(50, width, 20, depth, block="res-2", init=init, rng=0, dtype=np.float64)
    scale = math.sqrt(width)
    for name in ("V", "W"):
        entries = np.concatenate([getattr(b, name).data.ravel() * scale for b in net.blocks])
        n = entries.size  # 80 000: the sample mean has stderr 0.0035, the sample variance ≤ 0.005
        assert abs(entries.mean()) < 5 / math.sqrt(n)
        assert entries.var() == pytest.approx(1.0, abs=5 * math.sqrt(2 / n))
        if init == "uniform":
            assert np.abs(entries).max() <= math.sqrt(3) and np.abs(entries).max() > 0.99 * math.sqrt(3)
        else:
            assert np.abs(entries).max() > math.sqrt(3)
    # Embedding and read-out are Gaussian of variance 1/n_in and 1/d whatever ``init`` is.
    assert net.A.data.var() * 50 == pytest.approx(1.0, abs=0.1)
    assert net.B.data.var() * width == pytest.approx(1.0, abs=0.2)
    assert np.abs(net.A.data).max() * math.sqrt(50) > math.sqrt(3)


def test_res1_has_no_inner_matrix():
    net = ScaledResNet(3, 4, 2, 2, block="res-1", rng=0)
    assert all(b.W is None for b in net.blocks)
    assert {name for name, _ in net.named_parameters()} == {"A", "B", "blocks.0.V", "blocks.1.V"}


@pytest.mark.parametrize("block", ["res-2", "res-3"])
def test_state_dict_keys(block):
    net = ScaledResNet(3, 4, 2, 2, block=block, rng=0)
    assert set(net.state_dict()) == {"A", "B", "blocks.0.V", "blocks.0.W", "blocks.1.V", "blocks.1.W"}
    assert net.state_dict()["blocks.1.W"].shape == (4, 4)
    assert net.state_dict()["A"].shape == (4, 3) and net.state_dict()["B"].shape == (2, 4)


def test_res3_refuses_another_activation():
    with pytest.raises(ValueError, match="res-3"):
        ScaledResNet(3, 4, 2, 2, block="res-3", activation="tanh")
    assert ScaledResNet(3, 4, 2, 2, block="res-3", activation="relu", rng=0).blocks[0].activation == "relu"


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"block": "res-4"}, "block"),
        ({"init": "orthogonal"}, "init"),
        ({"depth": 0}, "depth"),
        ({"block": "res-2", "activation": "swish"}, "activation"),
    ],
)
def test_bad_arguments(kwargs, match):
    args = {"in_features": 3, "width": 4, "out_features": 2, "depth": 2, **kwargs}
    with pytest.raises(ValueError, match=match):
        ScaledResNet(**args)


def test_seeds_reproduce_the_network():
    a, b = ScaledResNet(3, 5, 2, 4, block="res-2", rng=7), ScaledResNet(3, 5, 2, 4, block="res-2", rng=7)
    c = ScaledResNet(3, 5, 2, 4, block="res-2", rng=8)
    for key, value in a.state_dict().items():
        assert np.array_equal(value, b.state_dict()[key])
    assert not np.array_equal(a.state_dict()["blocks.0.V"], c.state_dict()["blocks.0.V"])
    g1, g2 = np.random.default_rng(3), np.random.default_rng(3)
    d, e = ScaledResNet(3, 5, 2, 4, rng=g1), ScaledResNet(3, 5, 2, 4, rng=g2)
    assert np.array_equal(d.blocks[3].W.data, e.blocks[3].W.data)


def test_block_is_a_module():
    block = ScaledResidualBlock(4, "res-2", 0.5, "tanh", 0.0, "gaussian", np.random.default_rng(0), np.float64)
    h = np.random.default_rng(1).standard_normal((3, 4))
    out = block(nr.tensor(h))
    np.testing.assert_allclose(out.data, h + 0.5 * np.tanh(h @ block.W.data.T) @ block.V.data.T, rtol=1e-12)
    assert "res-2" in repr(block) and "alpha=0.5" in repr(block)


@pytest.mark.parametrize("block", ["res-1", "res-2", "res-3"])
def test_gradients_reach_every_parameter(block, rng):
    net = ScaledResNet(3, 3, 2, 2, block=block, rng=11, dtype=np.float64)
    x = nr.tensor(rng.standard_normal((4, 3)), requires_grad=True)
    params = list(net.parameters())
    assert len(params) == (4 if block == "res-1" else 6)
    assert nr.gradcheck(lambda x, *_: net(x), (x, *params))
    net(x).backward(rng.standard_normal((4, 2)))
    assert all(p.grad is not None and np.any(p.grad.data != 0) for p in params)
