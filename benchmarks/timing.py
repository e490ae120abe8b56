"""Timing: median wall time of several implementations measured in alternation, in one process.

Alternating (A, B, A, B, ...) rather than timing A then B spreads slow drifts of the machine (frequency scaling,
another process waking up) over both, so their ratio stays honest on a shared 2-core machine. Each sample starts
after a short pause: the worker threads of a library that just ran (OpenMP in PyTorch, OpenBLAS in NumPy) keep
spinning for a few milliseconds after their work, and without the pause they would steal the second core from
the other library's first calls.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

SETTLE_SECONDS = 0.25


def median_times(candidates: dict[str, Callable[[], object]], repeats: int = 20, warmup: int = 3,
                 inner: int = 1) -> dict[str, float]:
    """Median seconds per call of each candidate; each sample times ``inner`` consecutive calls."""
    for fn in candidates.values():
        for _ in range(warmup):
            fn()
    samples: dict[str, list[float]] = {name: [] for name in candidates}
    for _ in range(repeats):
        for name, fn in candidates.items():
            time.sleep(SETTLE_SECONDS)
            start = time.perf_counter()
            for _ in range(inner):
                fn()
            samples[name].append((time.perf_counter() - start) / inner)
    return {name: float(np.median(values)) for name, values in samples.items()}


def inner_count(fn: Callable[[], object], target_seconds: float = 2e-3) -> int:
    """How many calls make a sample of about ``target_seconds`` (timer resolution matters for µs ops)."""
    start = time.perf_counter()
    fn()
    once = max(time.perf_counter() - start, 1e-7)
    return max(1, int(target_seconds / once))
