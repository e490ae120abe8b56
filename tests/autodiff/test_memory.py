"""Saved arrays are released after backward: training does not accumulate memory."""

from __future__ import annotations

import gc
import tracemalloc

import numpy as np

import neurones as nr
import neurones.functional as F


def test_two_hundred_training_steps_do_not_grow_memory():
    rng = np.random.default_rng(0)
    W1 = nr.tensor(rng.standard_normal((64, 32)).astype(np.float32) * 0.1, requires_grad=True)
    b1 = nr.zeros(64, requires_grad=True)
    W2 = nr.tensor(rng.standard_normal((1, 64)).astype(np.float32) * 0.1, requires_grad=True)
    x = nr.tensor(rng.standard_normal((128, 32)).astype(np.float32))
    y = nr.tensor(rng.standard_normal((128, 1)).astype(np.float32))
    params = (W1, b1, W2)

    def step():
        loss = F.mse_loss(F.linear(F.relu(F.linear(x, W1, b1)), W2), y)
        loss.backward()
        with nr.no_grad():
            for p in params:
                p.sub_(0.01 * p.grad.data)
                p.grad = None

    for _ in range(10):  # warm caches (NumPy's small-array cache, first-call allocations)
        step()
    gc.collect()
    tracemalloc.start()
    try:
        step()
        baseline, _ = tracemalloc.get_traced_memory()
        for _ in range(200):
            step()
        current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert current - baseline < 64 * 1024  # a leak of one activation per step would be 200 × 32 KiB
    assert peak - baseline < 2 * 1024 * 1024  # one step's working set, not 200 of them


def test_graph_is_freed_without_the_cycle_collector():
    x = nr.tensor(np.ones((256, 256), np.float32), requires_grad=True)
    gc.disable()
    try:
        tracemalloc.start()
        start, _ = tracemalloc.get_traced_memory()
        for _ in range(50):
            y = (x * 2.0).exp().sum()
            y.backward()
            del y
        current, _ = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    finally:
        gc.enable()
    assert current - start < 2 * 256 * 256 * 4  # x.grad and slack, not 50 graphs
