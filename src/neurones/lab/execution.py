"""Where the lab's work runs: in this process, on a pool of local processes, or on a Dask cluster.

An :class:`Executor` runs *tasks* — a module-level function and its arguments — and yields ``(index, result)``
as each one completes. The lab submits two kinds of task: the grid points of a sweep
(:func:`neurones.lab.sweep.sweep`) and, in a report, whole experiments. Every task runs with **one BLAS thread**
(:func:`one_blas_thread`): on a small machine two BLAS threads per process collapse as soon as another process
competes for the cores, and a fixed thread count also fixes the order of the floating-point sums inside BLAS, so
that the numbers do not depend on how many workers or threads there are.

* :class:`SerialExecutor` runs tasks one after the other in this process (the default).
* :class:`ProcessExecutor` runs them on ``workers`` fresh interpreters (``spawn``: a forked child would inherit the
  parent's BLAS and tqdm threads in whatever state they were, which can deadlock).
* :class:`DaskExecutor` runs them on a ``dask.distributed`` cluster: a :class:`~distributed.LocalCluster` it starts,
  or a running scheduler (``tcp://host:8786``) whose workers may be on other machines. A worker that dies mid-task
  has its tasks rescheduled on the others; tasks are pure functions of their arguments, so the numbers are the same.

The executor is a property of the machine, not of the experiment: it is set around a run (``with executing(e)``)
and read by ``sweep``, rather than threaded through every config.
"""

from __future__ import annotations

import contextlib
import contextvars
import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any

from threadpoolctl import threadpool_limits

from neurones.errors import LabError

TASK_RETRIES = 3
"""How many times a Dask task is resubmitted after its worker died (on top of Dask's own rescheduling)."""


def default_workers() -> int:
    """The number of cores this process may use (its CPU affinity where the OS tells it, else the core count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)


@contextlib.contextmanager
def one_blas_thread() -> Iterator[None]:
    """Limit BLAS (OpenBLAS, MKL, BLIS) and OpenMP to one thread inside the block."""
    with threadpool_limits(limits=1):
        yield


def run_task(function: Callable, arguments: tuple) -> Any:
    """``function(*arguments)`` with one BLAS thread: what every executor runs, in whatever process."""
    with one_blas_thread():
        return function(*arguments)


class Executor:
    """Runs tasks; :meth:`run` yields ``(index, result)`` in completion order. Use as a context manager (or call
    :meth:`close`) to release its processes or its cluster."""

    workers: int = 1

    def run(self, function: Callable, arguments: Sequence[tuple]) -> Iterator[tuple[int, Any]]:
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError

    def close(self) -> None:
        """Release processes or connections (nothing to do for the serial executor)."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


class SerialExecutor(Executor):
    """Every task in this process, in order."""

    def run(self, function, arguments):
        for index, args in enumerate(arguments):
            yield index, run_task(function, args)

    def describe(self) -> str:
        return "serial (this process, 1 BLAS thread)"


class ProcessExecutor(Executor):
    """A pool of ``workers`` spawned processes, created at the first task and kept until :meth:`close`."""

    def __init__(self, workers: int | None = None) -> None:
        self.workers = default_workers() if workers is None else _checked_workers(workers)
        self._pool: ProcessPoolExecutor | None = None

    def run(self, function, arguments):
        arguments = list(arguments)
        if self.workers == 1 or len(arguments) <= 1:
            yield from SerialExecutor().run(function, arguments)
            return
        if self._pool is None:
            context = multiprocessing.get_context("spawn")
            self._pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=context)
        futures = {self._pool.submit(run_task, function, args): index for index, args in enumerate(arguments)}
        try:
            for future in as_completed(futures):
                yield futures[future], future.result()
        finally:
            for future in futures:
                future.cancel()

    def describe(self) -> str:
        return f"{self.workers} local process{'es' if self.workers != 1 else ''}, 1 BLAS thread each"

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None


class DaskExecutor(Executor):
    """Tasks on a ``dask.distributed`` cluster: ``scheduler`` (``"tcp://host:8786"``) connects to a running one;
    without it a :class:`~distributed.LocalCluster` of ``workers`` single-threaded processes is started here."""

    def __init__(self, scheduler: str | None = None, workers: int | None = None) -> None:
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise LabError("the Dask executor needs the cluster extra: pip install 'neurones[cluster]'") from None
        self._cluster = None
        try:
            if scheduler is None:
                self.workers = default_workers() if workers is None else _checked_workers(workers)
                self._cluster = LocalCluster(
                    n_workers=self.workers, threads_per_worker=1, processes=True, dashboard_address=None
                )
                self._client = Client(self._cluster)
            else:
                self._client = Client(scheduler, timeout=30)
                self.workers = max(1, len(self._client.scheduler_info().get("workers", {})))
        except OSError as exc:
            self.close()
            raise LabError(f"cannot reach the Dask scheduler {scheduler}: {exc}") from exc
        self.address = self._client.scheduler.address

    def run(self, function, arguments):
        from distributed import as_completed as dask_as_completed

        arguments = list(arguments)
        # pure=False: two identical submissions are two tasks (a sweep may legitimately repeat a point).
        futures = [
            self._client.submit(run_task, function, args, pure=False, retries=TASK_RETRIES) for args in arguments
        ]
        index_of = {future.key: index for index, future in enumerate(futures)}
        try:
            for future in dask_as_completed(futures):
                yield index_of[future.key], future.result()
        finally:
            for future in futures:
                future.release()

    def describe(self) -> str:
        where = "a local Dask cluster" if self._cluster is not None else "the Dask cluster"
        return f"{where} at {self.address} ({self.workers} workers, 1 BLAS thread each)"

    def close(self) -> None:
        client = getattr(self, "_client", None)
        if client is not None:
            client.close()
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None


def make_executor(kind: str = "processes", *, workers: int | None = None, scheduler: str | None = None) -> Executor:
    """The executor the command line asks for: ``"processes"`` (``workers`` local processes; serial for one),
    ``"dask"`` (a local Dask cluster, or the running one at ``scheduler``) or ``"serial"``."""
    if scheduler is not None and kind != "dask":
        kind = "dask"
    if kind == "serial":
        return SerialExecutor()
    if kind == "processes":
        executor = ProcessExecutor(workers)
        return SerialExecutor() if executor.workers == 1 else executor
    if kind == "dask":
        return DaskExecutor(scheduler, workers)
    raise LabError(f"unknown executor {kind!r} (choose serial, processes or dask)")


_EXECUTOR: contextvars.ContextVar[Executor | None] = contextvars.ContextVar("neurones_lab_executor", default=None)


@contextlib.contextmanager
def executing(executor: Executor) -> Iterator[Executor]:
    """Within the block, sweeps that do not name an executor run their points on ``executor``."""
    token = _EXECUTOR.set(executor)
    try:
        yield executor
    finally:
        _EXECUTOR.reset(token)


def current_executor() -> Executor:
    """The executor set by the innermost :func:`executing` block (serial outside any)."""
    return _EXECUTOR.get() or SerialExecutor()


def _checked_workers(workers: int) -> int:
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be an integer ≥ 1, got {workers!r}")
    return workers
