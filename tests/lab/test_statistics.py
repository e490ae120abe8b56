"""Monte Carlo estimates and standard errors shared by the experiments."""

from __future__ import annotations

import math

import numpy as np
import pytest

from neurones.lab.statistics import (
    bootstrap_stderr,
    log10_ratio_of_means,
    loglog_slope,
    mean_and_stderr,
    mean_loglog_slope,
    ratio_of_means,
)


def test_mean_and_stderr():
    mean, stderr = mean_and_stderr(np.array([1.0, 2.0, 3.0, 6.0]))
    assert mean == 3.0 and stderr == pytest.approx(np.std([1, 2, 3, 6], ddof=1) / 2, rel=1e-12)


def test_bootstrap_of_a_constant_is_zero():
    assert bootstrap_stderr(np.mean, [np.full(5, 2.5)], np.random.default_rng(0)) == 0.0


def test_bootstrap_of_the_mean_matches_the_analytic_standard_error():
    values = np.random.default_rng(1).standard_normal(400)
    _, analytic = mean_and_stderr(values)
    boot = bootstrap_stderr(np.mean, [values], np.random.default_rng(2), samples=2000)
    assert boot == pytest.approx(analytic, rel=0.1)


def test_ratio_of_means_is_exact_when_proportional():
    a = np.array([2.0, 4.0, 6.0, 10.0])
    ratio, stderr = ratio_of_means(a, a / 4, np.random.default_rng(0))
    assert ratio == 4.0 and stderr == pytest.approx(0.0, abs=1e-12)


def test_log10_ratio_handles_huge_values():
    a = np.array([1e300, 3e300])
    b = np.array([1e-300, 1e-300])
    value, stderr = log10_ratio_of_means(a, b, np.random.default_rng(0))
    assert value == pytest.approx(600 + math.log10(2), rel=1e-12)
    assert stderr > 0


def test_loglog_slope_of_an_exact_power_law():
    x = np.array([2.0, 16, 64, 256, 1024])
    slope, stderr = loglog_slope(x, 3.0 * x**-1.0)
    assert slope == pytest.approx(-1.0, abs=1e-12) and stderr == pytest.approx(0.0, abs=1e-12)


def test_loglog_slope_stderr_is_the_ols_one():
    rng = np.random.default_rng(0)
    x = np.geomspace(1, 1000, 8)
    y = x**0.5 * np.exp(0.1 * rng.standard_normal(8))
    slope, stderr = loglog_slope(x, y)
    fit = np.polyfit(np.log(x), np.log(y), 1, cov=True)
    assert slope == pytest.approx(fit[0][0], rel=1e-10)
    assert stderr == pytest.approx(np.sqrt(fit[1][0, 0]), rel=1e-10)


def test_loglog_slope_refuses_non_positive_values():
    with pytest.raises(ValueError, match="positive"):
        loglog_slope([1, 2, 3], [1, 0, 2])


def test_accuracy_and_stderr():
    from neurones.lab.statistics import accuracy_and_stderr

    assert accuracy_and_stderr([0.6, 0.7], 1000) == mean_and_stderr([0.6, 0.7])
    mean, stderr = accuracy_and_stderr([0.9], 1000)
    assert mean == 0.9 and stderr == pytest.approx(math.sqrt(0.9 * 0.1 / 1000))


def test_median_statistics():
    from neurones.lab.statistics import median, median_change, median_loglog_slope

    assert median(np.array([[3.0, 1.0], [2.0, 9.0]])) == 2.5
    assert median_change([1.0, 2.0, 3.0], [2.2, 2.0, 2.4]) == pytest.approx(0.1)
    depths = [10, 100, 1000]
    per_depth = [np.array([[1.0 / d, 2.0 / d]]) for d in depths]  # medians 1.5/L: slope −1
    assert median_loglog_slope(depths)(*per_depth) == pytest.approx(-1.0)


def test_mean_loglog_slope_fits_the_mean_over_draws_and_bootstraps_over_them():
    x = np.array([1.0, 2.0, 4.0, 8.0])
    per_draw = np.array([x**-1.0 * c for c in (0.5, 1.0, 1.5)])  # every draw a power law of exponent −1
    slope, stderr = mean_loglog_slope(x, per_draw, np.random.default_rng(0))
    assert slope == pytest.approx(-1.0, abs=1e-12) and stderr == pytest.approx(0.0, abs=1e-12)
    noisy = per_draw * np.exp(np.random.default_rng(1).normal(0, 0.1, per_draw.shape))
    assert mean_loglog_slope(x, noisy, np.random.default_rng(0))[1] > 0
