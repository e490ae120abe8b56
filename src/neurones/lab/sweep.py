"""Sweeps over grids of settings (depth × β × seed), on any executor, with identical results, resumable.

Each grid point gets its own random Generator, derived from the run's Generator and the point's *index* in the
grid (``SeedSequence.spawn`` keyed by index), never from the worker that happens to run it: the numbers do not
depend on the executor or on the number of workers. Points run on the executor of the enclosing
:func:`neurones.lab.execution.executing` block (serial outside one); inside a run, each finished point is saved to
the run's point store (:mod:`neurones.lab.point_store`) and a resumed run loads the points it already has.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import numpy as np

from neurones.lab.execution import Executor, ProcessExecutor, current_executor
from neurones.lab.point_store import MISSING, current_point_store, point_key
from neurones.lab.progress import progress

T = TypeVar("T")


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
    executor: Executor | None = None,
    desc: str | None = None,
) -> list[T]:
    """``[fn(point, rng_i) for i, point in enumerate(points)]``, where ``rng_i`` is the point's own Generator.

    Runs on ``executor`` (or, with ``workers``, on that many local processes; else on the current executor).
    Off this process ``fn`` must be a module-level function, and its arguments and results picklable; the list is
    in the order of ``points`` either way."""
    points = list(points)
    seeds = point_seeds(rng, len(points))
    store = current_point_store()
    keys = [point_key(fn, point, seed) for point, seed in zip(points, seeds)]
    results: list[Any] = [store.load(key) if store is not None else MISSING for key in keys]
    pending = [index for index, result in enumerate(results) if result is MISSING]

    owned = None
    if executor is None and workers is not None:
        executor = owned = ProcessExecutor(workers)
    executor = executor or current_executor()
    try:
        with progress(total=len(points), desc=desc) as bar:
            bar.update(len(points) - len(pending))
            tasks = [(fn, points[index], seeds[index]) for index in pending]
            for task_index, result in executor.run(_call, tasks):
                index = pending[task_index]
                results[index] = result
                if store is not None:
                    store.save(keys[index], result)
                bar.update(1)
    finally:
        if owned is not None:
            owned.close()
    return results


def _call(fn: Callable, point: Mapping[str, Any], seed: np.random.SeedSequence):
    return fn(point, np.random.default_rng(seed))
