"""ODEResNet (seed 003): the forward recursion, the initializations, the maps A and B, the flow's groups."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import erf

import neurones as nr
from neurones.nn import ConstantInDepth, GaussianProcessInDepth, ODEResNet


def gelu(u):
    return u * 0.5 * (1 + erf(u / np.sqrt(2)))


def explicit_forward(x, V, W, A=None, B=None):
    h = x if A is None else x @ A.T
    for V_k, W_k in zip(V, W, strict=True):
        h = h + gelu(h @ W_k.T) @ V_k.T / len(V)
    return h if B is None else h @ B.T


@pytest.mark.parametrize("maps", [("identity", "identity"), ("random", "random")])
def test_forward_is_the_euler_recursion(rng, maps):
    embedding, readout = maps
    d = 4 if embedding == "identity" else 3
    net = ODEResNet(d, 4, 6, 4 if readout == "identity" else 2, depth=5, V_init="iid", W_init="iid",
                    embedding=embedding, readout=readout, rng=0, dtype=np.float64)
    x = rng.standard_normal((7, d))
    V, W = net.stacked_weights()
    A = None if net.A is None else net.A.data
    B = None if net.B is None else net.B.data
    out, states = net(nr.tensor(x), return_states=True)
    np.testing.assert_allclose(out.data, explicit_forward(x, V, W, A, B), rtol=1e-12)
    assert len(states) == 6


def test_initializations(rng):
    net = ODEResNet(4, 4, 3, 4, depth=6, V_init="zero", W_init="constant", std=2.0, rng=0, dtype=np.float64)
    V, W = net.stacked_weights()
    assert V.shape == (6, 4, 3) and W.shape == (6, 3, 4)
    assert np.all(V == 0) and np.all(W[0] == W) and W.std() == pytest.approx(2.0, rel=0.5)
    iid = ODEResNet(4, 4, 3, 4, depth=6, V_init="iid", W_init="iid", rng=0).stacked_weights()[1]
    assert not np.allclose(iid[0], iid[1])
    gp = ODEResNet(4, 4, 3, 4, depth=64, V_init="gp", W_init="gp", bandwidth=0.3, rng=0).stacked_weights()[0]
    assert np.abs(np.diff(gp, axis=0)).max() < 0.2 < np.abs(gp).max()


def test_weight_functions_are_shared_across_depths():
    V_fn = GaussianProcessInDepth((4, 3), bandwidth=0.3, rng=1)
    W_fn = ConstantInDepth((3, 4), rng=2)
    shallow = ODEResNet(4, 4, 3, 4, depth=4, V_init=V_fn, W_init=W_fn, dtype=np.float64)
    deep = ODEResNet(4, 4, 3, 4, depth=8, V_init=V_fn, W_init=W_fn, dtype=np.float64)
    np.testing.assert_allclose(shallow.stacked_weights()[0], deep.stacked_weights()[0][1::2], rtol=1e-12)
    with pytest.raises(ValueError, match=r"weight function must give shape \(4, 4, 3\), got \(4, 3, 4\)"):
        ODEResNet(4, 4, 3, 4, depth=4, V_init=W_fn)


def test_maps_are_fixed_unless_asked():
    net = ODEResNet(5, 8, 3, 2, depth=2, embedding="random", readout="random", rng=0)
    assert not net.A.requires_grad and not net.B.requires_grad
    assert net.A.shape == (8, 5) and net.B.shape == (2, 8)
    assert sum(p.requires_grad for p in net.parameters()) == 4
    trained = ODEResNet(5, 8, 3, 2, depth=2, embedding="random", readout="random", train_embedding=True,
                        train_readout=True, rng=0)
    groups = trained.gradient_flow_groups(0.1)
    assert groups[0]["lr"] == pytest.approx(0.2) and len(groups[0]["params"]) == 4
    assert groups[1]["lr"] == pytest.approx(0.1) and groups[1]["params"] == [trained.A, trained.B]
    assert len(net.gradient_flow_groups(0.1)) == 1


def test_embedding_statistics():
    # Entries N(0, 1/d) keep ‖A x‖² ≈ ‖x‖² on average.
    net = ODEResNet(200, 300, 2, 300, depth=1, embedding="random", rng=0, dtype=np.float64)
    assert net.A.data.var() * 200 == pytest.approx(1.0, rel=0.02)


def test_argument_errors():
    with pytest.raises(ValueError, match="identity embedding needs width == in_features"):
        ODEResNet(3, 4, 2, 4, depth=2)
    with pytest.raises(ValueError, match="identity readout needs width == out_features"):
        ODEResNet(4, 4, 2, 3, depth=2)
    with pytest.raises(ValueError, match="activation"):
        ODEResNet(4, 4, 2, 4, depth=2, activation="swish")
    with pytest.raises(ValueError, match="weight initialization"):
        ODEResNet(4, 4, 2, 4, depth=2, W_init="he")
    with pytest.raises(ValueError, match="depth"):
        ODEResNet(4, 4, 2, 4, depth=0)


def test_state_dict_round_trip_and_repr():
    net = ODEResNet(4, 4, 3, 4, depth=3, V_init="iid", rng=0)
    copy = ODEResNet(4, 4, 3, 4, depth=3, V_init="zero", rng=1)
    copy.load_state_dict(net.state_dict())
    np.testing.assert_array_equal(copy.stacked_weights()[0], net.stacked_weights()[0])
    assert "depth=3, width=4, inner_width=3, activation=gelu" in repr(net)
    assert "step=1/3" in repr(net.blocks[0])
