"""dropout and dropout2d: identity cases, mask statistics, reproducibility from the seed, gradients."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import neurones as nr
import neurones.functional as F
from neurones.errors import InplaceError, ShapeError
from tests.helpers import leaf


def test_identity_when_not_training_or_p_is_zero():
    x = leaf(np.ones((3, 4)))
    assert F.dropout(x, 0.5, training=False) is x
    assert F.dropout(x, 0.0) is x
    assert F.dropout2d(x.reshape(1, 3, 4), 0.5, training=False).shape == (1, 3, 4)


def test_p_one_drops_everything():
    x = leaf(np.ones((3, 4)))
    y = F.dropout(x, 1.0, rng=0)
    np.testing.assert_array_equal(y.data, 0.0)
    y.backward(np.ones(y.shape))
    np.testing.assert_array_equal(x.grad.data, 0.0)


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_dropout_statistics(p):
    """The dropped fraction is p and the mean is preserved, within 4 Monte Carlo standard errors."""
    n = 200_000
    y = F.dropout(nr.ones(n), p, rng=np.random.default_rng(1)).data
    assert y.dtype == np.float32
    dropped = np.mean(y == 0)
    assert abs(dropped - p) < 4 * np.sqrt(p * (1 - p) / n)
    np.testing.assert_allclose(np.unique(y), [0.0, 1 / (1 - p)], rtol=1e-6)
    assert abs(y.mean() - 1.0) < 4 * np.sqrt(p / (1 - p) / n)  # Var of one entry: p / (1 − p)


def test_same_seed_same_mask_and_default_generator():
    x = nr.ones(1000)
    np.testing.assert_array_equal(F.dropout(x, 0.3, rng=7).data, F.dropout(x, 0.3, rng=7).data)
    assert not np.array_equal(F.dropout(x, 0.3, rng=7).data, F.dropout(x, 0.3, rng=8).data)
    nr.manual_seed(11)
    first = F.dropout(x, 0.3).data
    nr.manual_seed(11)
    np.testing.assert_array_equal(F.dropout(x, 0.3).data, first)
    expected = (np.random.default_rng(11).random(1000, dtype=np.float32) >= 0.3) / 0.7
    np.testing.assert_allclose(first, expected, rtol=1e-6)


@given(st.floats(0.05, 0.95), st.sampled_from([(3, 4), (2, 3, 5), (2, 3, 2, 2)]))
def test_dropout_gradient_is_the_scaled_mask(p, shape):
    rng = np.random.default_rng(2)
    x = leaf(rng.standard_normal(shape))
    nr.gradcheck(lambda t: F.dropout(t, p, rng=3), x)
    x.grad = None
    y = F.dropout(x, p, rng=3)
    y.backward(np.ones(shape))
    kept = y.data != 0
    np.testing.assert_allclose(x.grad.data, kept / (1 - p), rtol=1e-12)
    np.testing.assert_allclose(y.data, np.where(kept, x.data / (1 - p), 0.0), rtol=1e-12)
    if len(shape) >= 3:
        nr.gradcheck(lambda t: F.dropout2d(t, p, rng=3), x)


@pytest.mark.parametrize("shape", [(40, 50, 3, 3), (40, 50, 4)])
def test_dropout2d_drops_whole_channels(shape):
    p = 0.4
    y = F.dropout2d(nr.ones(*shape), p, rng=4).data
    channels = y.reshape(shape[0], shape[1], -1)
    assert np.all(channels == channels[..., :1])  # one decision per (sample, channel)
    dropped = np.mean(channels[..., 0] == 0)
    assert abs(dropped - p) < 4 * np.sqrt(p * (1 - p) / (shape[0] * shape[1]))
    assert abs(y.mean() - 1.0) < 4 * np.sqrt(p / (1 - p) / (shape[0] * shape[1]))


def test_inplace_and_errors():
    x = nr.ones(100)
    y = F.dropout(x, 0.5, inplace=True, rng=5)
    assert y is x and np.all((x.data == 0) | (x.data == 2))
    with pytest.raises(InplaceError):
        F.dropout(leaf(np.ones(3)), 0.5, inplace=True)
    with pytest.raises(ValueError, match="between 0 and 1"):
        F.dropout(x, 1.5)
    with pytest.raises(ShapeError, match="dropout2d"):
        F.dropout2d(nr.ones(3, 4), 0.5)
