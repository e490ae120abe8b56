"""matmul (vectors, matrices, broadcast stacks) and the fused affine map ``linear``."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import neurones as nr
from neurones import functional as F
from neurones.errors import ShapeError
from neurones.ops.linear import Linear, MatMul
from tests.helpers import leaf, randn_leaf, reference_library


@st.composite
def batch_variant(draw, batch):
    """A shape that broadcasts to ``batch``: some leading axes dropped, some axes set to 1."""
    keep = draw(st.integers(0, len(batch)))
    tail = batch[len(batch) - keep :]
    ones = draw(st.lists(st.booleans(), min_size=keep, max_size=keep))
    return tuple(1 if one else n for n, one in zip(tail, ones))


@st.composite
def matmul_shapes(draw):
    """Operand shapes for every case of matmul: vector or matrix or stack on each side, batch axes broadcasting."""
    n, k, m = draw(st.integers(1, 4)), draw(st.integers(1, 4)), draw(st.integers(1, 4))
    batch = tuple(draw(st.lists(st.integers(1, 3), min_size=1, max_size=2)))
    kinds = ("vector", "matrix", "stack")
    kind_a, kind_b = draw(st.sampled_from(kinds)), draw(st.sampled_from(kinds))
    a = {"vector": (k,), "matrix": (n, k), "stack": (*draw(batch_variant(batch)), n, k)}[kind_a]
    b = {"vector": (k,), "matrix": (k, m), "stack": (*draw(batch_variant(batch)), k, m)}[kind_b]
    return a, b


@given(shapes=matmul_shapes(), seed=st.integers(0, 2**16))
def test_matmul_forward_matches_numpy(shapes, seed):
    rng = np.random.default_rng(seed)
    a, b = rng.standard_normal(shapes[0]), rng.standard_normal(shapes[1])
    out = nr.tensor(a) @ nr.tensor(b)
    expected = np.matmul(a, b)
    assert out.shape == expected.shape
    np.testing.assert_allclose(out.data, expected, rtol=1e-12, atol=1e-12)


@given(shapes=matmul_shapes(), seed=st.integers(0, 2**16))
def test_matmul_gradcheck(shapes, seed):
    rng = np.random.default_rng(seed)
    a, b = randn_leaf(rng, *shapes[0]), randn_leaf(rng, *shapes[1])
    assert nr.gradcheck(F.matmul, (a, b))


@given(shapes=matmul_shapes(), seed=st.integers(0, 2**16))
def test_matmul_gradients_match_torch(shapes, seed):
    torch = reference_library("torch")
    rng = np.random.default_rng(seed)
    a_np, b_np = rng.standard_normal(shapes[0]), rng.standard_normal(shapes[1])
    a, b = leaf(a_np), leaf(b_np)
    out = a @ b
    v = rng.standard_normal(out.shape)
    out.backward(v)
    ta, tb = torch.tensor(a_np, requires_grad=True), torch.tensor(b_np, requires_grad=True)
    (ta @ tb).backward(torch.tensor(v))
    np.testing.assert_allclose(a.grad.data, ta.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(b.grad.data, tb.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_matrix_product_gradients_are_the_two_gemms(rng):
    a, b = randn_leaf(rng, 3, 4), randn_leaf(rng, 4, 2)
    g = rng.standard_normal((3, 2))
    (a @ b).backward(g)
    np.testing.assert_allclose(a.grad.data, g @ b.data.T, rtol=1e-12)
    np.testing.assert_allclose(b.grad.data, a.data.T @ g, rtol=1e-12)


def test_dot_product_of_vectors_is_a_scalar(rng):
    a, b = randn_leaf(rng, 5), randn_leaf(rng, 5)
    out = F.matmul(a, b)
    assert out.shape == ()
    np.testing.assert_allclose(out.item(), a.data @ b.data)
    out.backward()
    np.testing.assert_allclose(a.grad.data, b.data)
    np.testing.assert_allclose(b.grad.data, a.data)


def test_only_inputs_that_require_grad_receive_one(rng):
    a, b = randn_leaf(rng, 2, 3, 4), randn_leaf(rng, 4, 5, requires_grad=False)
    (a @ b).backward(np.ones((2, 3, 5)))
    assert b.grad is None
    np.testing.assert_allclose(a.grad.data, np.broadcast_to(b.data.sum(axis=1), (2, 3, 4)), rtol=1e-12)


def test_matrix_applied_to_a_stack_sums_over_the_stack(rng):
    a, b = randn_leaf(rng, 2, 3, 4), randn_leaf(rng, 4, 5)
    g = rng.standard_normal((2, 3, 5))
    (a @ b).backward(g)
    np.testing.assert_allclose(b.grad.data, sum(a.data[i].T @ g[i] for i in range(2)), rtol=1e-12)


def test_matmul_shape_error_names_op_and_shapes():
    with pytest.raises(ShapeError, match=r"^matmul: cannot multiply \(3, 4\) by \(5, 2\)$"):
        nr.zeros(3, 4) @ nr.zeros(5, 2)


def test_mm_requires_matrices():
    with pytest.raises(ShapeError, match=r"mm: .*\(3,\) and \(3, 2\)"):
        F.mm(nr.zeros(3), nr.zeros(3, 2))
    np.testing.assert_allclose(nr.ones(2, 3).mm(nr.ones(3, 2)).data, np.full((2, 2), 3.0))


def test_operators_methods_and_top_level_name_agree(rng):
    a, b = rng.standard_normal((2, 3)), rng.standard_normal((3, 4))
    expected = a @ b
    for out in (nr.tensor(a) @ nr.tensor(b), nr.tensor(a).matmul(nr.tensor(b)), nr.matmul(nr.tensor(a), b)):
        np.testing.assert_allclose(out.data, expected, rtol=1e-12)
    reflected = a @ nr.tensor(b)  # ndarray @ Tensor defers to Tensor.__rmatmul__
    assert isinstance(reflected, nr.Tensor)
    np.testing.assert_allclose(reflected.data, expected, rtol=1e-12)


def test_matmul_keeps_float32():
    out = nr.ones(4, 3) @ nr.ones(3, 2)
    assert out.dtype == np.float32


# --------------------------------------------------------------------------------------------------- linear
@given(
    lead=st.lists(st.integers(1, 3), min_size=0, max_size=2).map(tuple),
    n_in=st.integers(1, 4),
    n_out=st.integers(1, 4),
    with_bias=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_linear_forward_and_gradcheck(lead, n_in, n_out, with_bias, seed):
    rng = np.random.default_rng(seed)
    x, w = randn_leaf(rng, *lead, n_in), randn_leaf(rng, n_out, n_in)
    b = randn_leaf(rng, n_out) if with_bias else None
    out = F.linear(x, w, b)
    expected = x.data @ w.data.T + (b.data if with_bias else 0.0)
    assert out.shape == (*lead, n_out)
    np.testing.assert_allclose(out.data, expected, rtol=1e-12, atol=1e-12)
    if with_bias:
        assert nr.gradcheck(F.linear, (x, w, b))
    else:
        assert nr.gradcheck(F.linear, (x, w))


def test_linear_gradients_are_the_affine_backprop(rng):
    x, w, b = randn_leaf(rng, 2, 3, 4), randn_leaf(rng, 5, 4), randn_leaf(rng, 5)
    g = rng.standard_normal((2, 3, 5))
    F.linear(x, w, b).backward(g)
    rows, grads = x.data.reshape(6, 4), g.reshape(6, 5)
    np.testing.assert_allclose(x.grad.data, g @ w.data, rtol=1e-12)
    np.testing.assert_allclose(w.grad.data, grads.T @ rows, rtol=1e-12)
    np.testing.assert_allclose(b.grad.data, grads.sum(axis=0), rtol=1e-12)


def test_linear_is_one_node_whose_parents_are_the_leaves(rng):
    x, w, b = randn_leaf(rng, 3, 4), randn_leaf(rng, 2, 4), randn_leaf(rng, 2)
    out = F.linear(x, w, b)
    assert type(out.grad_fn) is Linear
    assert out.grad_fn.parents == (x._edge, w._edge, b._edge)


def test_linear_with_frozen_input_and_weight_gives_only_bias_gradient(rng):
    x, w = randn_leaf(rng, 3, 4, requires_grad=False), randn_leaf(rng, 2, 4, requires_grad=False)
    b = randn_leaf(rng, 2)
    F.linear(x, w, b).backward(np.ones((3, 2)))
    assert x.grad is None and w.grad is None
    np.testing.assert_allclose(b.grad.data, [3.0, 3.0])


def test_linear_matches_torch(rng):
    torch = reference_library("torch")
    x, w, b = rng.standard_normal((4, 3, 6)), rng.standard_normal((5, 6)), rng.standard_normal(5)
    g = rng.standard_normal((4, 3, 5))
    xs = [leaf(x), leaf(w), leaf(b)]
    F.linear(*xs).backward(g)
    ts = [torch.tensor(a, requires_grad=True) for a in (x, w, b)]
    torch.nn.functional.linear(*ts).backward(torch.tensor(g))
    for mine, theirs in zip(xs, ts):
        np.testing.assert_allclose(mine.grad.data, theirs.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_linear_shape_errors_name_op_and_shapes():
    with pytest.raises(ShapeError, match=r"linear: input of shape \(3, 4\) does not fit weight of shape \(2, 5\)"):
        F.linear(nr.zeros(3, 4), nr.zeros(2, 5))
    with pytest.raises(ShapeError, match=r"linear: bias of shape \(3,\)"):
        F.linear(nr.zeros(3, 4), nr.zeros(2, 4), nr.zeros(3))


def test_linear_keeps_float32():
    out = F.linear(nr.ones(3, 4), nr.ones(2, 4, requires_grad=True), nr.ones(2, requires_grad=True))
    assert out.dtype == np.float32
    out.backward(np.ones((3, 2), np.float32))


def test_matmul_node_is_recorded_only_when_needed():
    out = nr.ones(2, 2) @ nr.ones(2, 2)
    assert out.grad_fn is None
    assert type((nr.ones(2, 2, requires_grad=True) @ nr.ones(2, 2)).grad_fn) is MatMul


def test_linear_names_an_array_input_as_pytorch_does():
    layer = nr.nn.Linear(3, 2)
    with pytest.raises(TypeError, match=r"linear: input must be a Tensor, got ndarray"):
        layer(np.ones((4, 3), dtype=np.float32))
