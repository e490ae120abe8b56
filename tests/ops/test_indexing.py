"""Indexing: ``x[index]``, ``gather`` and ``index_select``, with repeated indices accumulating in backward."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import neurones as nr
from neurones.errors import DTypeError, ShapeError
from neurones.ops.indexing import scatter_add
from tests.helpers import leaf, reference_library


def _data(shape, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape)


def _vjp(f, array, cotangent_seed: int = 1):
    """The gradient of ⟨v, f(x)⟩ for a random v, and v itself."""
    x = leaf(array)
    y = f(x)
    v = np.random.default_rng(cotangent_seed).standard_normal(y.shape)
    y.backward(v)
    return x.grad.data, v


# ------------------------------------------------------------------------------------------------ basic indexing
BASIC = [
    (1,),
    (-1, slice(None, None, 2)),
    (slice(1, None), None, Ellipsis, 0),
    (Ellipsis, slice(None, None, -1)),
    (slice(None), 2, slice(0, 1)),
    (np.int64(1), slice(-2, None)),
    (),
]


@pytest.mark.parametrize("index", BASIC)
def test_basic_indexing_values_views_and_gradients(index):
    array = _data((3, 4, 2))
    x = leaf(array)
    y = x[index]
    np.testing.assert_array_equal(y.data, array[index])
    assert type(y.grad_fn).__name__ == "BasicIndex"
    if y.ndim:
        assert np.shares_memory(y.data, x.data)
    nr.gradcheck(lambda t: t[index], x)


def test_basic_index_errors_are_index_errors():
    with pytest.raises(IndexError):
        leaf(np.ones(3))[5]


def test_iterating_a_tensor_yields_its_rows():
    x = leaf(np.arange(6.0).reshape(3, 2))
    rows = list(x)
    assert len(rows) == 3
    np.testing.assert_array_equal(rows[2].data, [4.0, 5.0])


# --------------------------------------------------------------------------------------------- advanced indexing
def test_repeated_indices_accumulate():
    x = leaf([10.0, 20.0, 30.0])
    x[[0, 0, 2, 0]].sum().backward()
    np.testing.assert_array_equal(x.grad.data, [3.0, 0.0, 1.0])
    y = leaf(np.zeros((3, 2)))
    y[nr.tensor([1, 1]), nr.tensor([0, 0])].backward(np.array([2.0, 5.0]))
    np.testing.assert_array_equal(y.grad.data, [[0.0, 0.0], [7.0, 0.0], [0.0, 0.0]])


ADVANCED = [
    (np.array([0, 2, 2, 1]),),
    (slice(None), np.array([[3, 0], [0, 3]])),
    (np.array([2, 0, 2]), slice(1, 3), np.array([1, 1, 0])),
    (Ellipsis, np.array([1, 1])),
    (np.array([1]), None, 0),
    (np.int64(2), [0, 3, 3]),
]


@pytest.mark.parametrize("index", ADVANCED)
def test_advanced_indexing_values_and_gradients(index):
    array = _data((3, 4, 2), 2)
    x = leaf(array)
    np.testing.assert_array_equal(x[index].data, array[index])
    nr.gradcheck(lambda t: t[index], x)
    grad, v = _vjp(lambda t: t[index], array)
    expected = np.zeros_like(array)
    np.add.at(expected, index, v)
    np.testing.assert_allclose(grad, expected)


@given(st.integers(1, 6), st.integers(1, 3), st.integers(0, 30))
def test_integer_array_gradients_accumulate_like_add_at(rows, cols, picks):
    array = _data((rows, cols), 3)
    index = np.random.default_rng(picks).integers(0, rows, picks)
    grad, v = _vjp(lambda t: t[index], array)
    expected = np.zeros_like(array)
    np.add.at(expected, index, v)
    np.testing.assert_allclose(grad, expected, atol=1e-12)


def test_scatter_add_agrees_on_both_paths():
    rng = np.random.default_rng(4)
    index = (rng.integers(0, 50, 400),)  # dense: the bincount path
    g = rng.standard_normal((400, 3)).astype(np.float32)
    expected = np.zeros((50, 3), np.float32)
    np.add.at(expected, index, g)
    dense = scatter_add((50, 3), index, g)
    assert dense.dtype == np.float32
    np.testing.assert_allclose(dense, expected, rtol=1e-5, atol=1e-5)
    sparse_index = (np.array([7, 7, 3]),)  # few entries of a large input: the add.at path
    sparse = scatter_add((1000, 3), sparse_index, g[:3])
    np.testing.assert_allclose(sparse[7], g[0] + g[1], rtol=1e-6)
    np.testing.assert_allclose(sparse[3], g[2])
    assert np.count_nonzero(sparse) == 6


@pytest.mark.parametrize("as_tensor", [True, False])
def test_boolean_masks(as_tensor):
    array = _data((3, 4), 5)
    mask = array > 0
    x = leaf(array)
    index = nr.tensor(mask) if as_tensor else mask
    np.testing.assert_array_equal(x[index].data, array[mask])
    nr.gradcheck(lambda t: t[index], x)
    rows = np.array([True, False, True])
    np.testing.assert_array_equal(x[rows, 1:].data, array[rows, 1:])
    nr.gradcheck(lambda t: t[rows, 1:], x)
    np.testing.assert_array_equal(x[x > 0.5].data, array[array > 0.5])


def test_float_indices_are_refused():
    with pytest.raises(DTypeError, match="getitem: indices must be integers or booleans"):
        leaf(np.ones(3))[nr.tensor([0.0, 1.0])]


# ---------------------------------------------------------------------------------------------------- gather
@given(st.lists(st.integers(1, 4), min_size=1, max_size=3).map(tuple), st.data())
def test_gather_values_and_gradients(shape, data):
    array = _data(shape, 6)
    axis = data.draw(st.integers(0, len(shape) - 1))
    index_shape = tuple(
        data.draw(st.integers(1, 4)) if i == axis else data.draw(st.integers(1, n)) for i, n in enumerate(shape)
    )
    index = np.random.default_rng(len(index_shape)).integers(0, shape[axis], index_shape)
    x = leaf(array)
    dim = axis - len(shape) if data.draw(st.booleans()) else axis
    cropped = array[tuple(slice(0, k) if i != axis else slice(None) for i, k in enumerate(index_shape))]
    np.testing.assert_array_equal(x.gather(dim, index).data, np.take_along_axis(cropped, index, axis))
    nr.gradcheck(lambda t: nr.gather(t, dim, nr.tensor(index)), x)


def test_gather_matches_torch_and_accumulates_repeats():
    torch = reference_library("torch")
    array = _data((3, 4), 7)
    index = np.array([[0, 0, 3], [1, 2, 1]])
    x, t = leaf(array), torch.tensor(array, requires_grad=True)
    y, expected = x.gather(1, index), t.gather(1, torch.tensor(index))
    np.testing.assert_array_equal(y.data, expected.detach().numpy())
    v = _data(index.shape, 8)
    y.backward(v)
    expected.backward(torch.tensor(v))
    np.testing.assert_allclose(x.grad.data, t.grad.numpy())
    assert x.grad.data[0, 0] == pytest.approx(v[0, 0] + v[0, 1])


def test_gather_picks_class_scores():
    scores = leaf(_data((4, 5), 9))
    labels = np.array([[1], [4], [0], [1]])
    picked = scores.gather(1, labels)
    np.testing.assert_array_equal(picked.data[:, 0], scores.data[np.arange(4), labels[:, 0]])
    picked.sum().backward()
    expected = np.zeros((4, 5))
    expected[np.arange(4), labels[:, 0]] = 1.0
    np.testing.assert_array_equal(scores.grad.data, expected)


def test_gather_errors():
    x = leaf(np.ones((2, 3)))
    with pytest.raises(DTypeError, match="gather: indices must be integers"):
        x.gather(1, np.array([[0.0]]))
    with pytest.raises(ShapeError, match=r"gather: index of shape \(2,\) must have as many dims as the input"):
        x.gather(1, np.array([0, 1]))
    with pytest.raises(ShapeError, match=r"gather: index of shape \(3, 1\) is larger than the input"):
        x.gather(1, np.zeros((3, 1), np.int64))
    with pytest.raises(IndexError, match="gather: index -1 is out of bounds for dim 1 with size 3"):
        x.gather(1, np.array([[-1], [0]]))
    with pytest.raises(IndexError, match="gather: index 3 is out of bounds"):
        x.gather(1, np.array([[3], [0]]))


# ---------------------------------------------------------------------------------------------- index_select
def test_index_select_matches_torch_and_accumulates():
    torch = reference_library("torch")
    array = _data((3, 4), 10)
    index = np.array([3, 0, 3])
    x = leaf(array)
    np.testing.assert_array_equal(
        x.index_select(1, index).data, torch.tensor(array).index_select(1, torch.tensor(index)).numpy()
    )
    nr.gradcheck(lambda t: nr.index_select(t, -1, index), x)
    x.grad = None
    x.index_select(1, index).sum().backward()
    np.testing.assert_array_equal(x.grad.data[0], [1.0, 0.0, 0.0, 2.0])
    with pytest.raises(IndexError, match="index_select: index 3 is out of bounds for dim 0"):
        x.index_select(0, np.array([3]))
    with pytest.raises(ShapeError, match="index_select: index must be a 1-d integer tensor"):
        x.index_select(0, np.zeros((1, 1), np.int64))


INTEGER_AND_ARRAY_INDICES = [
    lambda d: (1, slice(None), slice(3, 11, 2), d, slice(0, 2)),
    lambda d: (1, d),
    lambda d: (d, 1),
    lambda d: (Ellipsis, 1, d),
    lambda d: (None, 1, slice(None), d, None),
    lambda d: (d, slice(None), d),
    lambda d: (2, np.array([True, False, True, True])),
]


@pytest.mark.parametrize("make_index", INTEGER_AND_ARRAY_INDICES)
def test_integers_mixed_with_index_arrays_follow_pytorchs_axis_order(make_index):
    torch = reference_library("torch")
    rng = np.random.default_rng(0)
    a, d = rng.standard_normal((3, 4, 12, 5, 3)), np.array([[0, 1], [2, 2]])
    x, tx = leaf(a), torch.tensor(a, requires_grad=True)
    y = x[make_index(nr.tensor(d))]
    ty = tx[tuple(torch.tensor(i) if isinstance(i, np.ndarray) else i for i in make_index(d))]
    assert y.shape == tuple(ty.shape)
    np.testing.assert_array_equal(y.data, ty.detach().numpy())
    g = rng.standard_normal(y.shape)
    y.backward(g)
    ty.backward(torch.tensor(g))
    np.testing.assert_array_equal(x.grad.data, tx.grad.numpy())
