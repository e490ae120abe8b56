"""Timing: median wall time of several implementations measured in alternation, in one process.

Alternating (A, B, A, B, ...) rather than timing A then B spreads slow drifts of the machine (frequency scaling,
another process waking up) over both, so their ratio stays honest on a shared 2-core machine. Each sample starts
after a pause and one untimed call: the worker threads of a library that just ran (OpenMP in PyTorch, OpenBLAS in
NumPy) keep spinning for a while after their work and would steal the second core from the other library, and the
untimed call absorbs what the pause costs the next one (waking its own threads, cold caches).
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
            fn()  # untimed: the first call after the pause pays for waking threads and cold caches
            start = time.perf_counter()
            for _ in range(inner):
                fn()
            samples[name].append((time.perf_counter() - start) / inner)
    return {name: float(np.median(values)) for name, values in samples.items()}


def inner_count(fn: Callable[[], object], target_seconds: float = 2e-3, warmup: int = 3) -> int:
    """How many calls make a sample of about ``target_seconds`` (timer resolution matters for µs ops), judged
    from warm calls: a cold first call can be a hundred times slower and would make the samples far too short."""
    for _ in range(warmup):
        fn()
    start = time.perf_counter()
    fn()
    once = max(time.perf_counter() - start, 1e-7)
    return max(1, int(target_seconds / once))
