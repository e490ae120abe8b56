"""Monte Carlo estimates and their standard errors, shared by the experiments.

Every claim compares a measurement with a prediction up to three standard errors, so every measurement needs
one: the plain standard error of a mean over independent draws, and, for statistics that are not means (ratios
of means, medians, fitted slopes), a bootstrap over the independent units — the network draws, never the
examples of one draw, which share its weights.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

BOOTSTRAP_SAMPLES = 400


def mean_and_stderr(values) -> tuple[float, float]:
    """The sample mean and its standard error s/√n over independent values; with a single value the error is
    undefined and returned as NaN (stored as null; a claim on it cannot hold)."""
    values = np.asarray(values, dtype=np.float64)
    if values.size == 0:
        raise ValueError("mean_and_stderr needs at least one value")
    if values.size == 1:
        return float(values[0]), math.nan
    return float(values.mean()), float(values.std(ddof=1) / math.sqrt(values.size))


def accuracy_and_stderr(accuracies, test_size: int) -> tuple[float, float]:
    """The mean test accuracy over independent runs and its standard error; for a single run, the sampling error
    √(p(1 − p)/test_size) of an accuracy measured on ``test_size`` test examples."""
    accuracies = np.asarray(accuracies, dtype=np.float64)
    if accuracies.size > 1:
        return mean_and_stderr(accuracies)
    mean = float(accuracies[0])
    return mean, math.sqrt(mean * (1 - mean) / test_size)


def bootstrap_stderr(statistic: Callable[..., float], per_draw: Sequence[np.ndarray], rng: np.random.Generator,
                     samples: int = BOOTSTRAP_SAMPLES) -> float:
    """Standard error of ``statistic(*per_draw)`` by resampling the draws (the first axis, shared by all arrays)."""
    n = per_draw[0].shape[0]
    values = [statistic(*(a[pick] for a in per_draw)) for pick in rng.integers(0, n, size=(samples, n))]
    return float(np.std(values, ddof=1))


def ratio_of_means(a: np.ndarray, b: np.ndarray, rng: np.random.Generator) -> tuple[float, float]:
    """E[a]/E[b] estimated over paired draws, with its bootstrap standard error."""

    def ratio(x, y):
        return float(np.mean(x) / np.mean(y))

    return ratio(a, b), bootstrap_stderr(ratio, [a, b], rng)


def log10_ratio_of_means(a: np.ndarray, b: np.ndarray, rng: np.random.Generator) -> tuple[float, float]:
    """log10(E[a]/E[b]) with its bootstrap standard error, computed in log space so that ratios far beyond the
    floating-point range (exploding or vanishing signals) stay finite."""
    log_a, log_b = np.log10(a), np.log10(b)

    def log_mean(logs):
        shift = logs.max()
        return shift + np.log10(np.mean(10 ** (logs - shift)))

    def log_ratio(x, y):
        return float(log_mean(x) - log_mean(y))

    return log_ratio(log_a, log_b), bootstrap_stderr(log_ratio, [log_a, log_b], rng)


def loglog_slope(x, y) -> tuple[float, float]:
    """The least-squares slope of log y against log x, and its standard error.

    The standard error is the textbook one of ordinary least squares, s/√Σ(log xᵢ − mean)², with s² the residual
    variance on n − 2 degrees of freedom: it measures how far the points stray from a power law (0 with two points
    or on an exact power law). Positive x and y are required.
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.shape != y.shape or x.size < 2 or np.any(x <= 0) or np.any(y <= 0):
        raise ValueError("loglog_slope needs at least two positive (x, y) pairs of equal shape")
    log_x, log_y = np.log(x), np.log(y)
    centred = log_x - log_x.mean()
    spread = float(centred @ centred)
    slope = float(centred @ (log_y - log_y.mean()) / spread)
    if x.size == 2:
        return slope, 0.0
    residuals = log_y - log_y.mean() - slope * centred
    return slope, math.sqrt(float(residuals @ residuals) / (x.size - 2) / spread)


def mean_loglog_slope(x, per_draw: np.ndarray, rng: np.random.Generator) -> tuple[float, float]:
    """The log–log slope of the mean over draws against x, with its bootstrap standard error over the draws:
    ``per_draw`` is (draws, len(x)), one row per independent draw (seed, trial, network)."""
    per_draw = np.asarray(per_draw, dtype=np.float64)

    def slope(values):
        return loglog_slope(x, values.mean(axis=0))[0]

    return slope(per_draw), bootstrap_stderr(slope, [per_draw], rng)


def median(values) -> float:
    """The median of all the values (of every draw and input), as a float."""
    return float(np.median(values))


def median_change(shallow, deeper) -> float:
    """|median(deeper)/median(shallow) − 1|: how much a median ratio moves between two depths (a non-degenerate
    limit moves little)."""
    return abs(median(deeper) / median(shallow) - 1.0)


def median_loglog_slope(depths: Sequence[float]) -> Callable[..., float]:
    """The statistic ``(*per_depth) ↦`` least-squares slope of log median against log depth, for
    :func:`bootstrap_stderr` over the draws of each depth."""

    def slope(*per_depth) -> float:
        return loglog_slope(depths, [median(values) for values in per_depth])[0]

    return slope
