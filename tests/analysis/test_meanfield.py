"""Mean-field maps against closed forms: linear and ReLU-type layers, small-q expansions, sigmoid's slope."""

import math

import numpy as np
import pytest

from neurones.analysis.meanfield import (
    activation_pair,
    finite_width_iterates,
    fixed_point,
    gaussian_expectation,
    gradient_factor,
    variance_iterates,
    variance_map,
)  # fmt: skip


def test_gaussian_moments():
    assert gaussian_expectation(lambda z: 1.0) == pytest.approx(1.0, abs=1e-12)
    assert gaussian_expectation(lambda z: z * z) == pytest.approx(1.0, abs=1e-12)
    assert gaussian_expectation(lambda z: z**4) == pytest.approx(3.0, abs=1e-11)
    assert gaussian_expectation(lambda z: abs(z)) == pytest.approx(math.sqrt(2 / math.pi), abs=1e-12)


@pytest.mark.parametrize("q", [1e-3, 0.7, 4.0])
def test_closed_forms(q):
    assert variance_map("identity", q, c=1.3) == pytest.approx(1.3 * q, rel=1e-11)
    assert variance_map("relu", q, c=2.0) == pytest.approx(q, rel=1e-11)  # He: E relu(z)² = q/2
    for slope in (0.01, 0.2, 0.5):
        gain = 2 / (1 + slope**2)  # the leaky gain of the annex
        assert variance_map("leaky_relu", q, c=gain, negative_slope=slope) == pytest.approx(q, rel=1e-11)
        assert gradient_factor("leaky_relu", q, c=gain, negative_slope=slope) == pytest.approx(1.0, rel=1e-11)
    assert gradient_factor("relu", q, c=2.0) == pytest.approx(1.0, rel=1e-11)


def test_tanh_small_variance_expansion():
    q = 1e-3  # E tanh(√q Z)² = q − 2q² + (17/3) q³ + …
    assert variance_map("tanh", q) == pytest.approx(q - 2 * q**2 + 17 / 3 * q**3, rel=1e-7)
    assert gradient_factor("tanh", q) == pytest.approx(1 - 2 * q + 7 * q**2, rel=1e-7)  # E (1 − tanh²)²
    iterates = variance_iterates("tanh", 1e-3, [1.0] * 49)
    assert iterates.shape == (50,) and np.all(np.diff(iterates) < 0)


def test_sigmoid_slope_and_fixed_point():
    phi, phi_prime = activation_pair("sigmoid")
    assert phi(0.0) == 0.5 and phi_prime(0.0) == 0.25  # γ = ¼, the slides' bound
    q_star = fixed_point("sigmoid", c=1.0)
    assert variance_map("sigmoid", q_star) == pytest.approx(q_star, rel=1e-10)
    assert gradient_factor("sigmoid", q_star) < 0.0625  # below γ² = 1/16 away from 0


def test_unknown_activation():
    with pytest.raises(ValueError, match="activation must be one of"):
        variance_map("softsign", 1.0)


def test_finite_width_iterates_follow_the_chain_they_approximate():
    # The exact finite-width chain q̂_{l+1} = (1/n) Σ_j tanh(√q̂_l Z_j)², simulated: the second-order iterate sits
    # between it and the mean-field value, within about the square of its shift from the latter.
    rng = np.random.default_rng(0)
    for width, depth in ((8, 6), (16, 10)):
        q = np.ones(100_000)
        for _ in range(depth):
            q = np.mean(np.tanh(np.sqrt(q)[:, None] * rng.standard_normal((q.size, width))) ** 2, axis=1)
        means, variances = finite_width_iterates("tanh", 1.0, [1.0] * depth, width)
        infinite = variance_iterates("tanh", 1.0, [1.0] * depth)[-1]
        shift = 1 - means[-1] / infinite
        assert 0.1 < shift < 0.2  # the shift is large here: it must be resolved, not noise
        assert abs(q.mean() / means[-1] - 1) < shift**2
        assert variances[-1] == pytest.approx(q.var(), rel=0.15)


def test_finite_width_iterates_of_a_linear_map():
    # No curvature: the mean is the mean-field value exactly; the variance adds 2 q²/n per layer (χ²-sampling).
    means, variances = finite_width_iterates("identity", 1.0, [1.0] * 10, 16, q0_variance=0.1)
    np.testing.assert_allclose(means, 1.0, rtol=1e-6)
    assert variances[-1] == pytest.approx(0.1 + 10 * 2 / 16, rel=1e-6)
    # and the infinite-width limit is the mean-field iterate
    wide, _ = finite_width_iterates("tanh", 1.0, [1.0] * 20, 10**9)
    np.testing.assert_allclose(wide, variance_iterates("tanh", 1.0, [1.0] * 20), rtol=1e-7)


