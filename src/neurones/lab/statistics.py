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
    """The sample mean and its standard error s/√n (n ≥ 2 independent values)."""
    values = np.asarray(values, dtype=np.float64)
    return float(values.mean()), float(values.std(ddof=1) / math.sqrt(values.size))


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
