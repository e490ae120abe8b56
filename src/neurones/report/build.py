"""Build a report: run the experiments (or reuse stored runs) into ``DIR/<name>/`` and write ``DIR/report.html``.

For each experiment the request is fixed first (:func:`neurones.lab.runner.prepare_run`), so that a typo in a name
costs nothing. Unless ``fresh``, a complete stored run with the same request is copied instead of run again
(:mod:`neurones.lab.cache`), and an interrupted one lends its finished grid points; so a report that was
interrupted picks up where it stopped. The experiments left to run are tasks on the executor when it has several
workers (whole experiments side by side, each with one BLAS thread), or run here one by one with their grid
points on the executor.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from neurones.errors import OutputError
from neurones.lab.cache import RunIndex
from neurones.lab.execution import Executor, SerialExecutor
from neurones.lab.point_store import POINTS_DIR, PointStore, storing_points
from neurones.lab.progress import progress, silenced
from neurones.lab.registry import experiments, get_experiment
from neurones.lab.runner import (
    RUNS_ROOT,
    Run,
    RunOutput,
    RunRequest,
    claim_directory,
    complete_run,
    execute,
    load_run,
    new_run_directory,
    prepare_run,
    start_run,
    write_run,
)  # fmt: skip
from neurones.lab.storage import write_text_atomic
from neurones.report.html import render_report

REPORT_FILE = "report.html"


@dataclass
class ReportRuns:
    """The runs of a report, in name order, and the directory that holds them."""

    directory: Path
    runs: list[Run]


def collect_runs(
    out: Path | str | None = None,
    *,
    scale: str = "quick",
    only: Sequence[str] | None = None,
    seed: int = 0,
    executor: Executor | None = None,
    fresh: bool = False,
    runs_root: Path | str = RUNS_ROOT,
    on_run: Callable[[Run], None] | None = None,
    on_start: Callable[[str, str], None] | None = None,
) -> ReportRuns:
    """Run every registered experiment (or those in ``only``) at ``scale`` into ``out`` (default: a new directory
    under ``runs/report/``), reusing stored runs under ``runs_root`` unless ``fresh``. ``on_run`` is told about
    each finished run (the command line prints a line per experiment) as it finishes, ``on_start`` of each
    experiment's name and ``"started"`` as it starts here, or ``"queued"`` as it is handed to the workers."""
    names = [get_experiment(name).name for name in only] if only else [e.name for e in experiments()]
    requests = [prepare_run(name, scale, seed=seed) for name in names]
    index = None if fresh else RunIndex(runs_root)  # read before this report's own directory exists
    directory = claim_directory(out) if out is not None else new_run_directory("report", runs_root)
    executor = executor or SerialExecutor()

    finished: dict[str, Run] = {}

    def finish(run: Run) -> None:
        finished[run.name] = run
        if on_run is not None:
            on_run(run)

    pending: list[tuple[RunRequest, Path]] = []
    for request in requests:
        reused = None if index is None else _reuse(request, directory, index)
        if reused is not None:
            finish(reused)
            continue
        run_directory = start_run(request, directory / request.experiment)
        if index is not None:
            for points in index.interrupted_points(request.key):
                PointStore(run_directory / POINTS_DIR).seed_from(points)
        pending.append((request, run_directory))

    if executor.workers > 1 and len(pending) > 1:
        tasks = [(request, run_directory / POINTS_DIR) for request, run_directory in pending]
        for request, _ in pending:
            if on_start is not None:
                on_start(request.experiment, "queued")
        with progress(total=len(tasks), desc=f"report: {len(tasks)} experiments on {executor.describe()}") as bar:
            for index, output in executor.run(_experiment_task, tasks):
                finish(write_run(pending[index][1], pending[index][0], output))
                bar.update(1)
    else:
        for request, run_directory in pending:
            if on_start is not None:
                on_start(request.experiment, "started")
            finish(complete_run(run_directory, request, executor))
    return ReportRuns(directory, [finished[name] for name in names])


def build_report(out: Path | str | None = None, **options) -> Path:
    """:func:`collect_runs` with ``options``, then write ``report.html`` in its directory; return its path."""
    collected = collect_runs(out, **options)
    return write_text_atomic(collected.directory / REPORT_FILE, render_report(collected.runs))


def _experiment_task(request: RunRequest, points: Path) -> RunOutput:
    """One whole experiment in a worker: its grid points serial there, saved as they finish, no progress bars."""
    with silenced(), storing_points(PointStore(points)):
        return execute(request)


def _reuse(request: RunRequest, directory: Path, index: RunIndex) -> Run | None:
    """Copy the newest complete stored run of ``request`` into the report; ``None`` when there is none."""
    stored = index.newest_complete(request.key)
    if stored is None:
        return None
    destination = directory / request.experiment
    try:
        shutil.copytree(stored, destination, ignore=shutil.ignore_patterns(POINTS_DIR, ".*.tmp"))
    except OSError as exc:
        raise OutputError(f"cannot copy the stored run {stored} into {destination}: {exc}") from exc
    run = load_run(destination)
    run.reused_from = stored
    return run
