"""neurones.grad and neurones.value_and_grad against analytic gradients."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import neurones as nr
from neurones.errors import GradientError
from tests.helpers import leaf, shapes


def cube_sum(x):
    return (x * x * x).sum()


@given(shape=shapes, seed=st.integers(0, 2**16))
def test_grad_of_sum_of_cubes_is_three_x_squared(shape, seed):
    x = leaf(np.random.default_rng(seed).standard_normal(shape))
    g = nr.grad(cube_sum)(x)
    assert isinstance(g, nr.Tensor) and g.shape == x.shape and g.dtype == np.float64
    np.testing.assert_allclose(g.data, 3 * x.data**2, rtol=1e-14)


def test_value_and_grad_returns_the_value_detached(rng):
    x = leaf(rng.standard_normal(5))
    value, g = nr.value_and_grad(cube_sum)(x)
    np.testing.assert_allclose(value.item(), np.sum(x.data**3), rtol=1e-14)
    assert not value.requires_grad
    np.testing.assert_allclose(g.data, 3 * x.data**2, rtol=1e-14)


def test_arguments_are_left_untouched(rng):
    x = leaf(rng.standard_normal(3))
    sentinel = nr.tensor(np.full(3, 9.0))
    x.grad = sentinel
    before = x.data.copy()
    nr.grad(cube_sum)(x)
    assert x.grad is sentinel and x.requires_grad and x.is_leaf
    np.testing.assert_array_equal(x.data, before)
    plain = nr.tensor(np.ones(2))
    nr.grad(cube_sum)(plain)
    assert not plain.requires_grad and plain.grad is None


def test_argnums_int_and_tuple(rng):
    def f(x, y, scale):
        return (x * x * y).sum() * scale  # ∂/∂x = 2xy·scale, ∂/∂y = x²·scale

    x, y = nr.tensor(rng.standard_normal(4)), nr.tensor(rng.standard_normal(4))
    np.testing.assert_allclose(nr.grad(f)(x, y, 2.0).data, 4 * x.data * y.data, rtol=1e-14)
    np.testing.assert_allclose(nr.grad(f, argnums=1)(x, y, 2.0).data, 2 * x.data**2, rtol=1e-14)
    gx, gy = nr.grad(f, argnums=(0, 1))(x, y, 2.0)
    np.testing.assert_allclose(gx.data, 4 * x.data * y.data, rtol=1e-14)
    np.testing.assert_allclose(gy.data, 2 * x.data**2, rtol=1e-14)
    (only_y,) = nr.grad(f, argnums=(1,))(x, y, 2.0)
    np.testing.assert_allclose(only_y.data, gy.data)
    value, (vx, vy) = nr.value_and_grad(f, argnums=(0, 1))(x, y, scale=2.0)
    np.testing.assert_allclose(value.item(), 2 * np.sum(x.data**2 * y.data), rtol=1e-14)
    np.testing.assert_array_equal(vx.data, gx.data)
    np.testing.assert_array_equal(vy.data, gy.data)


def test_has_aux(rng):
    def f(x):
        y = x * x
        return y.sum(), {"y": y, "note": "aux"}

    x = nr.tensor(rng.standard_normal(3))
    g, aux = nr.grad(f, has_aux=True)(x)
    np.testing.assert_allclose(g.data, 2 * x.data, rtol=1e-14)
    assert aux["note"] == "aux"
    np.testing.assert_allclose(aux["y"].data, x.data**2)
    (value, aux), g2 = nr.value_and_grad(f, has_aux=True)(x)
    np.testing.assert_allclose(value.item(), np.sum(x.data**2), rtol=1e-14)
    assert aux["note"] == "aux"
    np.testing.assert_array_equal(g2.data, g.data)


def test_unused_argument_and_constant_function_have_zero_gradients():
    x, y = nr.tensor(np.ones(2)), nr.tensor(np.full(3, 2.0))
    gx, gy = nr.grad(lambda a, b: (b * b).sum(), argnums=(0, 1))(x, y)
    np.testing.assert_array_equal(gx.data, np.zeros(2))
    np.testing.assert_array_equal(gy.data, np.full(3, 4.0))
    g = nr.grad(lambda a: nr.tensor(1.0))(x)
    np.testing.assert_array_equal(g.data, np.zeros(2))


def test_float32_gradients_stay_float32():
    x = nr.tensor(np.array([1.0, 2.0], np.float32))
    g = nr.grad(cube_sum)(x)
    assert g.dtype == np.float32
    np.testing.assert_allclose(g.data, [3.0, 12.0])


def test_works_under_no_grad(rng):
    x = nr.tensor(rng.standard_normal(3))
    with nr.no_grad():
        g = nr.grad(cube_sum)(x)
        assert not nr.is_grad_enabled()
    np.testing.assert_allclose(g.data, 3 * x.data**2, rtol=1e-14)


def test_composes_with_a_chain_of_ops(rng):
    w = nr.tensor(rng.standard_normal((3, 2)))
    x = nr.tensor(rng.standard_normal((4, 3)))

    def loss(w):
        return ((x @ w).tanh() ** 2).mean()

    t = np.tanh(x.data @ w.data)
    expected = x.data.T @ (2 * t * (1 - t**2) / t.size)
    np.testing.assert_allclose(nr.grad(loss)(w).data, expected, rtol=1e-12)


def test_non_scalar_output_is_refused():
    with pytest.raises(GradientError, match="scalar"):
        nr.grad(lambda x: x * 2.0)(nr.ones(3))
    with pytest.raises(GradientError, match="scalar"):
        nr.grad(lambda x: 3.0)(nr.ones(3))
    with pytest.raises(GradientError, match="scalar"):
        nr.value_and_grad(lambda x: (x * 2.0, None), has_aux=True)(nr.ones(2))


def test_non_tensor_argument_is_refused():
    with pytest.raises(TypeError, match="argument 1 must be a Tensor"):
        nr.grad(lambda x, y: x.sum(), argnums=1)(nr.ones(2), 3.0)
