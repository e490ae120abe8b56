"""Weight functions of depth (seed 003): constant draws, Gaussian processes in s, i.i.d. stacks."""

from __future__ import annotations

import numpy as np
import pytest

from neurones.nn.depth_functions import ConstantInDepth, GaussianProcessInDepth, depth_grid, iid_in_depth


def test_depth_grid_is_k_over_L():
    np.testing.assert_allclose(depth_grid(4), [0.25, 0.5, 0.75, 1.0])
    with pytest.raises(ValueError, match="depth"):
        depth_grid(0)


def test_constant_in_depth_repeats_one_gaussian_draw():
    fn = ConstantInDepth((3, 5), std=2.0, rng=0)
    values = fn(depth_grid(7))
    assert values.shape == (7, 3, 5)
    assert np.all(values == values[0])
    np.testing.assert_array_equal(values[0], np.random.default_rng(0).standard_normal((3, 5)) * 2.0)
    values[0, 0, 0] = 99.0  # callers get a copy, not the function's own matrix
    assert fn(np.array([0.5]))[0, 0, 0] != 99.0


def test_gaussian_process_is_the_same_function_on_every_grid():
    fn = GaussianProcessInDepth((2, 3), bandwidth=0.2, rng=1)
    coarse, fine = fn(depth_grid(4)), fn(depth_grid(16))
    np.testing.assert_allclose(coarse, fine[3::4], rtol=1e-12)


def test_gaussian_process_has_the_rbf_covariance():
    # Over many independent entries the empirical covariance between depths s and s′ must be
    # std² exp(−(s − s′)²/(2ℓ²)), up to Monte Carlo error (entries of one draw share the Fourier features, so
    # average over draws as well as entries).
    s = np.array([0.0, 0.1, 0.3, 0.6])
    std, bandwidth = 1.5, 0.25
    samples = np.concatenate(
        [GaussianProcessInDepth((400,), std, bandwidth, rng=seed)(s) for seed in range(50)], axis=1
    )
    empirical = samples @ samples.T / samples.shape[1]
    expected = std**2 * np.exp(-((s[:, None] - s[None, :]) ** 2) / (2 * bandwidth**2))
    np.testing.assert_allclose(empirical, expected, atol=0.12)


def test_gaussian_process_samples_are_smooth():
    # A C^∞ function sampled at step 1/L moves by O(1/L) between neighbours; an i.i.d. stack by O(1).
    fn = GaussianProcessInDepth((8, 8), bandwidth=0.3, rng=2)
    steps = [np.abs(np.diff(fn(depth_grid(L)), axis=0)).max() for L in (16, 64, 256)]
    assert steps[1] == pytest.approx(steps[0] / 4, rel=0.3) and steps[2] == pytest.approx(steps[1] / 4, rel=0.3)


def test_gaussian_process_refuses_bad_parameters():
    with pytest.raises(ValueError, match="bandwidth"):
        GaussianProcessInDepth((2,), bandwidth=0.0)
    with pytest.raises(ValueError, match="features"):
        GaussianProcessInDepth((2,), features=0)


def test_iid_in_depth_draws_independent_layers():
    stack = iid_in_depth((30, 30), 50, std=0.5, rng=3)
    assert stack.shape == (50, 30, 30)
    assert stack.std() == pytest.approx(0.5, rel=0.02)
    correlation = np.corrcoef(stack[:-1].ravel(), stack[1:].ravel())[0, 1]
    assert abs(correlation) < 0.02
