"""The Tensor API: constructors, conversions, attributes, graph flags, repr, and in-place ops with their versions."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given

import neurones as nr
from neurones.errors import DTypeError, GradientError, InplaceError, ShapeError
from tests.helpers import leaf, shapes


# --------------------------------------------------------------------------------------------------- constructors
def test_tensor_copies_and_follows_the_dtype_rules():
    array = np.array([1.0, 2.0])
    t = nr.tensor(array)
    array[0] = 5.0
    np.testing.assert_array_equal(t.data, [1.0, 2.0])
    assert t.dtype == np.float64  # arrays keep their dtype
    assert nr.tensor([1.0, 2.0]).dtype == np.float32  # Python floats become the default dtype
    assert nr.tensor(2.5).dtype == np.float32 and nr.tensor(2.5).shape == ()
    assert nr.tensor([1, 2]).dtype == np.int64
    assert nr.tensor([True]).dtype == np.bool_
    assert nr.tensor([1, 2], dtype="float64").dtype == np.float64
    assert nr.tensor(t).data is not t.data
    assert nr.Tensor([1.0]).dtype == np.float32


def test_tensor_requires_grad_makes_a_leaf():
    t = nr.tensor([1.0], requires_grad=True)
    assert t.requires_grad and t.is_leaf and t.grad_fn is None


def test_as_tensor_avoids_copies_when_it_can():
    t = nr.tensor([1.0])
    assert nr.as_tensor(t) is t
    assert nr.as_tensor(t, dtype=np.float32) is t
    assert nr.as_tensor(t, dtype="float64").dtype == np.float64
    array = np.zeros(3)
    shared = nr.as_tensor(array)
    array[1] = 7.0
    assert shared.data[1] == 7.0  # as torch.as_tensor: an ndarray of the same dtype is shared
    converted = nr.as_tensor(array, dtype=np.float32)
    array[2] = 1.0
    assert converted.dtype == np.float32 and converted.data[2] == 0.0
    assert nr.as_tensor([1.0, 2.0]).dtype == np.float32


def test_from_numpy_shares_memory_and_keeps_the_dtype():
    array = np.arange(6, dtype=np.float64).reshape(2, 3)
    t = nr.from_numpy(array)
    assert t.dtype == np.float64 and np.shares_memory(t.data, array)
    array[0, 0] = 42.0
    assert t.data[0, 0] == 42.0
    t.data[1, 2] = -1.0
    assert array[1, 2] == -1.0
    with pytest.raises(TypeError, match="ndarray"):
        nr.from_numpy([1.0, 2.0])


@given(shape=shapes)
def test_filled_constructors(shape):
    for size in (shape, list(shape), *([shape] if not shape else [])):
        np.testing.assert_array_equal(nr.zeros(size).data, np.zeros(shape))
    z, o, f = nr.zeros(*shape), nr.ones(*shape), nr.full(shape, 2.5)
    assert z.shape == o.shape == f.shape == shape
    assert z.dtype == o.dtype == f.dtype == np.float32
    np.testing.assert_array_equal(o.data, np.ones(shape))
    np.testing.assert_array_equal(f.data, np.full(shape, 2.5))
    assert nr.zeros(*shape, dtype=np.float64).dtype == np.float64
    assert nr.empty(*shape).shape == shape


def test_full_infers_the_dtype_of_the_fill_value():
    assert nr.full((2,), 3).dtype == np.int64
    assert nr.full(2, True).dtype == np.bool_
    assert nr.full(2, 3.0).dtype == np.float32
    assert nr.full(2, 3, dtype="float64").dtype == np.float64


def test_eye():
    np.testing.assert_array_equal(nr.eye(3).data, np.eye(3))
    np.testing.assert_array_equal(nr.eye(2, 3).data, np.eye(2, 3))
    assert nr.eye(2).dtype == np.float32


def test_arange_is_int64_for_integers_and_float32_otherwise():
    ints = nr.arange(5)
    assert ints.dtype == np.int64
    np.testing.assert_array_equal(ints.data, [0, 1, 2, 3, 4])
    np.testing.assert_array_equal(nr.arange(2, 8, 2).data, [2, 4, 6])
    assert nr.arange(np.int32(3)).dtype == np.int64
    floats = nr.arange(0, 1, 0.25)
    assert floats.dtype == np.float32
    np.testing.assert_array_equal(floats.data, [0.0, 0.25, 0.5, 0.75])
    assert nr.arange(3.0).dtype == np.float32
    assert nr.arange(3, dtype="float64").dtype == np.float64


def test_linspace():
    t = nr.linspace(0, 1, 5)
    assert t.dtype == np.float32
    np.testing.assert_allclose(t.data, [0.0, 0.25, 0.5, 0.75, 1.0])
    assert nr.linspace(0, 1, 3, dtype=np.float64).dtype == np.float64


def test_like_constructors_follow_their_model():
    x = nr.tensor(np.ones((2, 3), np.float64))
    for made, value in ((nr.zeros_like(x), 0.0), (nr.ones_like(x), 1.0), (nr.full_like(x, 4.0), 4.0)):
        assert made.shape == (2, 3) and made.dtype == np.float64
        np.testing.assert_array_equal(made.data, np.full((2, 3), value))
    assert nr.zeros_like(x, dtype=np.float32).dtype == np.float32
    assert nr.ones_like(np.zeros(4, np.int64)).dtype == np.int64
    assert nr.zeros_like(x, requires_grad=True).requires_grad


@pytest.mark.parametrize("maker", [nr.rand, nr.randn])
def test_random_floats_are_reproducible_from_a_seed_or_a_generator(maker):
    a, b = maker(3, 4, rng=7), maker((3, 4), rng=7)
    assert a.shape == (3, 4) and a.dtype == np.float32
    np.testing.assert_array_equal(a.data, b.data)
    assert not np.array_equal(a.data, maker(3, 4, rng=8).data)
    gen = np.random.default_rng(7)
    first, second = maker(3, 4, rng=gen), maker(3, 4, rng=gen)
    np.testing.assert_array_equal(first.data, a.data)  # a Generator seeded 7 draws what the seed 7 draws
    assert not np.array_equal(first.data, second.data)  # and it advances
    assert maker(2, rng=0, dtype="float64").dtype == np.float64
    assert maker(2, rng=0, requires_grad=True).requires_grad


def test_rand_is_uniform_on_the_unit_interval_and_randn_is_standard_normal():
    u, z = nr.rand(20_000, rng=0).data, nr.randn(20_000, rng=0, dtype=np.float64).data
    assert u.min() >= 0 and u.max() < 1 and abs(u.mean() - 0.5) < 0.01
    assert abs(z.mean()) < 0.03 and abs(z.std() - 1) < 0.03


def test_randint_bounds_dtype_and_reproducibility():
    t = nr.randint(3, 7, (50,), rng=1)
    assert t.dtype == np.int64 and t.shape == (50,)
    assert t.data.min() >= 3 and t.data.max() < 7
    np.testing.assert_array_equal(t.data, nr.randint(3, 7, 50, rng=1).data)
    high_only = nr.randint(5, (2, 3), rng=1)  # PyTorch's randint(high, size)
    assert high_only.shape == (2, 3) and high_only.data.min() >= 0 and high_only.data.max() < 5


def test_manual_seed_makes_the_default_generator_reproducible():
    nr.manual_seed(123)
    first = (nr.randn(5).data.copy(), nr.rand(3).data.copy(), nr.randint(0, 100, 4).data.copy())
    nr.manual_seed(123)
    second = (nr.randn(5).data, nr.rand(3).data, nr.randint(0, 100, 4).data)
    for x, y in zip(first, second):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(nr.randn(5).data, first[0])


# ---------------------------------------------------------------------------------------------------- conversions
def test_numpy_is_refused_on_tensors_that_require_grad():
    x = leaf([1.0, 2.0])
    with pytest.raises(GradientError, match=r"numpy\(\).*requires grad.*detach\(\)\.numpy\(\)"):
        x.numpy()
    array = x.detach().numpy()
    assert np.shares_memory(array, x.data)
    plain = nr.tensor([3.0])
    assert plain.numpy() is plain.data


def test_item_and_scalar_conversions():
    assert nr.tensor([[2.5]]).item() == 2.5
    assert isinstance(nr.tensor(3).item(), int)
    with pytest.raises(ValueError, match=r"one element.*\(2,\)"):
        nr.tensor([1.0, 2.0]).item()
    assert float(nr.tensor([1.5])) == 1.5 and int(nr.tensor(4)) == 4
    assert bool(nr.tensor([1.0])) and not bool(nr.tensor(0.0))
    with pytest.raises(ValueError, match="ambiguous"):
        bool(nr.tensor([1.0, 2.0]))
    assert [10, 20, 30][nr.tensor(1)] == 20
    with pytest.raises(TypeError, match="index"):
        [1, 2][nr.tensor(1.0)]
    assert nr.tensor([[1, 2]]).tolist() == [[1, 2]]


# ----------------------------------------------------------------------------------------------------- attributes
def test_shape_dtype_ndim_size_numel_len():
    x = nr.zeros(2, 3, 4)
    assert x.shape == (2, 3, 4) and x.dtype == np.float32 and x.ndim == 3 and x.dim() == 3
    assert x.size == 24  # NumPy's size: the element count
    assert x.size() == (2, 3, 4) and x.size(0) == 2 and x.size(-1) == 4  # PyTorch's size()
    assert x.numel() == 24 and len(x) == 2
    scalar = nr.tensor(1.0)
    assert scalar.size == 1 and scalar.size() == () and scalar.numel() == 1
    with pytest.raises(TypeError, match="0-d"):
        len(scalar)


def test_transpose_property():
    x = nr.tensor(np.arange(6.0).reshape(2, 3))
    np.testing.assert_array_equal(x.T.data, x.data.T)
    w = leaf(np.arange(6.0).reshape(2, 3))
    w.T.backward(np.ones((3, 2)))
    np.testing.assert_array_equal(w.grad.data, np.ones((2, 3)))


# ---------------------------------------------------------------------------------------------------- graph flags
def test_detach_shares_data_and_cuts_the_graph():
    x = leaf([1.0, 2.0])
    y = x * 3.0
    d = y.detach()
    assert d.data is y.data and not d.requires_grad and d.is_leaf and d.grad_fn is None
    assert x.detach().data is x.data


def test_requires_grad_only_on_float_leaves():
    x = nr.tensor([1.0])
    assert x.requires_grad_() is x and x.requires_grad
    x.requires_grad_(False)
    assert not x.requires_grad
    x.requires_grad = True
    assert x.requires_grad
    with pytest.raises(DTypeError, match="int64"):
        nr.tensor([1, 2]).requires_grad_()
    with pytest.raises(DTypeError):
        nr.tensor([True]).requires_grad = True
    y = x * 2.0
    with pytest.raises(GradientError, match=r"leaf.*MulScalar"):
        y.requires_grad_(True)
    assert not y.is_leaf and y.requires_grad


def test_retain_grad_keeps_intermediate_gradients():
    x = leaf([1.0, 2.0])
    h = x * x
    assert not h.retains_grad
    h.retain_grad()
    assert h.retains_grad
    (h * 3.0).sum().backward()
    np.testing.assert_array_equal(h.grad.data, [3.0, 3.0])
    np.testing.assert_array_equal(x.grad.data, [6.0, 12.0])
    unretained = x * 2.0
    (unretained * 1.0).sum().backward()
    assert unretained.grad is None
    x.retain_grad()  # a leaf keeps its gradient anyway: a no-op
    assert not x.retains_grad
    with pytest.raises(GradientError, match="does not require grad"):
        nr.tensor([1.0]).retain_grad()


def test_grad_reset_by_zero_grad_or_none():
    x = leaf([1.0, 2.0])
    (x * 2.0).sum().backward()
    grad = x.grad
    x.zero_grad(set_to_none=False)
    assert x.grad is grad
    np.testing.assert_array_equal(x.grad.data, [0.0, 0.0])
    (x * 2.0).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [2.0, 2.0])
    x.zero_grad()
    assert x.grad is None
    (x * 5.0).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [5.0, 5.0])
    x.grad = None
    assert x.grad is None


def test_repr():
    assert repr(nr.tensor([1.0, 2.0])) == "tensor([1., 2.])"
    assert repr(nr.tensor([1.0], requires_grad=True)) == "tensor([1.], requires_grad=True)"
    assert "dtype=float64" in repr(nr.tensor(np.array([1.0])))
    a, b = nr.ones(2, requires_grad=True), nr.ones(2)
    text = repr(a * b)
    assert "grad_fn=<Mul>" in text and "requires_grad" not in text
    assert "dtype" not in repr(nr.tensor([1, 2]))


# --------------------------------------------------------------------------------------------------- in-place ops
def _version_bumped(op, x):
    before = x._version
    out = op(x)
    assert out is x or out is None
    return x._version > before


@pytest.mark.parametrize(
    ("name", "op", "expected"),
    [
        ("add_", lambda x: x.add_(1.0), [2.0, 3.0, 4.0]),
        ("add_alpha", lambda x: x.add_(nr.tensor([1.0, 1.0, 1.0]), alpha=2), [3.0, 4.0, 5.0]),
        ("sub_", lambda x: x.sub_(nr.tensor([1.0])), [0.0, 1.0, 2.0]),
        ("sub_alpha", lambda x: x.sub_(1.0, alpha=0.5), [0.5, 1.5, 2.5]),
        ("mul_", lambda x: x.mul_(np.array([1.0, 2.0, 3.0])), [1.0, 4.0, 9.0]),
        ("div_", lambda x: x.div_(2), [0.5, 1.0, 1.5]),
        ("zero_", lambda x: x.zero_(), [0.0, 0.0, 0.0]),
        ("fill_", lambda x: x.fill_(7.0), [7.0, 7.0, 7.0]),
        ("copy_", lambda x: x.copy_(nr.tensor([4.0, 5.0, 6.0])), [4.0, 5.0, 6.0]),
        ("copy_broadcast", lambda x: x.copy_(nr.tensor([9.0])), [9.0, 9.0, 9.0]),
        ("clamp_", lambda x: x.clamp_(1.5, 2.5), [1.5, 2.0, 2.5]),
        ("clamp_min", lambda x: x.clamp_(min=2.0), [2.0, 2.0, 3.0]),
        ("clamp_max", lambda x: x.clamp_(max=2.0), [1.0, 2.0, 2.0]),
        ("setitem", lambda x: x.__setitem__(1, -1.0), [1.0, -1.0, 3.0]),
        ("setitem_tensor_index", lambda x: x.__setitem__(nr.tensor([0, 2]), nr.tensor(0.0)), [0.0, 2.0, 0.0]),
        ("setitem_mask", lambda x: x.__setitem__(nr.tensor([True, False, True]), 5.0), [5.0, 2.0, 5.0]),
    ],
)
def test_inplace_ops_values_and_version_bump(name, op, expected):
    x = nr.tensor([1.0, 2.0, 3.0])
    data = x.data
    assert _version_bumped(op, x), name
    assert x.data is data and x.dtype == np.float32  # truly in place, dtype kept
    np.testing.assert_array_equal(x.data, expected)


def test_copy_casts_and_broadcasts_rows():
    x = nr.zeros(2, 3)
    x.copy_(np.array([1, 2, 3], dtype=np.int64))
    np.testing.assert_array_equal(x.data, [[1.0, 2.0, 3.0]] * 2)
    assert x.dtype == np.float32


@pytest.mark.parametrize("source_shape", [(2,), (3, 3), (2, 1, 3)])
def test_copy_shape_error_names_both_shapes(source_shape):
    x = nr.zeros(2, 3)
    expected = re.escape(f"copy_: cannot copy shape {source_shape} into shape (2, 3)")
    with pytest.raises(ShapeError, match=expected):
        x.copy_(np.ones(source_shape))
    np.testing.assert_array_equal(x.data, np.zeros((2, 3)))


def test_clamp_inplace_needs_a_bound():
    with pytest.raises(ValueError, match="clamp_"):
        nr.ones(2).clamp_()


def test_setitem_with_a_tuple_index_of_tensors():
    x = nr.zeros(2, 3)
    x[nr.tensor(1), nr.tensor([0, 2])] = nr.tensor([1.0, 2.0])
    np.testing.assert_array_equal(x.data, [[0.0, 0.0, 0.0], [1.0, 0.0, 2.0]])


@pytest.mark.parametrize(
    "op",
    [
        lambda x: x.add_(1.0),
        lambda x: x.sub_(1.0),
        lambda x: x.mul_(2.0),
        lambda x: x.div_(2.0),
        lambda x: x.zero_(),
        lambda x: x.fill_(1.0),
        lambda x: x.copy_(np.ones(2)),
        lambda x: x.clamp_(0.0, 1.0),
        lambda x: x.__setitem__(0, 1.0),
    ],
)
def test_inplace_change_after_a_node_saved_the_tensor_raises_at_backward(op):
    w = leaf([2.0, 3.0])
    x = leaf([0.5, 4.0], requires_grad=False)
    y = (w * x).sum()  # Mul saves x
    op(x)
    with pytest.raises(InplaceError, match=r"Mul: saved array 1 \(shape \(2,\)\) was modified in place"):
        y.backward()


def test_inplace_change_before_the_node_is_recorded_is_fine():
    w = leaf([2.0, 3.0])
    x = leaf([0.5, 4.0], requires_grad=False)
    x.mul_(2.0)
    (w * x).sum().backward()
    np.testing.assert_array_equal(w.grad.data, [1.0, 8.0])


def test_inplace_on_a_leaf_that_requires_grad_is_allowed_only_under_no_grad():
    w = leaf([1.0, 2.0])
    for op in (lambda t: t.fill_(0.0), lambda t: t.copy_(np.ones(2)), lambda t: t.__setitem__(0, 3.0)):
        with pytest.raises(InplaceError, match="no_grad"):
            op(w)
    np.testing.assert_array_equal(w.data, [1.0, 2.0])
    with nr.no_grad():
        w.sub_(nr.tensor([0.5, 0.5]), alpha=2)
    np.testing.assert_array_equal(w.data, [0.0, 1.0])
    assert w.requires_grad


def test_shape_and_dim_errors_are_also_the_builtins_pytorch_raises():
    from neurones.errors import DimError, ShapeError

    x = nr.ones(2, 3)
    with pytest.raises(RuntimeError, match="matmul"):
        x @ nr.ones(4, 2)
    with pytest.raises(RuntimeError):
        x.reshape(4, 2)
    with pytest.raises(RuntimeError):
        x.permute(0, 0)
    with pytest.raises(IndexError, match="dim 2 is out of range") as caught:
        x.sum(dim=2)
    assert isinstance(caught.value, DimError) and isinstance(caught.value, ShapeError)
    with pytest.raises(IndexError):
        nr.functional.softmax(x, dim=-3)


@pytest.mark.parametrize("data", ["abc", ["a", "b"], [object()], {"x": 1}])
def test_a_tensor_of_strings_or_objects_is_refused(data):
    with pytest.raises(DTypeError, match=r"tensor: cannot make a tensor of .* data .*tensors hold numbers or booleans"):
        nr.tensor(data)


@pytest.mark.parametrize("make", [nr.zeros, nr.ones, nr.empty, nr.randn, nr.rand])
def test_negative_or_non_integer_sizes_name_the_op(make):
    name = make.__name__
    with pytest.raises(ShapeError, match=rf"{name}: sizes must be ≥ 0, got -1 in size \(2, -1\)"):
        make(2, -1)
    with pytest.raises(TypeError, match=rf"{name}: sizes must be integers, got 2.5"):
        make((2.5,))
    assert make(0, 3).shape == (0, 3)  # an empty tensor is fine, as in PyTorch
    with pytest.raises(ShapeError, match=r"full: sizes must be ≥ 0"):
        nr.full((-1,), 1.0)
    with pytest.raises(ShapeError, match=r"randint: sizes must be ≥ 0"):
        nr.randint(0, 5, (-3,))


def test_manual_seed_refuses_a_negative_seed():
    with pytest.raises(ValueError, match="manual_seed: the seed must be an integer ≥ 0, got -1"):
        nr.manual_seed(-1)
    with pytest.raises(ValueError, match=r"got 1\.5"):
        nr.manual_seed(1.5)
