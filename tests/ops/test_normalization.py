"""batch_norm, layer_norm and group_norm: values against NumPy formulas and PyTorch, running statistics, gradients."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import neurones as nr
import neurones.functional as F
from neurones.errors import ShapeError
from tests.helpers import leaf, reference_library


def standardized(x, axes, eps):
    mean = x.mean(axis=axes, keepdims=True)
    return (x - mean) / np.sqrt(x.var(axis=axes, keepdims=True) + eps)


shapes_nc = st.tuples(st.integers(2, 4), st.integers(1, 3), st.integers(0, 2)).map(lambda t: (t[0], t[1]) + (3,) * t[2])


@given(shapes_nc, st.booleans(), st.booleans())
def test_batch_norm_training(shape, affine, bias):
    rng = np.random.default_rng(0)
    x = leaf(rng.standard_normal(shape) * 2 + 1)
    c = shape[1]
    w = leaf(rng.standard_normal(c)) if affine else None
    b = leaf(rng.standard_normal(c)) if bias else None
    axes = (0, *tuple(range(2, len(shape))))
    expected = standardized(x.data, axes, 1e-5)
    view = (1, c) + (1,) * (len(shape) - 2)
    if affine:
        expected = expected * w.data.reshape(view)
    if bias:
        expected = expected + b.data.reshape(view)
    y = F.batch_norm(x, None, None, w, b, training=True)
    np.testing.assert_allclose(y.data, expected, rtol=1e-10, atol=1e-12)
    inputs = [t for t in (x, w, b) if t is not None]

    def f(*tensors):
        it = iter(tensors[1:])
        return F.batch_norm(tensors[0], None, None, next(it) if affine else None, next(it) if bias else None, True)

    nr.gradcheck(f, inputs)


@given(shapes_nc)
def test_batch_norm_eval_uses_running_statistics(shape):
    rng = np.random.default_rng(1)
    c = shape[1]
    x, w, b = leaf(rng.standard_normal(shape)), leaf(rng.standard_normal(c)), leaf(rng.standard_normal(c))
    mean, var = nr.tensor(rng.standard_normal(c)), nr.tensor(rng.uniform(0.5, 2.0, c))
    view = (1, c) + (1,) * (len(shape) - 2)
    y = F.batch_norm(x, mean, var, w, b)
    expected = (x.data - mean.data.reshape(view)) / np.sqrt(var.data.reshape(view) + 1e-5)
    np.testing.assert_allclose(y.data, expected * w.data.reshape(view) + b.data.reshape(view), rtol=1e-10, atol=1e-12)
    nr.gradcheck(lambda *t: F.batch_norm(t[0], mean, var, t[1], t[2], training=False), (x, w, b))


def test_running_statistics_follow_pytorch_over_steps():
    torch = reference_library("torch")
    rng = np.random.default_rng(2)
    mean, var = nr.zeros(4, dtype=np.float64), nr.ones(4, dtype=np.float64)
    mean_t, var_t = torch.zeros(4, dtype=torch.float64), torch.ones(4, dtype=torch.float64)
    w, b = rng.standard_normal(4), rng.standard_normal(4)
    for _ in range(3):
        data = rng.standard_normal((5, 4, 3, 2)) * 3 + 2
        ours = [leaf(a) for a in (data, w, b)]
        theirs = [torch.tensor(a, requires_grad=True) for a in (data, w, b)]
        y = F.batch_norm(ours[0], mean, var, ours[1], ours[2], training=True, momentum=0.3)
        yt = torch.nn.functional.batch_norm(theirs[0], mean_t, var_t, theirs[1], theirs[2], training=True, momentum=0.3)
        np.testing.assert_allclose(y.data, yt.detach().numpy(), rtol=1e-10, atol=1e-12)
        g = rng.standard_normal(y.shape)
        y.backward(g)
        yt.backward(torch.tensor(g))
        for a, t in zip(ours, theirs):
            np.testing.assert_allclose(a.grad.data, t.grad.numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(mean.data, mean_t.numpy(), rtol=1e-12)
    np.testing.assert_allclose(var.data, var_t.numpy(), rtol=1e-12)  # the unbiased batch variance, as PyTorch
    data = rng.standard_normal((5, 4, 3, 2))
    x, xt = leaf(data), torch.tensor(data, requires_grad=True)
    y = F.batch_norm(x, mean, var, leaf(w), leaf(b))
    yt = torch.nn.functional.batch_norm(xt, mean_t, var_t, torch.tensor(w), torch.tensor(b))
    np.testing.assert_allclose(y.data, yt.detach().numpy(), rtol=1e-10, atol=1e-12)
    y.backward(np.ones(y.shape))
    yt.backward(torch.ones(yt.shape, dtype=torch.float64))
    np.testing.assert_allclose(x.grad.data, xt.grad.numpy(), rtol=1e-10)


def test_running_statistics_are_updated_in_place_in_float32():
    mean, var = nr.zeros(3), nr.ones(3)
    buffers = mean.data, var.data
    x = nr.tensor(np.random.default_rng(3).standard_normal((6, 3)).astype(np.float32), requires_grad=True)
    y = F.batch_norm(x, mean, var, training=True, momentum=0.5)
    assert y.dtype == np.float32 and mean.data is buffers[0] and var.data is buffers[1]
    np.testing.assert_allclose(mean.data, 0.5 * x.data.mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(var.data, 0.5 + 0.5 * x.data.var(axis=0, ddof=1), rtol=1e-5)
    y.sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_allclose(x.grad.data, 0.0, atol=1e-5)  # Σ x̂ = 0 whatever x: its gradient vanishes


@given(st.integers(1, 3), st.integers(1, 2), st.booleans())
def test_layer_norm(lead, dims, affine):
    rng = np.random.default_rng(4)
    shape = (lead, 2, 3, 4)[: 2 + dims]
    normalized = shape[-dims:]
    x = leaf(rng.standard_normal(shape))
    w, b = (leaf(rng.standard_normal(normalized)), leaf(rng.standard_normal(normalized))) if affine else (None, None)
    y = F.layer_norm(x, normalized, w, b)
    expected = standardized(x.data, tuple(range(len(shape) - dims, len(shape))), 1e-5)
    if affine:
        expected = expected * w.data + b.data
    np.testing.assert_allclose(y.data, expected, rtol=1e-10, atol=1e-12)
    if affine:
        nr.gradcheck(lambda *t: F.layer_norm(t[0], normalized, t[1], t[2]), (x, w, b))
    else:
        nr.gradcheck(lambda t: F.layer_norm(t, normalized[-1] if dims == 1 else normalized), x)


@given(st.sampled_from([(1, 4), (2, 2), (4, 1)]), st.integers(0, 2), st.booleans())
def test_group_norm(groups_and_size, spatial, affine):
    groups, size = groups_and_size
    rng = np.random.default_rng(5)
    c = groups * size
    shape = (2, c) + (3,) * spatial
    x = leaf(rng.standard_normal(shape))
    w, b = (leaf(rng.standard_normal(c)), leaf(rng.standard_normal(c))) if affine else (None, None)
    y = F.group_norm(x, groups, w, b)
    expected = standardized(x.data.reshape(2, groups, -1), (2,), 1e-5).reshape(shape)
    if affine:
        view = (1, c) + (1,) * spatial
        expected = expected * w.data.reshape(view) + b.data.reshape(view)
    np.testing.assert_allclose(y.data, expected, rtol=1e-10, atol=1e-12)
    inputs = (x, w, b) if affine else (x,)
    nr.gradcheck(lambda *t: F.group_norm(t[0], groups, *t[1:]), inputs)


@pytest.mark.parametrize("case", ["layer", "group"])
def test_layer_and_group_norm_match_torch(case):
    torch = reference_library("torch")
    rng = np.random.default_rng(6)
    data = rng.standard_normal((3, 6, 4, 5))
    shape = (4, 5) if case == "layer" else (6,)
    arrays = [data, rng.standard_normal(shape), rng.standard_normal(shape)]
    ours = [leaf(a) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    if case == "layer":
        y, yt = F.layer_norm(*ours[:1], shape, *ours[1:]), torch.nn.functional.layer_norm(theirs[0], shape, *theirs[1:])
    else:
        y, yt = F.group_norm(ours[0], 3, *ours[1:]), torch.nn.functional.group_norm(theirs[0], 3, *theirs[1:])
    np.testing.assert_allclose(y.data, yt.detach().numpy(), rtol=1e-10, atol=1e-12)
    g = rng.standard_normal(y.shape)
    y.backward(g)
    yt.backward(torch.tensor(g))
    for a, t in zip(ours, theirs):
        np.testing.assert_allclose(a.grad.data, t.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_errors():
    x = leaf(np.zeros((2, 4, 3)))
    with pytest.raises(ValueError, match="running_mean"):
        F.batch_norm(x, None, None)
    with pytest.raises(ValueError, match="more than 1 value"):
        F.batch_norm(leaf(np.zeros((1, 4))), None, None, training=True)
    with pytest.raises(ShapeError, match="weight"):
        F.batch_norm(x, None, None, leaf(np.ones(3)), training=True)
    with pytest.raises(ShapeError, match="normalized_shape"):
        F.layer_norm(x, (4,))
    with pytest.raises(ShapeError, match="num_groups=3"):
        F.group_norm(x, 3)
