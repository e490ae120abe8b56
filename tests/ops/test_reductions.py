"""Reductions: values against NumPy, gradients against finite differences, ties, stability, PyTorch semantics."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import neurones as nr
from neurones.errors import ShapeError
from tests.helpers import leaf, reference_library


@st.composite
def shape_and_dim(draw, allow_tuple: bool = True):
    """A shape, a ``dim`` argument for it (None, an int or a tuple, negative or not) and the axes it names."""
    shape = draw(st.lists(st.integers(1, 4), min_size=1, max_size=3).map(tuple))
    ndim = len(shape)
    kind = draw(st.sampled_from(["none", "int", "tuple"] if allow_tuple else ["none", "int"]))
    if kind == "none":
        return shape, None, tuple(range(ndim))
    axes = sorted(draw(st.sets(st.integers(0, ndim - 1), min_size=1, max_size=ndim if kind == "tuple" else 1)))
    named = [a - ndim if draw(st.booleans()) else a for a in axes]
    return shape, (tuple(named) if kind == "tuple" else named[0]), tuple(axes)


def _data(shape, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape)


def _count(shape, axes) -> int:
    return math.prod(shape[a] for a in axes)


# ------------------------------------------------------------------------------------------------ sum and mean
@given(shape_and_dim(), st.booleans())
def test_sum_and_mean_values_and_gradients(case, keepdim):
    shape, dim, axes = case
    data = _data(shape)
    x = leaf(data)
    np.testing.assert_allclose(nr.sum(x, dim, keepdim).data, data.sum(axis=axes, keepdims=keepdim))
    np.testing.assert_allclose(x.mean(dim, keepdim).data, data.mean(axis=axes, keepdims=keepdim))
    nr.gradcheck(lambda t: t.sum(dim, keepdim), x)
    nr.gradcheck(lambda t: t.mean(dim, keepdim=keepdim), x)


def test_sum_gradient_is_ones_and_owned_by_the_leaf():
    x = leaf(np.arange(6.0).reshape(2, 3))
    x.sum().backward()
    np.testing.assert_array_equal(x.grad.data, np.ones((2, 3)))
    assert x.grad.data.flags.writeable
    x.grad.data *= 3  # the leaf's gradient is its own array, not a view of the cotangent
    (x.sum() + x.sum()).backward()
    np.testing.assert_array_equal(x.grad.data, np.full((2, 3), 5.0))


def test_full_reductions_return_0d_arrays_of_the_input_dtype():
    x = nr.tensor(np.arange(1.0, 7.0, dtype=np.float32).reshape(2, 3), requires_grad=True)
    outputs = [x.sum(), x.mean(), x.var(), x.std(), x.max(), x.amin(), x.logsumexp((0, 1)), x.norm(), x.prod()]
    for y in outputs:
        assert type(y.data) is np.ndarray and y.data.shape == () and y.dtype == np.float32
    assert x.sum(dim=None, keepdim=True).shape == (1, 1)
    assert x.sum((0, 1)).shape == ()
    for y in outputs:
        x.grad = None
        y.backward()
        assert x.grad.dtype == np.float32


def test_zero_dim_input_accepts_dim_0_and_minus_1():
    x = leaf(3.0)
    assert x.sum(0).item() == 3.0 and x.mean(-1).item() == 3.0
    values, indices = x.max(0)
    assert values.item() == 3.0 and indices.item() == 0
    with pytest.raises(ShapeError, match=r"sum: dim 1 is out of range"):
        x.sum(1)


def test_reduction_dim_errors_name_the_op_and_shape():
    x = leaf(np.ones((2, 3)))
    with pytest.raises(ShapeError, match=r"mean: dim 2 is out of range for a tensor of shape \(2, 3\)"):
        x.mean(2)
    with pytest.raises(ShapeError, match=r"sum: dim \(1, -1\) names an axis more than once"):
        x.sum((1, -1))
    with pytest.raises(TypeError, match="amax: dim must be an integer"):
        x.amax(1.0)


# ------------------------------------------------------------------------------------------------- var and std
@given(shape_and_dim(), st.booleans(), st.sampled_from([0, 1, 2]))
def test_var_and_std_values_and_gradients(case, keepdim, correction):
    shape, dim, axes = case
    count = _count(shape, axes)
    if count <= correction:
        correction = 0
    data = _data(shape, 1)
    x = leaf(data)
    expected = data.var(axis=axes, keepdims=keepdim, ddof=correction)
    np.testing.assert_allclose(x.var(dim, correction=correction, keepdim=keepdim).data, expected, atol=1e-12)
    np.testing.assert_allclose(nr.std(x, dim, correction=correction, keepdim=keepdim).data, np.sqrt(expected))
    nr.gradcheck(lambda t: t.var(dim, correction=correction, keepdim=keepdim), x)
    if count > 1:  # a single entry has σ = 0 whatever it is: the gradient is then 0 by convention
        nr.gradcheck(lambda t: t.std(dim, correction=correction, keepdim=keepdim), x)


def test_var_matches_torch_corrections():
    torch = reference_library("torch")
    data = _data((3, 5), 2)
    x, t = leaf(data), torch.tensor(data)
    for correction in (0, 1, 2):
        np.testing.assert_allclose(x.var(1, correction=correction).data, t.var(1, correction=correction).numpy())
        np.testing.assert_allclose(x.std(0, correction=correction).data, t.std(0, correction=correction).numpy())
    np.testing.assert_allclose(x.var(unbiased=False).data, t.var(unbiased=False).numpy())
    np.testing.assert_allclose(x.var().data, t.var().numpy())  # correction=1 by default


def test_std_gradient_is_zero_at_zero_deviation_like_torch():
    torch = reference_library("torch")
    x = leaf([2.0, 2.0, 2.0])
    x.std().backward()
    t = torch.tensor([2.0, 2.0, 2.0], requires_grad=True)
    t.std().backward()
    np.testing.assert_array_equal(x.grad.data, t.grad.numpy())
    np.testing.assert_array_equal(x.grad.data, [0.0, 0.0, 0.0])


def test_var_without_degrees_of_freedom_gives_nan_or_inf_like_torch():
    x = leaf([1.0])
    y = x.var()
    assert np.isnan(y.item())
    y.backward()
    assert np.isnan(x.grad.data).all()
    assert np.isinf(leaf([1.0, 2.0]).var(correction=5).item())


# ---------------------------------------------------------------------------------------------------- extrema
@given(shape_and_dim(), st.booleans())
def test_amax_amin_values_and_gradients(case, keepdim):
    shape, dim, axes = case
    data = _data(shape, 3)
    x = leaf(data)
    np.testing.assert_array_equal(x.amax(dim, keepdim).data, data.max(axis=axes, keepdims=keepdim))
    np.testing.assert_array_equal(nr.amin(x, dim, keepdim).data, data.min(axis=axes, keepdims=keepdim))
    nr.gradcheck(lambda t: t.amax(dim, keepdim), x)
    nr.gradcheck(lambda t: t.amin(dim, keepdim), x)


@given(shape_and_dim(allow_tuple=False), st.booleans())
def test_max_min_with_dim_return_values_and_indices(case, keepdim):
    shape, dim, axes = case
    data = _data(shape, 4)
    x = leaf(data)
    if dim is None:
        np.testing.assert_array_equal(x.max().data, data.max())
        np.testing.assert_array_equal(nr.min(x).data, data.min())
        return
    values, indices = x.max(dim, keepdim)
    np.testing.assert_array_equal(values.data, data.max(axis=axes[0], keepdims=keepdim))
    np.testing.assert_array_equal(indices.data, data.argmax(axis=axes[0], keepdims=keepdim))
    assert indices.dtype == np.int64 and not indices.requires_grad
    result = nr.min(x, dim=dim, keepdim=keepdim)
    np.testing.assert_array_equal(result.values.data, data.min(axis=axes[0], keepdims=keepdim))
    np.testing.assert_array_equal(result.indices.data, data.argmin(axis=axes[0], keepdims=keepdim))
    nr.gradcheck(lambda t: t.max(dim, keepdim).values, x)
    nr.gradcheck(lambda t: t.min(dim, keepdim)[0], x)


def test_tied_maxima_share_the_gradient_equally():
    x = leaf([1.0, 3.0, 3.0])
    x.max().backward()
    np.testing.assert_array_equal(x.grad.data, [0.0, 0.5, 0.5])
    x.grad = None
    values, indices = x.max(0)
    assert indices.item() == 1  # the first maximum, as NumPy and PyTorch
    values.backward()
    np.testing.assert_array_equal(x.grad.data, [0.0, 0.5, 0.5])  # PyTorch's max(dim) would give [0, 1, 0]


def test_tied_minima_and_amax_over_a_tuple_split_per_slice():
    x = leaf([[2.0, 2.0, 5.0], [1.0, 4.0, 4.0]])
    x.min(1).values.sum().backward()
    np.testing.assert_array_equal(x.grad.data, [[0.5, 0.5, 0.0], [1.0, 0.0, 0.0]])
    y = leaf(np.ones((2, 2, 3)))
    y.amax((0, 2)).backward(np.array([6.0, 12.0]))
    np.testing.assert_array_equal(y.grad.data[:, 0], np.ones((2, 3)))
    np.testing.assert_array_equal(y.grad.data[:, 1], np.full((2, 3), 2.0))


def test_max_of_two_tensors_is_the_elementwise_maximum():
    a, b = leaf([1.0, 5.0]), leaf([3.0, 2.0])
    np.testing.assert_array_equal(nr.max(a, b).data, [3.0, 5.0])
    np.testing.assert_array_equal(a.min(b).data, [1.0, 2.0])


def test_max_with_dim_matches_torch():
    torch = reference_library("torch")
    data = _data((3, 4), 5)
    values, indices = leaf(data).max(1, keepdim=True)
    expected = torch.tensor(data).max(1, keepdim=True)
    np.testing.assert_array_equal(values.data, expected.values.numpy())
    np.testing.assert_array_equal(indices.data, expected.indices.numpy())


@given(shape_and_dim(allow_tuple=False), st.booleans())
def test_argmax_argmin(case, keepdim):
    shape, dim, axes = case
    data = _data(shape, 6)
    x = leaf(data)
    axis = None if dim is None else axes[0]
    np.testing.assert_array_equal(x.argmax(dim, keepdim).data, data.argmax(axis=axis, keepdims=keepdim))
    np.testing.assert_array_equal(nr.argmin(x, dim, keepdim).data, data.argmin(axis=axis, keepdims=keepdim))
    assert x.argmax(dim).dtype == np.int64 and not x.argmax(dim).requires_grad


# ---------------------------------------------------------------------------------------------- log-sum-exp
@given(shape_and_dim(), st.booleans())
def test_logsumexp_values_and_gradients(case, keepdim):
    shape, dim, axes = case
    data = _data(shape, 7) * 3
    x = leaf(data)
    expected = np.log(np.exp(data).sum(axis=axes, keepdims=keepdim))
    np.testing.assert_allclose(x.logsumexp(dim if dim is not None else axes, keepdim).data, expected)
    nr.gradcheck(lambda t: t.logsumexp(axes, keepdim), x)


def test_logsumexp_gradient_is_the_softmax():
    data = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
    x = leaf(data)
    x.logsumexp(1).sum().backward()
    softmax = np.exp(data) / np.exp(data).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(x.grad.data, softmax)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_logsumexp_is_stable_at_large_magnitudes(dtype):
    x = nr.tensor(np.array([[1e4, 1e4 - 1.0, -1e4], [-1e4, -1e4, -1e4]], dtype=dtype), requires_grad=True)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        y = nr.logsumexp(x, dim=1)
        y.sum().backward()
    assert y.dtype == dtype
    np.testing.assert_allclose(y.data, [1e4 + np.log1p(np.exp(-1.0)), -1e4 + np.log(3.0)], rtol=1e-6)
    assert np.isfinite(x.grad.data).all()
    np.testing.assert_allclose(x.grad.data.sum(axis=1), [1.0, 1.0], rtol=1e-6)


def test_logsumexp_of_infinities_matches_torch():
    torch = reference_library("torch")
    data = np.array([[-np.inf, -np.inf], [np.inf, 1.0], [-np.inf, 0.0]])
    np.testing.assert_array_equal(leaf(data).logsumexp(1).data, torch.tensor(data).logsumexp(1).numpy())


# ------------------------------------------------------------------------------------------------------- norms
@given(shape_and_dim(), st.booleans(), st.sampled_from(["fro", 1, 2, 3, math.inf]))
def test_norm_values_and_gradients(case, keepdim, p):
    shape, dim, axes = case
    data = _data(shape, 8)
    x = leaf(data)
    magnitudes = np.abs(data)
    order = 2 if p == "fro" else p
    if order == math.inf:
        expected = magnitudes.max(axis=axes, keepdims=keepdim)
    else:
        expected = (magnitudes**order).sum(axis=axes, keepdims=keepdim) ** (1 / order)
    np.testing.assert_allclose(x.norm(p, dim, keepdim).data, expected)
    nr.gradcheck(lambda t: nr.norm(t, p=p, dim=dim, keepdim=keepdim), x)


def test_norm_of_zero_has_zero_gradient_like_torch():
    for p in ("fro", 1, 3, math.inf):
        x = leaf(np.zeros(3))
        x.norm(p).backward()
        np.testing.assert_array_equal(x.grad.data, np.zeros(3))


def test_norm_matches_torch():
    torch = reference_library("torch")
    data = _data((3, 4), 9)
    x, t = leaf(data), torch.tensor(data)
    for p, dim in [("fro", None), ("fro", (0, 1)), (1, 1), (2, 0), (math.inf, 1), (3, None)]:
        np.testing.assert_allclose(x.norm(p, dim).data, t.norm(p, dim).numpy())


def test_norm_refuses_unsupported_orders():
    x = leaf(np.ones(3))
    for p in ("nuc", 0.5, 0):
        with pytest.raises(ValueError, match="norm: p must be"):
            x.norm(p)


# ---------------------------------------------------------------------------------------------------- products
@given(shape_and_dim(allow_tuple=False), st.booleans())
def test_prod_values_and_gradients(case, keepdim):
    shape, dim, axes = case
    data = _data(shape, 10)
    x = leaf(data)
    if dim is None:
        np.testing.assert_allclose(x.prod().data, data.prod())
        nr.gradcheck(lambda t: t.prod(), x)
    else:
        np.testing.assert_allclose(nr.prod(x, dim, keepdim).data, data.prod(axis=axes[0], keepdims=keepdim))
        nr.gradcheck(lambda t: t.prod(dim, keepdim), x)


def test_prod_gradient_is_exact_at_zeros():
    x = leaf([2.0, 0.0, 3.0])
    x.prod().backward()
    np.testing.assert_array_equal(x.grad.data, [0.0, 6.0, 0.0])
    y = leaf([[0.0, 5.0, 0.0], [1.0, 2.0, 4.0]])
    y.prod(1).sum().backward()
    np.testing.assert_array_equal(y.grad.data, [[0.0, 0.0, 0.0], [8.0, 4.0, 2.0]])
