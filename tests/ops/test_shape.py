"""Shape ops: values against NumPy (and PyTorch where conventions matter), gradients, errors, views and casts."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import neurones as nr
import neurones.functional as F
from neurones.errors import ShapeError
from tests.helpers import leaf, reference_library

shapes = st.lists(st.integers(1, 4), min_size=1, max_size=3).map(tuple)


def _data(shape, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape)


# ------------------------------------------------------------------------------------------ reshapes and axes
@given(shapes, st.data())
def test_reshape_and_view(shape, data):
    array = _data(shape)
    x = leaf(array)
    target = data.draw(st.permutations([*shape, 1]))
    free = data.draw(st.integers(0, len(target) - 1))
    spec = tuple(-1 if i == free else n for i, n in enumerate(target))
    np.testing.assert_array_equal(x.reshape(spec).data, array.reshape(target))
    np.testing.assert_array_equal(x.reshape(*spec).data, array.reshape(target))
    np.testing.assert_array_equal(x.view(*spec).data, array.reshape(target))
    np.testing.assert_array_equal(nr.reshape(x, spec).data, array.reshape(target))
    nr.gradcheck(lambda t: t.view(spec), x)


def test_reshape_output_is_a_view_and_errors_name_the_shapes():
    x = leaf(np.arange(6.0).reshape(2, 3))
    assert np.shares_memory(x.reshape(3, 2).data, x.data)
    with pytest.raises(ShapeError, match=r"reshape: cannot reshape \(2, 3\) into \(4, 2\)"):
        x.reshape(4, 2)


@given(shapes, st.data())
def test_permute_transpose_and_T(shape, data):
    array = _data(shape, 1)
    x = leaf(array)
    dims = data.draw(st.permutations(range(len(shape))))
    named = [d - len(shape) if data.draw(st.booleans()) else d for d in dims]
    np.testing.assert_array_equal(x.permute(*named).data, array.transpose(dims))
    np.testing.assert_array_equal(nr.permute(x, tuple(named)).data, array.transpose(dims))
    nr.gradcheck(lambda t: t.permute(named), x)
    dim0, dim1 = data.draw(st.integers(-len(shape), len(shape) - 1)), data.draw(st.integers(0, len(shape) - 1))
    np.testing.assert_array_equal(x.transpose(dim0, dim1).data, np.swapaxes(array, dim0, dim1))
    nr.gradcheck(lambda t: nr.transpose(t, dim0, dim1), x)
    np.testing.assert_array_equal(x.T.data, array.T)
    nr.gradcheck(lambda t: t.T, x)


def test_t_and_permute_errors():
    x = leaf(np.ones((2, 3)))
    assert x.t().shape == (3, 2) and leaf(np.ones(3)).t().shape == (3,)
    with pytest.raises(ShapeError, match=r"t: expects a tensor with at most 2 dims"):
        leaf(np.ones((2, 3, 4))).t()
    with pytest.raises(ShapeError, match=r"permute: dims \(0, 0\) are not a permutation"):
        x.permute(0, 0)


@given(st.lists(st.integers(1, 3), min_size=1, max_size=4).map(tuple), st.data())
def test_flatten_matches_torch_semantics(shape, data):
    array = _data(shape, 2)
    x = leaf(array)
    start = data.draw(st.integers(0, len(shape) - 1))
    end = data.draw(st.integers(start, len(shape) - 1))
    expected = array.reshape((*shape[:start], -1, *shape[end + 1 :]))
    np.testing.assert_array_equal(x.flatten(start, end - len(shape)).data, expected)
    nr.gradcheck(lambda t: nr.flatten(t, start, end), x)
    assert leaf(2.0).flatten().shape == (1,)


def test_flatten_and_unflatten_errors_and_inverse():
    x = leaf(np.ones((2, 3, 4)))
    with pytest.raises(ShapeError, match="flatten: start_dim 2 comes after end_dim 1"):
        x.flatten(2, 1)
    assert x.flatten(1).unflatten(1, (3, -1)).shape == (2, 3, 4)


def test_squeeze_and_unsqueeze_match_torch():
    torch = reference_library("torch")
    array = _data((1, 3, 1, 2), 3)
    x, t = leaf(array), torch.tensor(array)
    for dim in (None, 0, -2, 1, (0, 2), (1, 2)):
        expected = t.squeeze() if dim is None else t.squeeze(dim)
        np.testing.assert_array_equal(x.squeeze(dim).data, expected.numpy())
    for dim in (0, 2, 4, -1, -5):
        np.testing.assert_array_equal(x.unsqueeze(dim).data, t.unsqueeze(dim).numpy())
    nr.gradcheck(lambda v: nr.squeeze(v.unsqueeze(-1), (0, -1)), x)
    with pytest.raises(ShapeError, match=r"unsqueeze: dim 5 is out of range"):
        x.unsqueeze(5)


@given(shapes, st.data())
def test_expand_and_broadcast_to(shape, data):
    base = tuple(1 if data.draw(st.booleans()) else n for n in shape)
    array = _data(base, 4)
    x = leaf(array)
    lead = tuple(data.draw(st.lists(st.integers(1, 3), max_size=2)))
    sizes = lead + tuple(-1 if b != 1 and data.draw(st.booleans()) else n for b, n in zip(base, shape))
    expected = np.broadcast_to(array, lead + shape)
    np.testing.assert_array_equal(x.expand(*sizes).data, expected)
    np.testing.assert_array_equal(x.expand(sizes).data, expected)
    np.testing.assert_array_equal(nr.broadcast_to(x, lead + shape).data, expected)
    nr.gradcheck(lambda t: t.expand(sizes), x)


def test_expand_errors():
    x = leaf(np.ones((2, 3)))
    with pytest.raises(ShapeError, match=r"expand: cannot expand \(2, 3\) to \(4, 3\)"):
        x.expand(4, 3)
    with pytest.raises(ShapeError, match="expand: -1 is not allowed for the new leading dims"):
        x.expand(-1, 2, 3)
    with pytest.raises(ShapeError, match="fewer dims"):
        x.expand(3)


# ------------------------------------------------------------------------------------------ joining and splitting
@given(shapes, st.data())
def test_cat_and_stack(shape, data):
    axis = data.draw(st.integers(0, len(shape) - 1))
    arrays = []
    for k in range(data.draw(st.integers(1, 3))):
        piece_shape = list(shape)
        piece_shape[axis] = data.draw(st.integers(1, 3))
        arrays.append(_data(tuple(piece_shape), k))
    tensors = [leaf(a) for a in arrays]
    dim = axis - len(shape) if data.draw(st.booleans()) else axis
    np.testing.assert_array_equal(nr.cat(tensors, dim).data, np.concatenate(arrays, axis))
    nr.gradcheck(lambda *ts: F.cat(ts, dim), tensors)
    same = [leaf(_data(shape, k)) for k in range(len(tensors))]
    new_axis = data.draw(st.integers(-len(shape) - 1, len(shape)))
    np.testing.assert_array_equal(nr.stack(same, new_axis).data, np.stack([t.data for t in same], new_axis))
    nr.gradcheck(lambda *ts: nr.stack(ts, new_axis), same)


def test_cat_and_stack_give_no_gradient_to_constants():
    a, b = leaf([1.0, 2.0]), leaf([3.0], requires_grad=False)
    nr.cat([a, b]).backward(np.array([1.0, 2.0, 3.0]))
    np.testing.assert_array_equal(a.grad.data, [1.0, 2.0])
    assert b.grad is None
    c = leaf([4.0, 5.0], requires_grad=False)
    nr.stack([c, a], 1).backward(np.arange(4.0).reshape(2, 2))
    np.testing.assert_array_equal(a.grad.data, [2.0, 5.0])


def test_cat_and_stack_errors():
    with pytest.raises(ShapeError, match=r"cat: cannot concatenate tensors of shapes \(2, 3\), \(2, 4\) along dim 0"):
        nr.cat([leaf(np.ones((2, 3))), leaf(np.ones((2, 4)))])
    with pytest.raises(ShapeError, match=r"stack: expects tensors of equal shapes, got \(2,\), \(3,\)"):
        nr.stack([leaf(np.ones(2)), leaf(np.ones(3))])
    with pytest.raises(ValueError, match="cat: expects a non-empty sequence"):
        nr.cat([])
    with pytest.raises(ShapeError, match="cat: dim 2 is out of range"):
        nr.cat([leaf(np.ones((2, 3)))], 2)


def test_split_and_chunk_match_torch():
    torch = reference_library("torch")
    array = _data((7, 3), 5)
    x, t = leaf(array), torch.tensor(array)
    cases = [(x.split(3), t.split(3)), (x.split([2, 5]), t.split([2, 5])), (nr.split(x, 2, 1), t.split(2, 1))]
    cases += [(x.chunk(3), t.chunk(3)), (nr.chunk(x, 4, -1), t.chunk(4, -1)), (x.chunk(10), t.chunk(10))]
    for ours, theirs in cases:
        assert isinstance(ours, tuple) and len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            np.testing.assert_array_equal(a.data, b.numpy())
    with pytest.raises(ShapeError, match=r"split: sections \[2, 2\] do not add up to 7"):
        x.split([2, 2])


def test_split_pieces_are_separate_nodes_whose_gradients_add_up():
    x = leaf(np.arange(5.0))
    first, second = x.split([2, 3])
    assert type(first.grad_fn).__name__ == "BasicIndex"
    (first.sum() * 2.0 + (second * second).sum()).backward()
    np.testing.assert_array_equal(x.grad.data, [2.0, 2.0, 4.0, 6.0, 8.0])
    nr.gradcheck(lambda t: t.chunk(3, 0)[1] * t.chunk(3, 0)[2], leaf(np.arange(1.0, 7.0)))
    np.testing.assert_array_equal(nr.unbind(leaf(np.eye(2)), 1)[1].data, [0.0, 1.0])


# ------------------------------------------------------------------------------------------------------ padding
PADDINGS = [(1, 2), (0, 1, 2, 0), (2, 1, 1, 2, 1, 0)]


@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
@pytest.mark.parametrize("padding", PADDINGS)
def test_pad_matches_torch_and_gradchecks(mode, padding):
    torch = reference_library("torch")
    # PyTorch's non-constant modes want exactly one batch dim in front of the padded ones
    array = _data((1, 2, 3, 4)[-(len(padding) // 2 + 1) :], 6)
    x = leaf(array)
    kwargs = {"value": 1.5} if mode == "constant" else {}
    expected = torch.nn.functional.pad(torch.tensor(array), padding, mode=mode, **kwargs).numpy()
    np.testing.assert_array_equal(F.pad(x, padding, mode=mode, **kwargs).data, expected)
    nr.gradcheck(lambda t: F.pad(t, padding, mode=mode, **kwargs), x)


def test_pad_counts_each_source_entry_once_per_copy():
    x = leaf([1.0, 2.0, 3.0])
    F.pad(x, (2, 1), mode="replicate").sum().backward()
    np.testing.assert_array_equal(x.grad.data, [3.0, 1.0, 2.0])
    x.grad = None
    F.pad(x, (2, 2), mode="reflect").sum().backward()  # 3 2 | 1 2 3 | 2 1
    np.testing.assert_array_equal(x.grad.data, [2.0, 3.0, 2.0])


def test_constant_pad_with_negative_widths_crops_like_torch():
    torch = reference_library("torch")
    array = _data((3, 5), 7)
    x = leaf(array)
    expected = torch.nn.functional.pad(torch.tensor(array), (-1, 2, 1, -2)).numpy()
    np.testing.assert_array_equal(F.pad(x, (-1, 2, 1, -2)).data, expected)
    nr.gradcheck(lambda t: F.pad(t, (-1, 2, 1, -2)), x)


def test_pad_errors():
    x = leaf(np.ones((2, 3)))
    with pytest.raises(ShapeError, match=r"pad: padding .* must hold an even number"):
        F.pad(x, (1, 2, 3))
    with pytest.raises(ShapeError, match="pad: reflect padding \\(3, 0\\) does not fit dim 1 of size 3"):
        F.pad(x, (3, 0), mode="reflect")
    with pytest.raises(ValueError, match="pad: mode must be"):
        F.pad(x, (1, 1), mode="mirror")
    with pytest.raises(ShapeError, match="negative size"):
        F.pad(x, (-2, -2))


# --------------------------------------------------------------------------------------------- copies and casts
def test_clone_is_a_differentiable_copy():
    x = leaf([1.0, 2.0])
    y = x.clone()
    assert not np.shares_memory(y.data, x.data)
    (y * 3.0).backward(np.ones(2))
    np.testing.assert_array_equal(x.grad.data, [3.0, 3.0])


def test_contiguous_copies_only_when_needed():
    x = leaf(np.ones((2, 3)))
    assert x.contiguous() is x
    transposed = x.T
    y = transposed.contiguous()
    assert y.data.flags.c_contiguous and y is not transposed
    y.backward(np.arange(6.0).reshape(3, 2))
    np.testing.assert_array_equal(x.grad.data, np.arange(6.0).reshape(3, 2).T)


def test_casts_are_differentiable_and_gradients_keep_the_input_dtype():
    x = nr.tensor(np.array([1.5, -2.0], np.float32), requires_grad=True)
    y = x.to(np.float64)
    assert y.dtype == np.float64 and y.requires_grad
    (y * y).sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad.data, [3.0, -4.0])
    assert x.float() is x and x.to("cpu") is x and x.to(dtype="float32") is x
    assert x.to(np.float32, copy=True) is not x
    assert x.double().dtype == np.float64 and x.half().dtype == np.float16
    assert x.to(leaf([0.0])).dtype == np.float64 and x.to("cpu", "float64").dtype == np.float64
    z = leaf([1.0, 2.0])
    np.testing.assert_allclose(nr.gradcheck(lambda t: t.float().double() * 1.0, z, atol=1e-2), True)


def test_casts_to_integers_have_no_gradient():
    x = leaf([1.7, -2.2])
    n = x.long()
    assert n.dtype == np.int64 and not n.requires_grad
    np.testing.assert_array_equal(n.data, [1, -2])
    assert x.int().dtype == np.int32 and x.bool().dtype == np.bool_
    with pytest.raises(ValueError, match="CPU only"):
        x.to("cuda")
