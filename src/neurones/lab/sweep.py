"""Sweeps over grids of settings (depth × β × seed), serial or on a pool of processes, with identical results.

Each grid point gets its own random Generator, derived from the run's Generator and the point's *index* in the
grid (``SeedSequence.spawn`` keyed by index), never from the worker that happens to run it: the numbers do not
depend on ``workers``. The number of workers is a property of the machine, not of the experiment, so it is set
around a run (``with parallelism(n)``) and read by ``sweep`` rather than threaded through every config.
"""

from __future__ import annotations

import contextlib
import contextvars
import itertools
import multiprocessing
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any, TypeVar

import numpy as np

from neurones.lab.progress import progress

T = TypeVar("T")

_WORKERS = contextvars.ContextVar("neurones_lab_workers", default=1)


@contextlib.contextmanager
def parallelism(workers: int) -> Iterator[None]:
    """Within the block, ``sweep`` calls that do not name ``workers`` use this many processes."""
    if workers < 1:
        raise ValueError(f"workers must be ≥ 1, got {workers}")
    token = _WORKERS.set(workers)
    try:
        yield
    finally:
        _WORKERS.reset(token)


def grid(**axes: Sequence[Any]) -> list[dict[str, Any]]:
    """The Cartesian product of the axes, in order, as records: ``grid(depth=(10, 100), beta=(0.5, 1))`` →
    ``[{"depth": 10, "beta": 0.5}, {"depth": 10, "beta": 1}, {"depth": 100, "beta": 0.5}, ...]``."""
    names = list(axes)
    return [dict(zip(names, values)) for values in itertools.product(*(axes[name] for name in names))]


def point_seeds(rng: np.random.Generator | int, count: int) -> list[np.random.SeedSequence]:
    """``count`` independent seed sequences, the i-th for the i-th grid point. One number is drawn from ``rng`` as
    the root entropy, so two sweeps in one run get different streams and the same run seed gives the same ones."""
    entropy = int(rng.integers(2**63)) if isinstance(rng, np.random.Generator) else int(rng)
    return np.random.SeedSequence(entropy).spawn(count)


def sweep(
    fn: Callable[[Mapping[str, Any], np.random.Generator], T],
    points: Sequence[Mapping[str, Any]],
    rng: np.random.Generator | int,
    *,
    workers: int | None = None,
    desc: str | None = None,
) -> list[T]:
    """``[fn(point, rng_i) for i, point in enumerate(points)]``, where ``rng_i`` is the point's own Generator.

    With ``workers > 1`` the points run on a pool of processes (``fn`` must then be a module-level function, and
    its arguments and results picklable); the list is in the order of ``points`` either way."""
    workers = _WORKERS.get() if workers is None else workers
    if workers < 1:
        raise ValueError(f"workers must be ≥ 1, got {workers}")
    points = list(points)
    seeds = point_seeds(rng, len(points))
    if workers == 1 or len(points) <= 1:
        return [_call(fn, point, seed) for point, seed in progress(list(zip(points, seeds)), desc=desc)]
    results: list[Any] = [None] * len(points)
    # spawn, not fork: a forked child inherits the parent's threads (BLAS, tqdm's monitor) in whatever state
    # they were, which can deadlock; a fresh interpreter cannot.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=min(workers, len(points)), mp_context=context) as pool:
        futures = {pool.submit(_call, fn, point, seed): index for index, (point, seed) in enumerate(zip(points, seeds))}
        with progress(total=len(points), desc=desc) as bar:
            for future in as_completed(futures):
                results[futures[future]] = future.result()
                bar.update(1)
    return results


def _call(fn: Callable, point: Mapping[str, Any], seed: np.random.SeedSequence):
    return fn(point, np.random.default_rng(seed))
