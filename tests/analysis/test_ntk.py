"""The neural tangent kernel instruments, on exact answers: linear models, one hidden unit, closed forms against
quadrature, the infinite-width recursion against wide networks, and the kernel predictors against iteration."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import special

import neurones as nr
from neurones import nn, optim
from neurones.analysis import meanfield
from neurones.analysis.ntk import (
    empirical_ntk,
    gaussian_pair_expectations,
    gradient_descent_mse,
    infinite_width_conv_kernels,
    infinite_width_kernels,
    kernel_regression,
    linearize,
    quadrature_pair_expectations,
)
from neurones.errors import ShapeError
from neurones.ops.activations import array_activation_and_slope
from tests.helpers import reference_library


def _mlp(widths, seed, activation="relu", weight_std=1.0, bias_std=0.0):
    return nn.ntk_mlp(widths, activation, weight_std=weight_std, bias_std=bias_std, dtype=np.float64, rng=seed)


def test_a_linear_model_has_the_kernel_x_xt_plus_one():
    rng = np.random.default_rng(0)
    x, z = rng.standard_normal((6, 3)), rng.standard_normal((4, 3))
    model = nn.Linear(3, 1, rng=0).double()
    np.testing.assert_allclose(empirical_ntk(model, x), x @ x.T + 1, rtol=1e-13)
    np.testing.assert_allclose(empirical_ntk(model, x, z), x @ z.T + 1, rtol=1e-13)
    two = nn.Linear(3, 2, bias=False, rng=0).double()  # two outputs: (x·x′) times the identity in outputs
    np.testing.assert_allclose(empirical_ntk(two, x), np.einsum("ij,oq->ijoq", x @ x.T, np.eye(2)), atol=1e-13)


def test_one_hidden_unit_in_closed_form():
    # f(x) = v tanh(w·x + b): K(x, x′) = tanh(a)tanh(a′) + v² sech²(a) sech²(a′) (x·x′ + 1), a = w·x + b.
    rng = np.random.default_rng(1)
    model = nn.Sequential(nn.Linear(2, 1, rng=0), nn.Tanh(), nn.Linear(1, 1, bias=False, rng=1)).double()
    x = rng.standard_normal((5, 2))
    a = x @ model[0].weight.data[0] + model[0].bias.data[0]
    v = model[2].weight.data[0, 0]
    expected = np.outer(np.tanh(a), np.tanh(a)) + v**2 * np.outer(1 / np.cosh(a) ** 2, 1 / np.cosh(a) ** 2) * (
        x @ x.T + 1
    )
    np.testing.assert_allclose(empirical_ntk(model, x), expected, rtol=1e-12)


def test_matches_torch_func_and_chunking_changes_nothing():
    torch = reference_library("torch")
    rng = np.random.default_rng(2)
    ours = _mlp([3, 16, 16, 2], seed=0, bias_std=0.3)
    x = rng.standard_normal((7, 3))
    layers = [m for m in ours if isinstance(m, nn.NTKLinear)]
    theirs_layers = [torch.nn.Linear(m.in_features, m.out_features).double() for m in layers]
    with torch.no_grad():
        for mine, theirs in zip(layers, theirs_layers):
            theirs.weight.copy_(torch.tensor(mine.weight.data * mine.weight_multiplier))
            theirs.bias.copy_(torch.tensor(mine.bias.data * mine.bias_multiplier))
    theirs = torch.nn.Sequential(theirs_layers[0], torch.nn.ReLU(), theirs_layers[1], torch.nn.ReLU(), theirs_layers[2])
    params = {k: v.detach() for k, v in theirs.named_parameters()}
    jac = torch.func.jacrev(lambda p: torch.func.functional_call(theirs, p, (torch.tensor(x),)))(params)
    # θ_ntk = θ_torch / s, so ∂f/∂θ_ntk = s ∂f/∂θ_torch for each layer's multiplier s.
    scales = {}
    for index, layer in zip((0, 2, 4), layers):
        scales[f"{index}.weight"], scales[f"{index}.bias"] = layer.weight_multiplier, layer.bias_multiplier
    rows = torch.cat([(jac[name] * scales[name]).reshape(7, 2, -1) for name in jac], dim=2)
    expected = torch.einsum("iop,jqp->ijoq", rows, rows).numpy()
    whole = empirical_ntk(ours, x)
    np.testing.assert_allclose(whole, expected, rtol=1e-11)
    np.testing.assert_allclose(empirical_ntk(ours, x, chunk_size=3), whole, rtol=1e-13)
    z = rng.standard_normal((5, 3))
    np.testing.assert_allclose(empirical_ntk(ours, x, z, chunk_size=2), empirical_ntk(ours, np.vstack([x, z]))[:7, 7:],
                               rtol=1e-12)
    flat = whole.transpose(0, 2, 1, 3).reshape(14, 14)
    np.testing.assert_allclose(flat, flat.T, atol=1e-12)
    assert np.linalg.eigvalsh(flat).min() > -1e-10


def test_empirical_ntk_errors_name_the_function():
    model = nn.Linear(3, 1).double()
    with pytest.raises(ShapeError, match=r"empirical_ntk: x1 .* and x2 .* different example shapes"):
        empirical_ntk(model, np.ones((2, 3)), np.ones((2, 4)))
    with pytest.raises(ValueError, match="empirical_ntk: ReLU has no parameter"):
        empirical_ntk(nn.ReLU(), np.ones((2, 3)))
    with pytest.raises(ValueError, match="chunk_size"):
        empirical_ntk(model, np.ones((2, 3)), chunk_size=0)


def test_ntk_linear_is_the_ntk_parameterization():
    layer = nn.NTKLinear(4, 3, weight_std=1.5, bias_std=0.2, rng=0).double()
    assert layer.weight_multiplier == pytest.approx(1.5 / 2) and layer.bias_multiplier == 0.2
    x = np.random.default_rng(0).standard_normal((2, 4))
    np.testing.assert_allclose(layer(nr.tensor(x)).data, 0.75 * x @ layer.weight.data.T + 0.2 * layer.bias.data)
    assert nn.NTKLinear(4, 3).bias is None and "bias_std=0" in repr(nn.NTKLinear(4, 3))
    big = nn.NTKLinear(400, 300, rng=1)
    assert abs(big.weight.data.std() - 1) < 0.01  # N(0, 1) entries whatever the width
    with pytest.raises(ValueError, match="NTKLinear: weight_std"):
        nn.NTKLinear(2, 2, weight_std=-1.0)
    # per-example gradients read the multipliers
    model = nn.Sequential(nn.NTKLinear(4, 5, bias_std=0.5, rng=2), nn.Tanh(), nn.NTKLinear(5, 1, rng=3)).double()
    targets = np.zeros((2, 1))
    per_example = nr.func.per_sample_grads(model, lambda out, t: ((out - t) ** 2).sum(), x, targets)
    for i in range(2):
        model.zero_grad()
        ((model(nr.tensor(x[i : i + 1])) - 0.0) ** 2).sum().backward()
        for name, p in model.named_parameters():
            np.testing.assert_allclose(per_example[name][i], p.grad.data, rtol=1e-12)


@pytest.mark.parametrize("name", ["relu", "leaky_relu", "erf", "identity"])
def test_closed_forms_against_two_dimensional_quadrature(name):
    if name == "erf":
        def evaluate(u):
            return special.erf(u), 2 / math.sqrt(math.pi) * np.exp(-u * u)
        step = None
    else:
        evaluate = array_activation_and_slope(name, 0.2)
        step = 0.02  # a kink: the trapezoidal rule is only second order there, so a fine grid and a loose tolerance
    s11, s22 = np.array([0.5, 1.0, 2.0, 1.3]), np.array([1.5, 1.0, 0.7, 1.3])
    s12 = np.array([0.3, -0.9, 0.2, 1.3])  # the last pair is the diagonal, ρ = 1
    closed = gaussian_pair_expectations(name, s11, s22, s12, negative_slope=0.2)
    numeric = quadrature_pair_expectations(evaluate, s11, s22, s12, step=step)
    smooth = name in ("erf", "identity")
    np.testing.assert_allclose(closed[0], numeric[0], rtol=1e-12 if smooth else 0, atol=1e-12 if smooth else 1e-3)
    np.testing.assert_allclose(closed[1], numeric[1], rtol=1e-9 if smooth else 0, atol=1e-9 if smooth else 5e-3)


def test_the_quadrature_diagonal_is_the_mean_field_variance_map():
    q = np.array([0.1, 1.0, 3.0, 10.0])
    for name in ("tanh", "gelu", "sigmoid"):
        both, slopes = gaussian_pair_expectations(name, q, q, q)
        np.testing.assert_allclose(both, [meanfield.variance_map(name, v) for v in q], rtol=1e-10)
        np.testing.assert_allclose(slopes, [meanfield.gradient_factor(name, v) for v in q], rtol=1e-10)


def test_recursion_depth_zero_one_and_the_relu_closed_form_on_the_sphere():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((5, 3))
    nngp, ntk = infinite_width_kernels(x, depth=0, weight_std=2.0, bias_std=0.5)
    np.testing.assert_allclose(nngp, 4 * x @ x.T / 3 + 0.25)
    np.testing.assert_allclose(ntk, nngp)
    # depth 1, ReLU, unit inputs: Σ² = (sin θ + (π − θ) cos θ)/(2π), Θ² = Σ² + cos θ (π − θ)/(2π) (d scaled away)
    u = x / np.linalg.norm(x, axis=1, keepdims=True) * math.sqrt(3)
    nngp, ntk = infinite_width_kernels(u, depth=1)
    cos = np.clip(u @ u.T / 3, -1, 1)
    theta = np.arccos(cos)
    sigma2 = (np.sin(theta) + (np.pi - theta) * cos) / (2 * np.pi)
    np.testing.assert_allclose(nngp, sigma2, atol=1e-14)
    np.testing.assert_allclose(ntk, sigma2 + cos * (np.pi - theta) / (2 * np.pi), atol=1e-14)


@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_the_recursion_is_the_mean_of_wide_networks(activation):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((4, 3))
    nngp, ntk = infinite_width_kernels(x, depth=2, activation=activation, weight_std=1.4, bias_std=0.3)
    kernels, covariances = [], []
    for seed in range(12):
        net = _mlp([3, 1024, 1024, 1], seed, activation, weight_std=1.4, bias_std=0.3)
        kernels.append(empirical_ntk(net, x))
        hidden = net[:-1](nr.tensor(x)).data  # E[f f′ | last hidden layer] = σ_w²/n h·h′ + σ_b²
        covariances.append(1.4**2 * hidden @ hidden.T / 1024 + 0.3**2)
    # finite width biases the means by O(depth/width) relative; 3 se + 3% covers it at width 1024
    for samples, limit in ((kernels, ntk), (covariances, nngp)):
        mean, stderr = np.mean(samples, 0), np.std(samples, 0, ddof=1) / math.sqrt(len(samples))
        assert np.all(np.abs(mean - limit) <= 3 * stderr + 0.03 * np.abs(limit)), (mean / limit)
    assert np.all(np.diag(ntk) > np.diag(nngp))


def test_recursion_errors():
    with pytest.raises(ValueError, match="activation must be one of"):
        infinite_width_kernels(np.ones((2, 2)), depth=1, activation="softsign")
    with pytest.raises(ShapeError, match="infinite_width_kernels: inputs"):
        infinite_width_kernels(np.ones((2, 2)), np.ones((2, 3)), depth=1)
    with pytest.raises(ValueError, match="depth"):
        infinite_width_kernels(np.ones((2, 2)), depth=-1)


def _psd_kernel(rng, n):
    x = rng.standard_normal((n, 3))
    return infinite_width_kernels(x, depth=2, bias_std=0.1)[1], x


def test_gradient_descent_mse_is_the_iteration_in_closed_form():
    rng = np.random.default_rng(5)
    k_all, _ = _psd_kernel(rng, 9)
    k_train, k_test = k_all[:6, :6], k_all[6:, :6]
    y, f0, f0_test = rng.standard_normal((6, 2)), rng.standard_normal((6, 2)), rng.standard_normal((3, 2))
    eta = 1.0 / np.linalg.eigvalsh(k_train).max()
    predict = gradient_descent_mse(k_train, y, eta)
    f, g = f0.copy(), f0_test.copy()
    for _ in range(25):
        g = g - eta * k_test @ (f - y)
        f = f - eta * k_train @ (f - y)
    f_train, f_test = predict(25, f0, k_test, f0_test)
    np.testing.assert_allclose(f_train, f, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(f_test, g, rtol=1e-10, atol=1e-12)
    stacked = predict(np.array([0, 25]), f0)
    np.testing.assert_allclose(stacked[0], f0, atol=1e-12)
    # gradient flow is the limit of small steps; t → ∞ from f₀ = 0 is kernel regression
    flow = gradient_descent_mse(k_train, y, 1.0, flow=True)
    small = gradient_descent_mse(k_train, y, 1e-4)
    np.testing.assert_allclose(flow(0.5, f0), small(5000, f0), rtol=1e-3)
    np.testing.assert_allclose(flow(1e9, 0.0, k_test)[1], kernel_regression(k_train, y, k_test), rtol=1e-6)
    # a (n, n, k, k) kernel diagonal in outputs acts as the (n, n) kernel on every column
    four = np.einsum("ij,oq->ijoq", k_train, np.eye(2))
    cross = np.einsum("ij,oq->ijoq", k_test, np.eye(2))
    np.testing.assert_allclose(gradient_descent_mse(four, y, eta)(25, f0, cross, f0_test)[1], g, rtol=1e-10)
    np.testing.assert_allclose(kernel_regression(four, y, cross), kernel_regression(k_train, y, k_test), rtol=1e-10)
    with pytest.raises(ValueError, match="whole steps"):
        predict(1.5)
    with pytest.raises(ShapeError, match="gradient_descent_mse: kernel of shape"):
        gradient_descent_mse(k_train, y[:4], eta)
    with pytest.raises(np.linalg.LinAlgError, match=r"kernel_regression: .* pass ridge > 0"):
        kernel_regression(np.zeros((3, 3)), np.ones(3), np.zeros((1, 3)))


def test_a_linearized_network_trains_as_kernel_gradient_descent():
    rng = np.random.default_rng(6)
    net = _mlp([3, 32, 32, 1], seed=1, activation="tanh", bias_std=0.1)
    x, y, x_test = rng.standard_normal((8, 3)), rng.standard_normal((8, 1)), rng.standard_normal((3, 3))
    before = {name: p.data.copy() for name, p in net.named_parameters()}
    lin = linearize(net)
    np.testing.assert_allclose(lin(nr.tensor(x)).data, net(nr.tensor(x)).data, rtol=1e-12)
    k_train, k_test = empirical_ntk(net, x), empirical_ntk(net, x_test, x)
    f0, f0_test = net(nr.tensor(x)).data, net(nr.tensor(x_test)).data
    eta = 0.5 / np.linalg.eigvalsh(k_train).max()
    optimizer = optim.SGD(lin.parameters(), lr=eta)
    for _ in range(30):
        optimizer.zero_grad()
        (0.5 * ((lin(nr.tensor(x)) - nr.tensor(y)) ** 2).sum()).backward()
        optimizer.step()
    f_train, f_test = gradient_descent_mse(k_train, y, eta)(30, f0, k_test, f0_test)
    np.testing.assert_allclose(lin(nr.tensor(x)).data, f_train, rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(lin(nr.tensor(x_test)).data, f_test, rtol=1e-9, atol=1e-11)
    for name, p in net.named_parameters():  # the network itself is left alone
        np.testing.assert_array_equal(p.data, before[name])
    with pytest.raises(ValueError, match="linearize: ReLU has no parameter"):
        linearize(nn.ReLU())


class _NTKConv1d(nn.Conv1d):
    """A convolution in the NTK parameterization, for the tests: N(0, 1) parameters, output scaled by σ_w/√(C q)."""

    def __init__(self, channels_in, channels_out, kernel, stride, padding, bias_std, rng):
        super().__init__(channels_in, channels_out, kernel, stride=stride, padding=padding, dtype=np.float64, rng=rng)
        nn.init.normal_(self.weight, rng=rng)
        nn.init.normal_(self.bias, rng=rng)
        self.weight_multiplier = 1 / math.sqrt(channels_in * kernel)
        self.bias_multiplier = bias_std

    def forward(self, x):
        return nr.functional.conv1d(x, self.weight, None, self.stride, self.padding) * self.weight_multiplier + (
            self.bias * self.bias_multiplier
        ).reshape(-1, 1)


def test_conv_kernels_reduce_to_the_dense_ones_and_match_wide_convolutional_networks():
    rng = np.random.default_rng(7)
    x = rng.standard_normal((5, 7))
    dense = infinite_width_kernels(x, depth=2, bias_std=0.2)
    conv = infinite_width_conv_kernels(x, layers=[(7, 1, 0), (1, 1, 0)], bias_std=0.2)  # full-width window = dense
    np.testing.assert_allclose(conv[0], dense[0], rtol=1e-12)
    np.testing.assert_allclose(conv[1], dense[1], rtol=1e-8)  # arccos near ρ = 1 amplifies rounding to ~1e-9
    signals = rng.standard_normal((4, 1, 12))
    layers = [(5, 2, 1), (3, 2, 1)]  # lengths 12 → 5 → 3
    nngp, ntk = infinite_width_conv_kernels(signals, layers=layers, bias_std=0.3)
    kernels, covariances = [], []
    for seed in range(16):
        generator = np.random.default_rng(seed)
        net = nn.Sequential(
            _NTKConv1d(1, 512, 5, 2, 1, 0.3, generator), nn.ReLU(),
            _NTKConv1d(512, 512, 3, 2, 1, 0.3, generator), nn.ReLU(), nn.Flatten(),
            nn.NTKLinear(512 * 3, 1, bias_std=0.3, dtype=np.float64, rng=generator),
        )
        kernels.append(empirical_ntk(net, signals))
        hidden = net[:-1](nr.tensor(signals)).data
        covariances.append(hidden @ hidden.T / hidden.shape[1] + 0.09)  # E[f f′ | last layer], σ_w = 1
    for samples, limit in ((kernels, ntk), (covariances, nngp)):
        mean = np.mean(samples, 0)
        stderr = np.std(samples, 0, ddof=1) / 4
        assert np.all(np.abs(mean - limit) <= 3 * stderr + 0.03 * np.abs(limit)), mean / limit
    with pytest.raises(ShapeError, match="infinite_width_conv_kernels: inputs"):
        infinite_width_conv_kernels(np.ones((2, 1, 5)), np.ones((2, 2, 5)), layers=[(3, 1, 0)])
    with pytest.raises(ValueError, match="does not fit length"):
        infinite_width_conv_kernels(np.ones((2, 5)), layers=[(7, 1, 0)])


def _reference_ntk(model, x):
    """Σ_p ∂f(xᵢ)/∂θ_p ∂f(xⱼ)/∂θ_p from full Jacobians of the engine's own jacrev (one backward per output)."""
    names = [name for name, _ in model.named_parameters()]
    params = [p.detach() for _, p in model.named_parameters()]

    def f(*values):
        out = nr.func.functional_call(model, dict(zip(names, values)), (nr.tensor(x),))
        return out.reshape(x.shape[0], -1)

    jacobians = nr.func.jacrev(f, argnums=tuple(range(len(params))))(*params)
    rows = np.concatenate([j.data.reshape(x.shape[0], j.shape[1], -1) for j in jacobians], axis=2)
    return np.einsum("iop,jqp->ijoq", rows, rows)


def test_residual_networks_convolutional_and_with_raw_parameters():
    rng = np.random.default_rng(8)
    resnet = nn.Sequential(
        nn.Conv2d(1, 3, 3, padding=1, dtype=np.float64, rng=0), nn.ResBlock(3, dtype=np.float64, rng=1),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(3, 2, dtype=np.float64, rng=2),
    ).eval()  # batch normalization with running statistics: examples stay independent
    x = rng.standard_normal((3, 1, 5, 5))
    np.testing.assert_allclose(empirical_ntk(resnet, x), _reference_ntk(resnet, x), rtol=1e-10, atol=1e-12)
    scaled = nn.ScaledResNet(3, 4, 1, depth=3, dtype=np.float64, rng=3)  # V, W, A, B as raw parameters
    x = rng.standard_normal((4, 3))
    np.testing.assert_allclose(empirical_ntk(scaled, x), _reference_ntk(scaled, x)[:, :, 0, 0], rtol=1e-10)
