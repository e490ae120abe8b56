"""Build a report: run experiments afresh into ``DIR/<name>/`` and write ``DIR/report.html`` atomically."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from neurones.lab.registry import experiments, get_experiment
from neurones.lab.runner import Run, default_run_directory, run_experiment
from neurones.lab.storage import ensure_directory, write_text_atomic
from neurones.report.html import render_report

REPORT_FILE = "report.html"


def build_report(
    out: Path | str | None = None,
    *,
    scale: str = "quick",
    only: Sequence[str] | None = None,
    seed: int = 0,
    workers: int = 1,
    on_run: Callable[[Run], None] | None = None,
) -> Path:
    """Run every registered experiment (or those named in ``only``) at ``scale`` and write the report; return the
    path of ``report.html``. Names and the output directory are checked before anything runs. ``on_run`` is told
    about each finished run (the command line prints a line per experiment)."""
    names = [get_experiment(name).name for name in only] if only else [e.name for e in experiments()]
    directory = ensure_directory(Path(out) if out is not None else default_run_directory("report"))
    runs = []
    for name in names:
        run = run_experiment(name, scale, seed=seed, out=directory / name, workers=workers)
        runs.append(run)
        if on_run is not None:
            on_run(run)
    return write_text_atomic(directory / REPORT_FILE, render_report(runs))
