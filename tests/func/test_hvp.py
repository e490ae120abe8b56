"""Hessian-vector products by central differences, against exact Hessians."""

from __future__ import annotations

import numpy as np

import neurones as nr
from neurones import func
from tests.helpers import reference_library


def test_quadratic_hvp_is_exact_up_to_rounding():
    rng = np.random.default_rng(0)
    m = rng.standard_normal((6, 6))
    a, b = m + m.T, rng.standard_normal(6)
    theta, v = rng.standard_normal(6) * 30, rng.standard_normal(6)

    def f(t):
        return 0.5 * (t * (nr.tensor(a) @ t)).sum() + (nr.tensor(b) * t).sum()

    product = func.hvp(f, nr.tensor(theta), nr.tensor(v))
    np.testing.assert_allclose(product.data, a @ v, rtol=1e-9, atol=1e-9 * np.abs(a @ v).max())


def _tanh_net(x, y):
    def f(w1, w2):
        return (((x @ w1.T).tanh() @ w2.T - y) ** 2).sum()

    return f


def test_two_layer_tanh_network_matches_the_exact_hessian():
    torch = reference_library("torch")
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((8, 3)), rng.standard_normal((8, 2))
    w1, w2 = rng.standard_normal((4, 3)), rng.standard_normal((2, 4))
    theta = np.concatenate([w1.ravel(), w2.ravel()])

    def flat_loss(t):
        return _tanh_net(torch.tensor(x), torch.tensor(y))(t[:12].reshape(4, 3), t[12:].reshape(2, 4))

    exact = torch.autograd.functional.hessian(flat_loss, torch.tensor(theta)).numpy()
    ours = _tanh_net(nr.tensor(x), nr.tensor(y))
    columns = []
    for k in range(theta.size):
        e = np.zeros(theta.size)
        e[k] = 1
        direction = (nr.tensor(e[:12].reshape(4, 3)), nr.tensor(e[12:].reshape(2, 4)))
        hv = func.hvp(ours, (nr.tensor(w1), nr.tensor(w2)), direction)
        columns.append(np.concatenate([hv[0].data.ravel(), hv[1].data.ravel()]))
    hessian = np.stack(columns, axis=1)
    scale = np.abs(exact).max()
    assert np.abs(hessian - exact).max() < 1e-8 * scale
    assert np.abs(hessian - hessian.T).max() < 1e-8 * scale


def test_the_hessian_of_values_by_second_differences_agrees():
    """An independent check without PyTorch: H_jk from four values of f, accurate to ~1e-6 relative."""
    rng = np.random.default_rng(2)
    x, y = rng.standard_normal((5, 2)), rng.standard_normal((5, 1))
    w1, w2 = rng.standard_normal((3, 2)), rng.standard_normal((1, 3))
    f = _tanh_net(nr.tensor(x), nr.tensor(y))
    theta = np.concatenate([w1.ravel(), w2.ravel()])

    def value(t):
        return f(nr.tensor(t[:6].reshape(3, 2)), nr.tensor(t[6:].reshape(1, 3))).item()

    h, size = 1e-4, theta.size
    second = np.empty((size, size))
    for j in range(size):
        for k in range(size):
            ej, ek = np.eye(size)[j] * h, np.eye(size)[k] * h
            second[j, k] = (
                value(theta + ej + ek) - value(theta + ej - ek) - value(theta - ej + ek) + value(theta - ej - ek)
            ) / (4 * h * h)
    v = rng.standard_normal(size)
    hv = func.hvp(f, (nr.tensor(w1), nr.tensor(w2)), (nr.tensor(v[:6].reshape(3, 2)), nr.tensor(v[6:].reshape(1, 3))))
    ours = np.concatenate([hv[0].data.ravel(), hv[1].data.ravel()])
    np.testing.assert_allclose(ours, second @ v, rtol=1e-5, atol=1e-5 * np.abs(second @ v).max())


def test_a_zero_direction_gives_zero():
    product = func.hvp(lambda t: (t**3).sum(), nr.tensor(np.ones(3)), nr.tensor(np.zeros(3)))
    np.testing.assert_array_equal(product.data, np.zeros(3))
