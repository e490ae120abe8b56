"""residual_trajectory on ResNets whose states and gradients are known exactly."""

from __future__ import annotations

import numpy as np
import pytest

import neurones as nr
from neurones.analysis import ResidualTrajectory, residual_trajectory
from neurones.nn import ScaledResNet


@pytest.mark.parametrize("block", ["res-1", "res-2", "res-3"])
def test_zero_residual_branches_give_the_identity(block, rng):
    net = ScaledResNet(3, 5, 2, 4, block=block, rng=0, dtype=np.float64)
    for b in net.blocks:
        b.V.data[...] = 0.0
    x = rng.standard_normal((6, 3))
    u = rng.standard_normal((6, 5))
    trajectory = residual_trajectory(net, nr.tensor(x), u)
    assert isinstance(trajectory, ResidualTrajectory)
    assert trajectory.state_norms.shape == trajectory.gradient_norms.shape == (5, 6)
    assert np.all(trajectory.state_ratio == 0) and np.all(trajectory.gradient_ratio == 0)
    h0 = x @ net.A.data.T
    np.testing.assert_allclose(trajectory.state_norms, np.tile(np.linalg.norm(h0, axis=1), (5, 1)), rtol=1e-12)
    np.testing.assert_allclose(trajectory.gradient_norms, np.tile(np.linalg.norm(u, axis=1), (5, 1)), rtol=1e-12)


def test_one_res3_block_by_hand(rng):
    # h_1 = h_0 + α V ReLU(W h_0); p_1 = u; p_0 = u + Wᵀ(1[W h_0 > 0] ⊙ α Vᵀ u) (rows: examples).
    net = ScaledResNet(3, 4, 2, 1, block="res-3", alpha=0.7, rng=2, dtype=np.float64)
    A, V, W = net.A.data, net.blocks[0].V.data, net.blocks[0].W.data
    x, u = rng.standard_normal((5, 3)), rng.standard_normal((5, 4))
    trajectory = residual_trajectory(net, nr.tensor(x), u)
    h0 = x @ A.T
    pre = h0 @ W.T
    h1 = h0 + 0.7 * np.maximum(pre, 0) @ V.T
    p0 = u + ((0.7 * u @ V) * (pre > 0)) @ W
    np.testing.assert_allclose(trajectory.state_norms, np.linalg.norm(np.stack([h0, h1]), axis=2), rtol=1e-12)
    np.testing.assert_allclose(trajectory.gradient_norms, np.linalg.norm(np.stack([p0, u]), axis=2), rtol=1e-12)
    np.testing.assert_allclose(
        trajectory.state_ratio, np.linalg.norm(h1 - h0, axis=1) / np.linalg.norm(h0, axis=1), rtol=1e-12
    )
    np.testing.assert_allclose(
        trajectory.gradient_ratio, np.linalg.norm(p0 - u, axis=1) / np.linalg.norm(u, axis=1), rtol=1e-12
    )


def test_float32_network(rng):
    net = ScaledResNet(3, 4, 2, 3, rng=1)
    trajectory = residual_trajectory(net, nr.randn(2, 3, rng=0), rng.standard_normal((2, 4)).astype(np.float32))
    assert trajectory.state_norms.dtype == np.float64 and trajectory.state_ratio.shape == (2,)
    assert np.all(np.isfinite(trajectory.gradient_ratio)) and np.all(trajectory.gradient_ratio > 0)


def test_mismatched_cotangent_is_refused():
    net = ScaledResNet(3, 4, 2, 2, rng=0)
    with pytest.raises(ValueError, match=r"cotangent has shape \(2, 2\).*\(2, 4\)"):
        residual_trajectory(net, nr.ones(2, 3), np.ones((2, 2), np.float32))
