"""Neural-ODE instruments (seed 003) on known answers: ramps, linear ODEs with a matrix exponential, PL ratios."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.linalg import expm

import neurones as nr
from neurones.analysis.neural_ode import (
    PiecewiseLinearInDepth,
    distance_to_neural_ode,
    features_at_zero_V,
    integrate_neural_ode,
    layer_steps,
    network_roughness,
    neural_ode_output,
    pl_ratio,
    roughness,
)
from neurones.nn import ConstantInDepth, ODEResNet
from neurones.ops.activations import array_activation


def test_roughness_of_a_ramp_is_its_step():
    step = np.arange(6.0).reshape(2, 3)
    stack = np.stack([k * step for k in range(5)])
    assert roughness(stack) == pytest.approx(np.linalg.norm(step))
    assert roughness(stack[:1]) == 0.0
    jump = stack.copy()
    jump[3] += 10.0  # the largest step wins, not the sum
    assert roughness(jump) == pytest.approx(np.linalg.norm(step + 10.0))


def test_layer_steps():
    weights = np.zeros((4, 2, 2))
    weights[1] = 3.0  # Z_2 − Z_1: four entries of 3, norm 6
    weights[2] = np.array([[3.0, 3.0], [3.0, 9.0]])  # Z_3 − Z_2: one entry of 6
    weights[3] = weights[2]  # Z_4 = Z_3
    np.testing.assert_allclose(layer_steps(weights), [6.0, 6.0, 0.0])


def test_network_roughness_takes_the_larger_of_V_and_W():
    net = ODEResNet(3, 3, 2, 3, depth=4, V_init="iid", W_init="constant", rng=0, dtype=np.float64)
    V, W = net.stacked_weights()
    assert roughness(W) == 0.0
    assert network_roughness(net) == roughness(V) > 0


def test_piecewise_linear_in_depth():
    stack = np.array([[1.0], [3.0], [7.0], [15.0]])  # values at s = 1/4, 1/2, 3/4, 1
    fn = PiecewiseLinearInDepth(stack)
    np.testing.assert_allclose(fn(np.array([0.25, 0.5, 0.75, 1.0]))[:, 0], [1, 3, 7, 15])
    np.testing.assert_allclose(fn(np.array([0.375, 0.875]))[:, 0], [2, 11])
    np.testing.assert_allclose(fn(np.array([0.0, 0.1]))[:, 0], [1, 1])  # held at Z_1 below s = 1/L


def linear_problem(rng, q=3, m=4):
    V, W = rng.standard_normal((q, m)) * 0.5, rng.standard_normal((m, q)) * 0.5
    return V, W, rng.standard_normal((5, q))


def test_linear_ode_is_a_matrix_exponential(rng):
    # dH/ds = H Wᵀ Vᵀ (rows are examples) with constant weights: H(1) = H(0) exp(Wᵀ Vᵀ).
    V, W, h0 = linear_problem(rng)
    H1 = integrate_neural_ode(h0, lambda s: V[None], lambda s: W[None], activation="identity")
    np.testing.assert_allclose(H1, h0 @ expm(W.T @ V.T), rtol=1e-8)


def test_distance_of_a_linear_network_is_eulers_error(rng):
    # With σ = identity the depth-L network is h0 (I + M/L)^L, M = Wᵀ Vᵀ: its distance to the ODE is exact.
    V, W, x = linear_problem(rng)
    M = W.T @ V.T
    distances = []
    for depth in (16, 64, 256):
        net = ODEResNet(3, 3, 4, 3, depth, activation="identity", V_init=lambda s: np.broadcast_to(V, (s.size, 3, 4)),
                        W_init=lambda s: np.broadcast_to(W, (s.size, 4, 3)), dtype=np.float64)
        exact = np.linalg.norm(x @ np.linalg.matrix_power(np.eye(3) + M / depth, depth) - x @ expm(M), axis=1).max()
        distances.append(distance_to_neural_ode(net, x))
        assert distances[-1] == pytest.approx(exact, rel=1e-5)
    assert distances[0] / distances[1] == pytest.approx(4, rel=0.1) and distances[1] / distances[2] == pytest.approx(
        4, rel=0.1
    )


def test_neural_ode_output_uses_the_maps_and_the_given_functions(rng):
    net = ODEResNet(5, 3, 4, 2, depth=8, activation="identity", embedding="random", readout="random", rng=0,
                    dtype=np.float64)
    V, W, _ = linear_problem(rng)
    x = rng.standard_normal((4, 5))
    out = neural_ode_output(net, x, lambda s: V[None], lambda s: W[None])
    np.testing.assert_allclose(out, x @ net.A.data.T @ expm(W.T @ V.T) @ net.B.data.T, rtol=1e-8)


def test_distance_leaves_a_float32_model_alone(rng):
    net = ODEResNet(3, 3, 4, 3, depth=4, V_init="iid", rng=0)
    distance_to_neural_ode(net, rng.standard_normal((2, 3)))
    assert net.blocks[0].V.dtype == np.float32


def test_gelu_network_converges_to_its_ode_like_one_over_depth(rng):
    V_fn, W_fn = ConstantInDepth((3, 4), std=0.8, rng=1), ConstantInDepth((4, 3), std=0.8, rng=2)
    x = rng.standard_normal((6, 3))
    distances = [
        distance_to_neural_ode(ODEResNet(3, 3, 4, 3, L, V_init=V_fn, W_init=W_fn, dtype=np.float64), x, V_fn, W_fn)
        for L in (8, 32, 128)
    ]
    assert distances[0] / distances[1] == pytest.approx(4, rel=0.15)
    assert distances[1] / distances[2] == pytest.approx(4, rel=0.15)


def test_pl_ratio_is_depth_times_squared_gradient_over_risk(rng):
    net = ODEResNet(3, 3, 4, 3, depth=5, V_init="iid", W_init="iid", rng=0, dtype=np.float64)
    x, y = nr.tensor(rng.standard_normal((6, 3))), nr.tensor(rng.standard_normal((6, 3)))
    risk = nr.functional.mse_loss(net(x), y)
    risk.backward()
    squared = sum(float((p.grad.data**2).sum()) for p in net.residual_parameters())
    assert pl_ratio(net, risk.item()) == pytest.approx(5 * squared / risk.item(), rel=1e-12)
    assert pl_ratio(net, 0.0) == float("inf")


def test_pl_ratio_needs_gradients():
    net = ODEResNet(3, 3, 4, 3, depth=2, rng=0)
    with pytest.raises(ValueError, match="call backward"):
        pl_ratio(net, 1.0)


def test_features_at_zero_V_are_those_of_the_embedded_inputs(rng):
    net = ODEResNet(5, 4, 3, 2, depth=3, V_init="zero", W_init="iid", embedding="random", readout="random", rng=0,
                    dtype=np.float64)
    x = rng.standard_normal((6, 5))
    H, S = features_at_zero_V(net, x)
    _, W = net.stacked_weights()
    np.testing.assert_allclose(H, x @ net.A.data.T, rtol=1e-12)
    gelu = array_activation("gelu")
    for k in range(3):
        np.testing.assert_allclose(S[k], gelu(H @ W[k].T), rtol=1e-12)
    with pytest.raises(ValueError, match="V must be zero"):
        features_at_zero_V(ODEResNet(4, 4, 3, 4, depth=2, V_init="iid", rng=0), x[:, :4])
