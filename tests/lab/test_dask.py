"""The Dask executor: a LocalCluster of two processes and a scheduler with workers started as subprocesses on
127.0.0.1 give the serial numbers, for grid points and for whole experiments of a report; a worker killed in the
middle of a sweep has its points run elsewhere and the sweep completes with the same numbers."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from neurones.lab.execution import DaskExecutor
from neurones.lab.sweep import grid, sweep
from neurones.report.build import collect_runs
from tests.lab.dask_tasks import slow_draw
from tests.lab.test_sweep import draw

ROOT = Path(__file__).resolve().parents[2]
POINTS = grid(depth=(10, 100, 1000), beta=(0.25, 0.5))


def without_pid(records):
    return [{key: value for key, value in record.items() if key != "pid"} for record in records]


def test_a_local_cluster_of_two_processes_gives_the_serial_numbers(tmp_path):
    serial = sweep(draw, POINTS, 11)
    with DaskExecutor(workers=2) as cluster:
        assert cluster.workers == 2 and "local Dask cluster" in cluster.describe()
        assert sweep(draw, POINTS, 11, executor=cluster) == serial
        on_dask = collect_runs(tmp_path / "dask", scale="smoke", only=["stochastic-depth", "vanishing-gradients"],
                               executor=cluster, fresh=True)  # fmt: skip
    serial_runs = collect_runs(tmp_path / "serial", scale="smoke", only=["stochastic-depth", "vanishing-gradients"],
                               fresh=True)  # fmt: skip
    for ours, reference in zip(on_dask.runs, serial_runs.runs):
        assert ours.record["claims"] == reference.record["claims"]
        assert ours.record["tables"] == reference.record["tables"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _start(arguments: list[str], log: Path) -> subprocess.Popen:
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", *arguments], cwd=ROOT, env=environment, stdout=log.open("w"), stderr=subprocess.STDOUT
    )


@pytest.fixture
def cluster(tmp_path):
    """A scheduler and two single-threaded workers without nannies (a killed worker stays dead) on 127.0.0.1."""
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    processes = [_start(["distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", str(port),
                         "--no-dashboard"], tmp_path / "scheduler.log")]  # fmt: skip
    worker_arguments = ["distributed.cli.dask_worker", address, "--nthreads", "1", "--no-nanny", "--no-dashboard"]
    workers = [
        _start([*worker_arguments, "--name", f"worker-{index}"], tmp_path / f"worker-{index}.log") for index in range(2)
    ]
    processes += workers
    try:
        executor = _connect(address, tmp_path)
        executor._client.wait_for_workers(2, timeout=60)
        yield executor, workers
        executor.close()
    finally:
        for process in processes:
            process.kill()
            process.wait(timeout=30)


def _connect(address: str, logs: Path) -> DaskExecutor:
    deadline = time.monotonic() + 60
    while True:
        try:
            return DaskExecutor(scheduler=address)
        except Exception:
            if time.monotonic() > deadline:
                raise AssertionError("no scheduler: " + (logs / "scheduler.log").read_text()) from None
            time.sleep(0.5)


def test_a_scheduler_and_workers_started_as_subprocesses_give_the_serial_numbers(cluster):
    executor, _ = cluster
    assert "the Dask cluster at tcp://127.0.0.1:" in executor.describe()
    points = [{"index": index, "seconds": 0.0} for index in range(8)]
    assert without_pid(sweep(slow_draw, points, 3, executor=executor)) == without_pid(sweep(slow_draw, points, 3))


def test_a_worker_killed_mid_sweep_is_replaced_and_the_numbers_are_the_same(cluster):
    executor, workers = cluster
    points = [{"index": index, "seconds": 0.4} for index in range(16)]
    expected = without_pid(sweep(slow_draw, points, 8, workers=1))

    killed = []
    original_run = executor.run

    def run_and_kill(function, arguments):
        for index, result in original_run(function, arguments):
            if not killed:  # the first result is in: both workers are busy; kill the one that did not send it
                victim = next(w for w in workers if w.pid != result["pid"])
                os.kill(victim.pid, signal.SIGKILL)
                killed.append(victim.pid)
            yield index, result

    executor.run = run_and_kill
    results = sweep(slow_draw, points, 8, executor=executor)
    assert killed and any(worker.poll() is not None for worker in workers)
    assert without_pid(results) == expected
    assert killed[0] not in {record["pid"] for record in results[-4:]}  # the end of the sweep ran on the survivor
