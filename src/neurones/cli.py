"""The ``neurones`` command: a thin layer over :mod:`neurones.lab`, :mod:`neurones.report` and the demo.

    neurones demo                                   train a small network on generated data
    neurones lab list                               the registered experiments
    neurones lab show NAME                          an experiment's config at each scale, and its claims
    neurones lab run NAME [--scale S] [--set k=v]   run one experiment, write runs/NAME/<UTC timestamp>-<suffix>/
                          [--resume DIR]            (or finish the interrupted run in DIR)
    neurones report [--scale S] [--only NAME]       run the experiments (reusing stored identical runs unless
                    [--fresh] [--format md]         --fresh) and write one HTML report
    neurones mnist1d [--model cnn|mlp]              train a reference MNIST-1D model and print its accuracy
    neurones bench [--only NAME] [--mnist1d]        time neurones against PyTorch, write benchmarks/RESULTS.md
                                                    (--only: re-measure NAME, keep the other results)

Experiments and grid points run on ``--workers`` processes (default: one per core) with one BLAS thread each, or
on a Dask cluster (``--executor dask``, ``--scheduler tcp://host:8786``); the numbers are the same on any of them.

A mistake on the command line (unknown experiment, unknown or ill-typed config key, unwritable output directory)
ends with a one-line message on standard error and exit status 1. A claim that fails is a result, not an error.
Commands import what they need when they run, so that ``neurones --help`` answers without loading matplotlib.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from neurones.errors import LabError

if TYPE_CHECKING:
    from neurones.lab.runner import Run

app = typer.Typer(
    name="neurones",
    help="Deep neural networks from first principles, and a laboratory for the theory of why they train.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
lab_app = typer.Typer(help="Run the experiments of the laboratory.", no_args_is_help=True)
app.add_typer(lab_app, name="lab")


class Scale(StrEnum):
    smoke = "smoke"
    quick = "quick"
    full = "full"


ScaleOption = Annotated[
    Scale,
    typer.Option(
        help="smoke: seconds, mechanics only; quick: about a minute, meaningful verdicts; full: the source's protocol."
    ),
]
SeedOption = Annotated[
    int, typer.Option(help="Seed of the run's Generator, in [0, 2**63): the same seed gives the same numbers.")
]
WorkersOption = Annotated[
    int | None,
    typer.Option(min=1, show_default="one per core", help="Worker processes (the numbers do not depend on it)."),
]


class ExecutorKind(StrEnum):
    processes = "processes"
    dask = "dask"
    serial = "serial"


ExecutorOption = Annotated[
    ExecutorKind,
    typer.Option(
        "--executor",
        help="processes: a local pool; dask: a local Dask cluster (or --scheduler's); serial: this process only.",
    ),
]
SchedulerOption = Annotated[
    str | None,
    typer.Option(metavar="ADDRESS", help="A running Dask scheduler, e.g. tcp://host:8786 (implies --executor dask)."),
]


@contextlib.contextmanager
def _one_line_errors() -> Iterator[None]:
    """Turn a :class:`LabError` into ``error: <message>`` on stderr and exit status 1."""
    try:
        yield
    except LabError as exc:
        typer.echo(f"error: {' '.join(str(exc).split())}", err=True)
        raise typer.Exit(1) from None


@lab_app.command("list")
def lab_list() -> None:
    """List the registered experiments: name, title and source."""
    from neurones.lab.registry import experiments

    for registered in experiments():
        typer.echo(f"{registered.name}\t{registered.title}\t[{registered.source}]")


@lab_app.command("show")
def lab_show(name: Annotated[str, typer.Argument(help="The experiment's name (see `neurones lab list`).")]) -> None:
    """Print an experiment's config keys with their types and values at each scale, and the claims it makes."""
    from neurones.lab.describe import describe_experiment

    with _one_line_errors():
        typer.echo(describe_experiment(name))


@lab_app.command("run")
def lab_run(
    name: Annotated[
        str | None, typer.Argument(help="The experiment's name (see `neurones lab list`); omit it with --resume.")
    ] = None,
    scale: ScaleOption = Scale.quick,
    assignments: Annotated[
        list[str] | None,
        typer.Option("--set", metavar="KEY=VALUE", help="Override a config field, e.g. --set depths=10,100,1000."),
    ] = None,
    seed: SeedOption = 0,
    out: Annotated[
        Path | None, typer.Option(help="Run directory, new or empty (default runs/NAME/<UTC timestamp>-<suffix>).")
    ] = None,
    resume: Annotated[
        Path | None, typer.Option(metavar="RUN_DIR", help="Finish an interrupted run: its finished points are kept.")
    ] = None,
    workers: WorkersOption = None,
    executor: ExecutorOption = ExecutorKind.processes,
    scheduler: SchedulerOption = None,
) -> None:
    """Run one experiment; write DIR/results.json and DIR/figures/*.png; print its claims."""
    from neurones.lab.config import parse_assignments
    from neurones.lab.execution import make_executor
    from neurones.lab.runner import read_request, resume_run, run_experiment

    with _one_line_errors():
        if resume is not None:
            stored = read_request(resume)
            if name is not None and name != stored["experiment"]:
                raise LabError(f"{resume} is a run of {stored['experiment']!r}, not of {name!r}")
        elif name is None:
            raise LabError("name the experiment to run (see `neurones lab list`), or give --resume RUN_DIR")
        else:
            overrides = parse_assignments(assignments or [])
        with make_executor(executor.value, workers=workers, scheduler=scheduler) as chosen:
            if resume is not None:
                run = resume_run(resume, executor=chosen)
            else:
                run = run_experiment(name, scale.value, seed=seed, overrides=overrides, out=out, executor=chosen)
    _print_run(run)


class ReportFormat(StrEnum):
    html = "html"
    md = "md"


@app.command("report")
def report(
    scale: ScaleOption = Scale.quick,
    out: Annotated[
        Path | None, typer.Option(help="Report directory, new or empty (default runs/report/<UTC timestamp>-<suffix>).")
    ] = None,
    only: Annotated[
        list[str] | None, typer.Option(metavar="NAME", help="Run only this experiment (repeatable).")
    ] = None,
    seed: SeedOption = 0,
    fresh: Annotated[
        bool, typer.Option(help="Run every experiment again, even where an identical stored run exists.")
    ] = False,
    output_format: Annotated[
        ReportFormat,
        typer.Option("--format", help="md: also print the summary and the claims table as Markdown on stdout."),
    ] = ReportFormat.html,
    workers: WorkersOption = None,
    executor: ExecutorOption = ExecutorKind.processes,
    scheduler: SchedulerOption = None,
) -> None:
    """Run the experiments (or reuse identical stored runs) and write DIR/report.html and DIR/NAME/ for each."""
    from neurones.lab.execution import make_executor
    from neurones.lab.storage import write_text_atomic
    from neurones.report.build import REPORT_FILE, collect_runs
    from neurones.report.html import render_report
    from neurones.report.markdown import render_markdown

    echo = _print_run if output_format is ReportFormat.html else _print_run_to_stderr
    with _one_line_errors():
        with make_executor(executor.value, workers=workers, scheduler=scheduler) as chosen:
            collected = collect_runs(
                out, scale=scale.value, only=only, seed=seed, executor=chosen, fresh=fresh, on_run=echo,
                on_start=_print_start,
            )  # fmt: skip
        path = write_text_atomic(collected.directory / REPORT_FILE, render_report(collected.runs))
    if output_format is ReportFormat.md:
        typer.echo(render_markdown(collected.runs))
        typer.echo(f"report: {path}", err=True)
    else:
        typer.echo(f"report: {path}")


@app.command("demo")
def demo(
    steps: Annotated[int, typer.Option(min=1, help="Adam steps.")] = 400,
    seed: SeedOption = 0,
) -> None:
    """Train a small MLP on two interleaved spirals with the engine and print its accuracy."""
    from neurones.demo import train_spirals

    outcome = train_spirals(steps=steps, seed=seed)
    typer.echo(
        f"two spirals: {outcome.parameters:,} parameters, {steps} Adam steps in {outcome.seconds:.1f} s; "
        f"loss {outcome.initial_loss:.3f} → {outcome.final_loss:.3f}; "
        f"accuracy {outcome.train_accuracy:.1%} (train), {outcome.test_accuracy:.1%} (test)"
    )


class Mnist1dModel(StrEnum):
    cnn = "cnn"
    mlp = "mlp"


@app.command("mnist1d")
def mnist1d(
    model: Annotated[Mnist1dModel, typer.Option(help="The reference CNN or MLP of MNIST-1D.")] = Mnist1dModel.cnn,
    steps: Annotated[int, typer.Option(min=1, help="Adam steps (the reference protocol: 6000).")] = 6000,
    seed: SeedOption = 0,
) -> None:
    """Train a reference MNIST-1D model (Adam lr 1e-2, batch 100) and print its test accuracy."""
    from neurones.train.mnist1d import train_reference

    outcome = train_reference(model.value, steps=steps, seed=seed, progress_bar=True)
    typer.echo(
        f"MNIST-1D {model.value}: {steps} steps in {outcome.seconds:.1f} s, test accuracy {outcome.accuracy:.1%}"
    )


@app.command(
    "bench",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    add_help_option=False,
)
def bench(ctx: typer.Context) -> None:
    """Time neurones against PyTorch eager on the same machine and write benchmarks/RESULTS.md.

    Options are those of the runner (``neurones bench --help``); PyTorch comes with the ``bench`` extra.
    """
    root = Path(__file__).resolve().parents[2]
    if not (root / "benchmarks" / "run.py").is_file():
        typer.echo("error: neurones bench runs from a source checkout (benchmarks/ is not installed)", err=True)
        raise typer.Exit(1)
    try:
        import torch  # noqa: F401 — the reference every benchmark compares against
    except ImportError:
        typer.echo("error: neurones bench compares against PyTorch: install the bench extra "
                   "(pip install -e '.[bench]')", err=True)  # fmt: skip
        raise typer.Exit(1) from None
    sys.path.insert(0, str(root))
    from benchmarks.run import main as run_benchmarks

    raise typer.Exit(run_benchmarks(ctx.args))


def _print_start(name: str, state: str) -> None:
    typer.echo(f"{name}: {state}", err=True)


def _print_run(run: Run, *, err: bool = False) -> None:
    from neurones.lab.result import skip_reason
    from neurones.report.numbers import format_measurement, format_prediction, summary_line

    claims = run.record["claims"]
    held = sum(1 for claim in claims if claim["holds"])
    origin = f"reused from {run.reused_from}" if run.reused_from is not None else f"{run.record['elapsed_s']:.1f} s"
    typer.echo(
        f"{run.name} ({run.record['scale']}, seed {run.record['seed']}, {origin}) → "
        f"{run.directory}: {summary_line(len(claims), held)}",
        err=err,
    )
    reason = skip_reason(run.record["tables"])
    if reason is not None:
        typer.echo(f"  SKIPPED  {reason}", err=err)
    for claim in claims:
        verdict = "PASS" if claim["holds"] else "FAIL"
        measured = format_measurement(claim["measured"], claim["stderr"])
        prediction = format_prediction(claim)
        typer.echo(f"  {verdict}  {claim['id']}  predicted {prediction}, measured {measured}", err=err)


def _print_run_to_stderr(run: Run) -> None:
    """With --format md, standard output is the Markdown: the per-run lines go to standard error."""
    _print_run(run, err=True)


def main() -> None:
    app()
