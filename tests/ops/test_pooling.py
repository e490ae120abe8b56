"""Max, average and adaptive average pooling: values against direct loops and PyTorch, gradients, ties, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import neurones as nr
import neurones.functional as F
from neurones.errors import ShapeError
from tests.helpers import leaf, reference_library


def _out_size(size, k, s, p, d, ceil_mode):
    reach = size + 2 * p - d * (k - 1) - 1
    out = (math.ceil if ceil_mode else math.floor)(reach / s) + 1
    if ceil_mode and (out - 1) * s >= size + p:
        out -= 1
    return out


def pool2d_reference(x, kernel, stride, padding, dilation, ceil_mode, kind, count_include_pad=True):
    """One window at a time. Max: over the real inputs in the window. Average: sum over the real inputs divided
    by the window clipped to the padded input (count_include_pad) or by the number of real inputs."""
    h, w = x.shape[-2:]
    out_h, out_w = (
        _out_size(n, k, s, p, d, ceil_mode) for n, k, s, p, d in zip((h, w), kernel, stride, padding, dilation)
    )
    y = np.zeros((*x.shape[:-2], out_h, out_w))
    for a in range(out_h):
        for b in range(out_w):
            rows = [a * stride[0] - padding[0] + i * dilation[0] for i in range(kernel[0])]
            cols = [b * stride[1] - padding[1] + j * dilation[1] for j in range(kernel[1])]
            inside_rows = [r for r in rows if 0 <= r < h]
            inside_cols = [c for c in cols if 0 <= c < w]
            window = x[..., inside_rows, :][..., inside_cols]
            if kind == "max":
                y[..., a, b] = window.max(axis=(-2, -1))
            else:
                padded_rows = len([r for r in rows if r < h + padding[0]])
                padded_cols = len([c for c in cols if c < w + padding[1]])
                count = padded_rows * padded_cols if count_include_pad else len(inside_rows) * len(inside_cols)
                y[..., a, b] = window.sum(axis=(-2, -1)) / count
    return y


@st.composite
def pool_cases(draw, dilation=True):
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    padding = tuple(draw(st.integers(0, k // 2)) for k in kernel)
    dil = (draw(st.integers(1, 2)), draw(st.integers(1, 2))) if dilation else (1, 1)
    size = tuple(d * (k - 1) + 1 + draw(st.integers(0, 4)) for k, d in zip(kernel, dil))
    return dict(
        shape=(2, draw(st.integers(1, 2)), *size),
        kernel=kernel,
        stride=stride,
        padding=padding,
        dilation=dil,
        ceil_mode=draw(st.booleans()),
    )


@given(pool_cases())
def test_max_pool2d_values_and_gradcheck(case):
    rng = np.random.default_rng(0)
    x = leaf(rng.permutation(np.prod(case["shape"])).reshape(case["shape"]) * 0.1)  # distinct values: no ties
    params = dict(
        kernel_size=case["kernel"],
        stride=case["stride"],
        padding=case["padding"],
        dilation=case["dilation"],
        ceil_mode=case["ceil_mode"],
    )
    y = F.max_pool2d(x, **params)
    expected = pool2d_reference(
        x.data, case["kernel"], case["stride"], case["padding"], case["dilation"], case["ceil_mode"], "max"
    )
    np.testing.assert_array_equal(y.data, expected)
    nr.gradcheck(lambda t: F.max_pool2d(t, **params), x)


@given(pool_cases(dilation=False), st.booleans())
def test_avg_pool2d_values_and_gradcheck(case, count_include_pad):
    rng = np.random.default_rng(1)
    x = leaf(rng.standard_normal(case["shape"]))
    params = dict(
        kernel_size=case["kernel"],
        stride=case["stride"],
        padding=case["padding"],
        ceil_mode=case["ceil_mode"],
        count_include_pad=count_include_pad,
    )
    y = F.avg_pool2d(x, **params)
    expected = pool2d_reference(
        x.data, case["kernel"], case["stride"], case["padding"], (1, 1), case["ceil_mode"], "avg", count_include_pad
    )
    np.testing.assert_allclose(y.data, expected, rtol=1e-12, atol=1e-12)
    nr.gradcheck(lambda t: F.avg_pool2d(t, **params), x)


@given(st.integers(1, 4), st.integers(1, 3), st.booleans())
def test_pool1d_is_pool2d_on_a_row(kernel, stride, ceil_mode):
    rng = np.random.default_rng(2)
    x = leaf(rng.standard_normal((2, 3, kernel + 5)))
    padding = kernel // 2
    params = dict(kernel_size=kernel, stride=stride, padding=padding, ceil_mode=ceil_mode)
    as_image = x.detach().unsqueeze(2)
    params2 = dict(kernel_size=(1, kernel), stride=(1, stride), padding=(0, padding), ceil_mode=ceil_mode)
    np.testing.assert_array_equal(F.max_pool1d(x, **params).data, F.max_pool2d(as_image, **params2).data[:, :, 0])
    np.testing.assert_allclose(F.avg_pool1d(x, **params).data, F.avg_pool2d(as_image, **params2).data[:, :, 0])
    nr.gradcheck(lambda t: F.max_pool1d(t, **params), x)
    nr.gradcheck(lambda t: F.avg_pool1d(t, **params), x)


def test_max_pool_ties_send_the_gradient_to_the_first_maximum():
    x = leaf([[[[1.0, 1.0, 0.0], [1.0, 1.0, 2.0], [2.0, 0.0, 2.0]]]])
    y = F.max_pool2d(x, 2, stride=1)
    np.testing.assert_array_equal(y.data, [[[[1.0, 2.0], [2.0, 2.0]]]])
    y.backward(np.ones(y.shape))
    np.testing.assert_array_equal(x.grad.data, [[[[1.0, 0.0, 0.0], [0.0, 0.0, 2.0], [1.0, 0.0, 0.0]]]])


def test_non_overlapping_pools_and_global_average():
    rng = np.random.default_rng(3)
    x = leaf(rng.standard_normal((2, 3, 7, 9)))  # 7 and 9 are not multiples of 2: the last row/column is dropped
    blocks = x.data[:, :, :6, :8].reshape(2, 3, 3, 2, 4, 2)
    np.testing.assert_array_equal(F.max_pool2d(x, 2).data, blocks.max(axis=(3, 5)))
    np.testing.assert_allclose(F.avg_pool2d(x, 2).data, blocks.mean(axis=(3, 5)), rtol=1e-12)
    nr.gradcheck(lambda t: F.avg_pool2d(t, 2), x)
    nr.gradcheck(lambda t: F.max_pool2d(t, 2), x)
    pooled = F.adaptive_avg_pool2d(x, 1)
    assert pooled.shape == (2, 3, 1, 1)
    np.testing.assert_allclose(pooled.data[..., 0, 0], x.data.mean(axis=(2, 3)), rtol=1e-12)
    nr.gradcheck(lambda t: F.adaptive_avg_pool2d(t, 1), x)
    np.testing.assert_allclose(F.adaptive_avg_pool1d(x[0], 1).data[..., 0], x.data[0].mean(axis=-1), rtol=1e-12)


@given(st.integers(1, 7), st.integers(1, 9))
def test_adaptive_avg_pool2d_bins(out_h, out_w):
    rng = np.random.default_rng(4)
    x = leaf(rng.standard_normal((1, 2, 7, 9)))
    y = F.adaptive_avg_pool2d(x, (out_h, out_w))
    for a in range(out_h):
        for b in range(out_w):
            rows = slice(a * 7 // out_h, -(-(a + 1) * 7 // out_h))
            cols = slice(b * 9 // out_w, -(-(b + 1) * 9 // out_w))
            np.testing.assert_allclose(y.data[..., a, b], x.data[..., rows, cols].mean(axis=(-2, -1)), rtol=1e-12)
    nr.gradcheck(lambda t: F.adaptive_avg_pool2d(t, (out_h, out_w)), x)
    nr.gradcheck(lambda t: F.adaptive_avg_pool1d(t[0], out_w), x)


def test_float32_unbatched_and_none_output_size():
    x = nr.tensor(np.arange(2 * 6 * 6, dtype=np.float32).reshape(2, 6, 6), requires_grad=True)
    for y in (F.max_pool2d(x, 3), F.avg_pool2d(x, 2, padding=1), F.adaptive_avg_pool2d(x, (None, 4))):
        assert y.dtype == np.float32
        y.sum().backward()
        assert x.grad.dtype == np.float32
    assert F.adaptive_avg_pool2d(x, (None, 4)).shape == (2, 6, 4)
    assert F.max_pool1d(x, 2).shape == (2, 6, 3)


def test_errors():
    x = leaf(np.zeros((1, 1, 4, 4)))
    with pytest.raises(ValueError, match="padding"):
        F.max_pool2d(x, 2, padding=2)
    with pytest.raises(ShapeError, match="too small"):
        F.avg_pool2d(x, 5)
    with pytest.raises(ShapeError, match="max_pool1d"):
        F.max_pool1d(leaf(np.zeros(3)), 2)
    with pytest.raises(ValueError, match="divisor_override"):
        F.avg_pool2d(x, 2, divisor_override=0)


# ------------------------------------------------------------------------------------------------ PyTorch
max_cases = [
    dict(kernel_size=2),
    dict(kernel_size=3, stride=2, padding=1),
    dict(kernel_size=(2, 3), stride=(1, 2), padding=(1, 0), ceil_mode=True),
    dict(kernel_size=3, stride=2, dilation=2, padding=1, ceil_mode=True),
]


@pytest.mark.parametrize("params", max_cases)
def test_max_pools_match_torch(params):
    torch = reference_library("torch")
    rng = np.random.default_rng(5)
    data = rng.integers(0, 4, size=(2, 3, 9, 8)).astype(np.float64)  # many ties
    x, xt = leaf(data), torch.tensor(data, requires_grad=True)
    y, index = F.max_pool2d(x, return_indices=True, **params)
    yt, index_t = torch.nn.functional.max_pool2d(xt, return_indices=True, **params)
    np.testing.assert_array_equal(y.data, yt.detach().numpy())
    np.testing.assert_array_equal(index.data, index_t.numpy())
    g = rng.standard_normal(y.shape)
    y.backward(g)
    yt.backward(torch.tensor(g))
    np.testing.assert_allclose(x.grad.data, xt.grad.numpy(), rtol=1e-12, atol=1e-12)
    params1 = {k: v[-1] if isinstance(v, tuple) else v for k, v in params.items()}
    x1 = data[:, :, 0]
    y1, index1 = F.max_pool1d(leaf(x1), return_indices=True, **params1)
    yt1, index_t1 = torch.nn.functional.max_pool1d(torch.tensor(x1), return_indices=True, **params1)
    np.testing.assert_array_equal(y1.data, yt1.numpy())
    np.testing.assert_array_equal(index1.data, index_t1.numpy())
    with nr.no_grad():
        _, unrecorded = F.max_pool2d(x, return_indices=True, **params)
    np.testing.assert_array_equal(unrecorded.data, index_t.numpy())


avg_cases = [
    dict(kernel_size=2),
    dict(kernel_size=3, stride=2, padding=1),
    dict(kernel_size=3, stride=2, padding=1, count_include_pad=False),
    dict(kernel_size=(2, 3), stride=(2, 2), padding=(1, 1), ceil_mode=True),
    dict(kernel_size=(2, 3), stride=(2, 2), padding=(1, 1), ceil_mode=True, count_include_pad=False),
]


@pytest.mark.parametrize("params", [*avg_cases, dict(kernel_size=3, padding=1, divisor_override=4)])
def test_avg_pool2d_matches_torch(params):
    torch = reference_library("torch")
    rng = np.random.default_rng(6)
    data = rng.standard_normal((2, 3, 9, 8))
    x, xt = leaf(data), torch.tensor(data, requires_grad=True)
    y, yt = F.avg_pool2d(x, **params), torch.nn.functional.avg_pool2d(xt, **params)
    np.testing.assert_allclose(y.data, yt.detach().numpy(), rtol=1e-12, atol=1e-12)
    g = rng.standard_normal(y.shape)
    y.backward(g)
    yt.backward(torch.tensor(g))
    np.testing.assert_allclose(x.grad.data, xt.grad.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("params", avg_cases)
def test_avg_pool1d_matches_torch(params):
    torch = reference_library("torch")
    params = {k: v[-1] if isinstance(v, tuple) else v for k, v in params.items()}
    data = np.random.default_rng(7).standard_normal((2, 3, 11))
    y = F.avg_pool1d(leaf(data), **params)
    np.testing.assert_allclose(y.data, torch.nn.functional.avg_pool1d(torch.tensor(data), **params).numpy(), rtol=1e-12)


@pytest.mark.parametrize("size", [1, (2, 3), (3, 5), (None, 2), (7, 9), (4, 4)])
def test_adaptive_avg_pool_matches_torch(size):
    torch = reference_library("torch")
    rng = np.random.default_rng(8)
    data = rng.standard_normal((2, 3, 7, 9))
    x, xt = leaf(data), torch.tensor(data, requires_grad=True)
    y, yt = F.adaptive_avg_pool2d(x, size), torch.nn.functional.adaptive_avg_pool2d(xt, size)
    np.testing.assert_allclose(y.data, yt.detach().numpy(), rtol=1e-12, atol=1e-12)
    g = rng.standard_normal(y.shape)
    y.backward(g)
    yt.backward(torch.tensor(g))
    np.testing.assert_allclose(x.grad.data, xt.grad.numpy(), rtol=1e-12, atol=1e-12)
    length = size[-1] if isinstance(size, tuple) else size
    y1 = F.adaptive_avg_pool1d(leaf(data[:, :, 0]), length)
    expected = torch.nn.functional.adaptive_avg_pool1d(torch.tensor(data[:, :, 0]), length).numpy()
    np.testing.assert_allclose(y1.data, expected, rtol=1e-12)
