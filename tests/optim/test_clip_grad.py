"""Gradient clipping by total norm and by value: NumPy formulas and torch.nn.utils."""

from __future__ import annotations

import math

import numpy as np
import pytest

import neurones as nr
from neurones import optim
from neurones.errors import GradientError
from tests.helpers import reference_library


def params_with_grads(rng, scale: float = 1.0, dtype=np.float64):
    """Three parameters with gradients and, last, one without (clipping must skip it)."""
    params = [
        nr.tensor(rng.standard_normal(shape), dtype=dtype, requires_grad=True) for shape in [(3, 4), (5,), (2, 2, 2)]
    ]
    for p in params:
        p.grad = nr.tensor(scale * rng.standard_normal(p.shape), dtype=dtype)
    params.append(nr.tensor(np.zeros(3), dtype=dtype, requires_grad=True))
    return params


def numpy_total_norm(grads, p: float) -> float:
    flat = np.concatenate([g.reshape(-1) for g in grads])
    if p == math.inf:
        return float(np.max(np.abs(flat)))
    return float(np.sum(np.abs(flat) ** p) ** (1 / p))


@pytest.mark.parametrize("norm_type", [2.0, 1.0, math.inf, 3.0])
@pytest.mark.parametrize("scale", [0.01, 10.0])
def test_clip_grad_norm_against_numpy(rng, norm_type, scale):
    params = params_with_grads(rng, scale)
    grads = [p.grad.data.copy() for p in params if p.grad is not None]
    total = optim.clip_grad_norm_(params, max_norm=1.5, norm_type=norm_type)
    expected = numpy_total_norm(grads, norm_type)
    assert isinstance(total, nr.Tensor) and total.shape == () and total.dtype == np.float64
    np.testing.assert_allclose(total.item(), expected, rtol=1e-12)
    coefficient = min(1.0, 1.5 / (expected + 1e-6))
    clipped = [p.grad.data for p in params if p.grad is not None]
    for after, before in zip(clipped, grads):
        np.testing.assert_allclose(after, before * coefficient, rtol=1e-12)
    if scale == 10.0:  # large gradients end with total norm max_norm (up to the 1e-6 guard)
        np.testing.assert_allclose(numpy_total_norm(clipped, norm_type), 1.5, rtol=1e-5)
    else:
        for after, before in zip(clipped, grads):
            np.testing.assert_array_equal(after, before)


@pytest.mark.parametrize("norm_type", [2.0, 1.0, math.inf, 3.0])
def test_clip_grad_norm_against_torch(rng, norm_type):
    torch = reference_library("torch")
    params = params_with_grads(rng, 5.0)
    theirs = []
    for p in params:
        t = torch.tensor(p.data, requires_grad=True)
        t.grad = None if p.grad is None else torch.tensor(p.grad.data)
        theirs.append(t)
    expected = torch.nn.utils.clip_grad_norm_(theirs, max_norm=2.0, norm_type=norm_type)
    total = optim.clip_grad_norm_(params, max_norm=2.0, norm_type=norm_type)
    np.testing.assert_allclose(total.item(), expected.item(), rtol=1e-12)
    for p, t in zip(params, theirs):
        if p.grad is not None:
            np.testing.assert_allclose(p.grad.data, t.grad.numpy(), rtol=1e-12)


def test_clip_grad_norm_float32_and_single_tensor():
    p = nr.tensor(np.zeros(4), requires_grad=True)
    p.grad = nr.tensor(np.array([3.0, 0.0, 4.0, 0.0], dtype=np.float32))
    total = optim.clip_grad_norm_(p, max_norm=1.0)
    assert total.dtype == np.float32 and p.grad.dtype == np.float32
    assert total.item() == pytest.approx(5.0)
    np.testing.assert_allclose(p.grad.data, [0.6, 0.0, 0.8, 0.0], rtol=1e-5)


def test_clip_grad_norm_without_gradients_returns_zero():
    total = optim.clip_grad_norm_([nr.tensor(np.zeros(2), requires_grad=True)], max_norm=1.0)
    assert total.item() == 0.0


def test_clip_grad_norm_nonfinite():
    p = nr.tensor(np.zeros(2), dtype=np.float64, requires_grad=True)
    p.grad = nr.tensor(np.array([np.inf, 1.0]))
    with pytest.raises(GradientError, match="non-finite"):
        optim.clip_grad_norm_([p], max_norm=1.0, error_if_nonfinite=True)
    np.testing.assert_array_equal(p.grad.data, [np.inf, 1.0])  # untouched when refused
    assert math.isinf(optim.clip_grad_norm_([p], max_norm=1.0).item())
    np.testing.assert_array_equal(p.grad.data, [np.nan, 0.0])  # scaled by 1/∞, as torch does


def test_get_total_norm_and_clip_grads_with_norm():
    a, b = nr.tensor(np.array([3.0])), nr.tensor(np.array([4.0]))
    assert optim.get_total_norm([a, b]).item() == pytest.approx(5.0)
    p = nr.tensor(np.zeros(2), dtype=np.float64, requires_grad=True)
    p.grad = nr.tensor(np.array([3.0, 4.0]))
    optim.clip_grads_with_norm_([p], max_norm=1.0, total_norm=10.0)
    np.testing.assert_allclose(p.grad.data, np.array([3.0, 4.0]) / (10.0 + 1e-6))


def test_clip_grad_value(rng):
    params = params_with_grads(rng, 3.0)
    grads = [None if p.grad is None else p.grad.data.copy() for p in params]
    arrays = [None if p.grad is None else p.grad.data for p in params]
    assert optim.clip_grad_value_(params, clip_value=1.25) is None
    for p, before, array in zip(params, grads, arrays):
        if before is None:
            assert p.grad is None
            continue
        assert p.grad.data is array  # in place
        np.testing.assert_array_equal(p.grad.data, np.clip(before, -1.25, 1.25))


def test_clip_grad_value_against_torch(rng):
    torch = reference_library("torch")
    p = nr.tensor(np.zeros(6), dtype=np.float64, requires_grad=True)
    g = 2.0 * rng.standard_normal(6)
    p.grad = nr.tensor(g)
    t = torch.zeros(6, dtype=torch.float64, requires_grad=True)
    t.grad = torch.tensor(g)
    optim.clip_grad_value_(p, 0.5)
    torch.nn.utils.clip_grad_value_(t, 0.5)
    np.testing.assert_array_equal(p.grad.data, t.grad.numpy())
