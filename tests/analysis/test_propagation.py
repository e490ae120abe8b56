"""layer_statistics on networks whose forward and backward signals are known exactly."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import neurones as nr
from neurones import nn
from neurones.analysis import LayerStatistics, layer_statistics


def linear_network(weights: list[np.ndarray], biases: list[np.ndarray] | None = None) -> nn.Sequential:
    """Linear layers with the given (out, in) weights and no activation between them."""
    layers = []
    for index, weight in enumerate(weights):
        layer = nn.Linear(weight.shape[1], weight.shape[0], bias=biases is not None, dtype=np.float64, rng=0)
        layer.weight.data[...] = weight
        if biases is not None:
            layer.bias.data[...] = biases[index]
        layers.append(layer)
    return nn.Sequential(*layers)


def test_scaled_identity_network(rng):
    # W^l = c·I: z^l = c^l x, δ^l = c^(L−l) u, ∂L/∂W^l = δ^lᵀ x^l = c^(L−1) uᵀ x for every l.
    depth, width, c = 4, 3, 2.0
    net = linear_network([c * np.eye(width)] * depth)
    x, u = rng.standard_normal((5, width)), rng.standard_normal((5, width))
    stats = layer_statistics(net, nr.tensor(x), u)
    assert isinstance(stats, LayerStatistics) and stats.depth == depth
    l = np.arange(1, depth + 1)
    np.testing.assert_allclose(stats.z_mean, c**l * x.mean(), rtol=1e-12)
    np.testing.assert_allclose(stats.z_var, c ** (2 * l) * x.var(), rtol=1e-12)
    np.testing.assert_allclose(stats.input_second_moment, c ** (2 * (l - 1)) * np.mean(x**2), rtol=1e-12)
    np.testing.assert_allclose(stats.grad_z_var, c ** (2 * (depth - l)) * u.var(), rtol=1e-12)
    np.testing.assert_allclose(stats.grad_z_norm, c ** (depth - l) * np.linalg.norm(u), rtol=1e-12)
    # ∂L/∂x^l = δ^l W^l = c^(L−l+1) u; x does not require grad, so layer 1 has no input gradient.
    assert np.isnan(stats.grad_input_var[0])
    np.testing.assert_allclose(stats.grad_input_var[1:], c ** (2 * (depth - l[1:] + 1)) * u.var(), rtol=1e-12)
    weight_grad = c ** (depth - 1) * u.T @ x
    np.testing.assert_allclose(stats.weight_grad_var, np.full(depth, weight_grad.var()), rtol=1e-12)
    np.testing.assert_allclose(stats.weight_grad_norm, np.full(depth, np.linalg.norm(weight_grad)), rtol=1e-12)
    for layer in net:
        np.testing.assert_allclose(layer.weight.grad.data, weight_grad, rtol=1e-12)


def test_general_linear_network_by_hand(rng):
    widths = [4, 6, 3, 5]
    weights = [rng.standard_normal((o, i)) for i, o in itertools.pairwise(widths)]
    biases = [rng.standard_normal(o) for o in widths[1:]]
    net = linear_network(weights, biases)
    x = rng.standard_normal((7, widths[0]))
    u = rng.standard_normal((7, widths[-1]))
    stats = layer_statistics(net, nr.tensor(x, requires_grad=True), u)

    inputs, zs = [x], []
    for W, b in zip(weights, biases):
        zs.append(inputs[-1] @ W.T + b)
        inputs.append(zs[-1])
    deltas = [u]
    for W in weights[:0:-1]:
        deltas.insert(0, deltas[0] @ W)
    np.testing.assert_allclose(stats.z_mean, [z.mean() for z in zs], rtol=1e-12)
    np.testing.assert_allclose(stats.z_var, [z.var() for z in zs], rtol=1e-12)
    np.testing.assert_allclose(stats.input_second_moment, [np.mean(t**2) for t in inputs[:-1]], rtol=1e-12)
    np.testing.assert_allclose(stats.grad_z_var, [d.var() for d in deltas], rtol=1e-12)
    np.testing.assert_allclose(stats.grad_z_norm, [np.linalg.norm(d) for d in deltas], rtol=1e-12)
    grad_inputs = [d @ W for d, W in zip(deltas, weights)]
    np.testing.assert_allclose(stats.grad_input_var, [g.var() for g in grad_inputs], rtol=1e-12)
    weight_grads = [d.T @ t for d, t in zip(deltas, inputs)]
    np.testing.assert_allclose(stats.weight_grad_var, [g.var() for g in weight_grads], rtol=1e-12)
    np.testing.assert_allclose(stats.weight_grad_norm, [np.linalg.norm(g) for g in weight_grads], rtol=1e-12)


def test_orthogonal_weights_preserve_norms(rng):
    width, depth = 6, 5
    weights = [np.linalg.qr(rng.standard_normal((width, width)))[0] for _ in range(depth)]
    x, u = rng.standard_normal((4, width)), rng.standard_normal((4, width))
    stats = layer_statistics(linear_network(weights), nr.tensor(x), u)
    np.testing.assert_allclose(stats.input_second_moment, np.full(depth, np.mean(x**2)), rtol=1e-12)
    np.testing.assert_allclose(stats.z_var + stats.z_mean**2, np.full(depth, np.mean(x**2)), rtol=1e-12)
    np.testing.assert_allclose(stats.grad_z_norm, np.full(depth, np.linalg.norm(u)), rtol=1e-12)


def test_one_neuron_network():
    # z¹ = w₁x, x² = tanh(z¹), z² = w₂x²; δ² = u, δ¹ = u w₂ (1 − tanh²(z¹)).
    w1, w2 = 0.7, -1.3
    x = np.array([[0.5], [-1.0], [2.0], [0.1]])
    u = np.array([[1.0], [2.0], [-0.5], [0.3]])
    first, second = nn.Linear(1, 1, bias=False, dtype=np.float64), nn.Linear(1, 1, bias=False, dtype=np.float64)
    first.weight.data[...], second.weight.data[...] = w1, w2
    stats = layer_statistics(nn.Sequential(first, nn.Tanh(), second), nr.tensor(x), u)
    z1 = w1 * x
    z2 = w2 * np.tanh(z1)
    d1 = u * w2 * (1 - np.tanh(z1) ** 2)
    np.testing.assert_allclose(stats.z_var, [z1.var(), z2.var()], rtol=1e-12)
    np.testing.assert_allclose(stats.input_second_moment, [np.mean(x**2), np.mean(np.tanh(z1) ** 2)], rtol=1e-12)
    np.testing.assert_allclose(stats.grad_z_norm, [np.linalg.norm(d1), np.linalg.norm(u)], rtol=1e-12)
    np.testing.assert_allclose(stats.weight_grad_norm, [abs(np.sum(d1 * x)), abs(np.sum(u * np.tanh(z1)))], rtol=1e-12)
    np.testing.assert_allclose(first.weight.grad.data, [[np.sum(d1 * x)]], rtol=1e-12)
    np.testing.assert_allclose(stats.grad_input_var[1], np.var(u * w2), rtol=1e-12)


def test_relu_input_second_moment_is_that_of_the_rectified_pre_activation(rng):
    widths = [5, 8, 8, 8, 3]
    layers: list[nn.Module] = []
    for i, o in itertools.pairwise(widths):
        layers += [nn.Linear(i, o, dtype=np.float64, rng=rng), nn.ReLU()]
    net = nn.Sequential(*layers[:-1])
    x = rng.standard_normal((16, widths[0]))
    stats = layer_statistics(net, nr.tensor(x))
    h, zs = x, []
    for layer in net:
        if isinstance(layer, nn.Linear):
            zs.append(h @ layer.weight.data.T + layer.bias.data)
            h = zs[-1]
        else:
            h = np.maximum(h, 0)
    np.testing.assert_allclose(stats.z_var, [z.var() for z in zs], rtol=1e-12)
    np.testing.assert_allclose(
        stats.input_second_moment[1:], [np.mean(np.maximum(z, 0) ** 2) for z in zs[:-1]], rtol=1e-12
    )
    # The default cotangent is all ones: ‖δ^L‖ = √(N·n_out).
    assert stats.grad_z_norm[-1] == pytest.approx(np.sqrt(16 * 3), rel=1e-12)


def test_convolutions_count_as_layers(rng):
    conv = nn.Conv1d(1, 1, 1, bias=False, dtype=np.float64)
    conv.weight.data[...] = 3.0
    x = rng.standard_normal((2, 1, 5))
    stats = layer_statistics(nn.Sequential(conv, nn.Tanh()), nr.tensor(x), np.ones((2, 1, 5)))
    assert stats.depth == 1
    np.testing.assert_allclose(stats.z_var, [np.var(3 * x)], rtol=1e-12)
    np.testing.assert_allclose(stats.grad_z_norm, [np.linalg.norm(1 - np.tanh(3 * x) ** 2)], rtol=1e-12)


def test_repeated_calls_give_the_same_statistics(rng):
    net = linear_network([rng.standard_normal((3, 3)) for _ in range(3)])
    x = nr.tensor(rng.standard_normal((4, 3)), requires_grad=True)
    u = rng.standard_normal((4, 3))
    first, second = layer_statistics(net, x, u), layer_statistics(net, x, u)
    for name in LayerStatistics.__dataclass_fields__:
        np.testing.assert_array_equal(getattr(first, name), getattr(second, name))
    np.testing.assert_allclose(net[0].weight.grad.data.var(), first.weight_grad_var[0], rtol=1e-12)


def test_float32_network_reports_float64_second_moments(rng):
    layer = nn.Linear(3, 2, bias=False, rng=0)
    x = rng.standard_normal((4, 3)).astype(np.float32)
    stats = layer_statistics(nn.Sequential(layer), nr.tensor(x))
    assert stats.input_second_moment.dtype == np.float64
    assert stats.input_second_moment[0] == pytest.approx(np.mean(x.astype(np.float64) ** 2), rel=1e-12)


def test_records_one_per_layer(rng):
    net = linear_network([np.eye(2) * 0.5, np.eye(2)])
    records = layer_statistics(net, nr.tensor(rng.standard_normal((3, 2)))).records()
    assert [r["layer"] for r in records] == [1, 2]
    assert set(records[0]) == {"layer", *LayerStatistics.__dataclass_fields__}
    assert all(isinstance(v, float) for r in records for k, v in r.items() if k != "layer")


def test_a_model_without_affine_layers_is_refused():
    with pytest.raises(ValueError, match="no Linear or Conv"):
        layer_statistics(nn.Sequential(nn.ReLU(), nn.Tanh()), nr.ones(2, 3))


def test_any_module_is_observed_through_hooks_which_are_removed_after(rng):
    class TwoBranches(nn.Module):
        def __init__(self):
            super().__init__()
            self.first, self.second = nn.Linear(3, 3, rng=1).double(), nn.Linear(3, 2, rng=2).double()

        def forward(self, x):
            h = self.first(x)
            return self.second(h.relu() + x)

    model = TwoBranches()
    x = nr.tensor(rng.standard_normal((5, 3)), requires_grad=True)
    stats = layer_statistics(model, x)
    z1 = x.data @ model.first.weight.data.T + model.first.bias.data
    a = np.maximum(z1, 0) + x.data
    delta2 = np.ones((5, 2))
    delta1 = (delta2 @ model.second.weight.data) * (z1 > 0)
    z2 = a @ model.second.weight.data.T + model.second.bias.data
    np.testing.assert_allclose(stats.z_var, [np.var(z1), np.var(z2)])
    np.testing.assert_allclose(stats.input_second_moment, [np.mean(x.data**2), np.mean(a**2)])
    np.testing.assert_allclose(stats.grad_z_norm, [np.linalg.norm(delta1), np.linalg.norm(delta2)])
    np.testing.assert_allclose(stats.weight_grad_norm[0], np.linalg.norm(delta1.T @ x.data))
    assert model.first._hooks.forward == {} and model.first._hooks.backward == {}
