"""Run an experiment by name at a scale, with a seed and overrides, into a run directory of its own.

A run goes through three steps, so that its middle can happen in another process or on another machine:

1. :func:`prepare_run` checks everything that can be checked before the run (name, scale, overrides) and fixes
   the :class:`RunRequest`: experiment, scale, seed, config and the *code fingerprint* (a hash of the experiment's
   module and of the ``neurones`` version). Equal requests give equal numbers, so the hash of a request is the key
   under which a finished run can be reused (:mod:`neurones.lab.cache`).
2. :func:`execute` runs the experiment with ``numpy.random.default_rng(seed)`` and one BLAS thread, and renders its
   figures: the :class:`RunOutput` holds only plain data (JSON-ready records, PNG bytes) and pickles cheaply.
3. :func:`write_run` writes the output into the run directory.

A run directory is created *exclusively* at the start (:func:`new_run_directory`: a UTC timestamp and a random
suffix, ``mkdir`` that fails if the name exists), so two runs never share one. It holds ``request.json`` and
``config.json`` from the start, ``points/`` (each finished grid point, for :func:`resume_run`) while it runs,
then ``figures/<name>.png`` (each PNG carries its caption in the standard ``Description`` text field) and, last,
``results.json``, whose presence marks the run complete::

    {"experiment", "scale", "seed", "config", "claims": [claim records], "tables": {name: [records]},
     "figures": [relative paths], "version", "elapsed_s", "code", "environment"}

The same request gives the same numbers (``elapsed_s`` and ``environment`` aside), whatever the executor.
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import inspect
import io
import json
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

import neurones
from neurones.errors import LabError, OutputError
from neurones.lab.claims import Claim
from neurones.lab.config import at_scale, config_to_dict, with_overrides
from neurones.lab.environment import command_line, describe_environment
from neurones.lab.execution import Executor, ProcessExecutor, SerialExecutor, executing, one_blas_thread
from neurones.lab.point_store import POINTS_DIR, PointStore, storing_points
from neurones.lab.registry import Experiment, get_experiment
from neurones.lab.result import Result, to_jsonable
from neurones.lab.storage import ensure_directory, json_text, write_bytes_atomic, write_text_atomic

RUNS_ROOT = Path("runs")
REQUEST_FILE = "request.json"
RESULTS_FILE = "results.json"
CONFIG_FILE = "config.json"
FIGURES_DIR = "figures"
FIGURE_DPI = 160  # crisp on high-density screens; the report shows figures at their 100-dpi size
RESULT_KEYS = (
    "experiment", "scale", "seed", "config", "claims", "tables", "figures", "version", "elapsed_s", "code",
    "environment",
)  # fmt: skip


@dataclass(frozen=True)
class RunRequest:
    """What determines a run's numbers: the experiment, its scale, seed and config, and the code that runs it."""

    experiment: str
    scale: str
    seed: int
    config: Any
    code: str

    def fields(self) -> dict[str, Any]:
        """The request as JSON-ready fields: what the key hashes."""
        return {
            "experiment": self.experiment,
            "scale": self.scale,
            "seed": self.seed,
            "config": to_jsonable(config_to_dict(self.config)),
            "code": self.code,
        }

    def record(self) -> dict[str, Any]:
        """request.json: the fields and their key."""
        fields = self.fields()
        return {**fields, "key": _hash(fields)}

    @property
    def key(self) -> str:
        """The hash of the request: two runs with the same key computed the same numbers."""
        return _hash(self.fields())


def _hash(fields: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode("utf-8")).hexdigest()[:24]


@dataclass
class RunOutput:
    """What :func:`execute` returns: the results.json fields it computed and the figures as PNG bytes."""

    claims: list[dict[str, Any]]
    tables: dict[str, Any]
    figures: list[tuple[str, bytes, str]]  # (name, PNG bytes, caption)
    elapsed_s: float
    environment: dict[str, Any] = field(default_factory=dict)


@dataclass
class Run:
    """A finished run: its results.json ``record``, where it was written, and each figure's caption (by relative
    path). ``reused_from`` is the run directory it was copied from when a report took it from the cache."""

    record: dict[str, Any]
    directory: Path
    captions: dict[str, str]
    reused_from: Path | None = None

    @property
    def name(self) -> str:
        return self.record["experiment"]


def code_fingerprint(experiment: Experiment) -> str:
    """A hash of the experiment's module source and of the ``neurones`` version: a change to either makes the
    stored runs of that experiment stale for the cache."""
    digest = hashlib.sha256(neurones.__version__.encode("utf-8"))
    with contextlib.suppress(OSError, TypeError):  # no source file (an interactive definition): the version alone
        digest.update(Path(inspect.getsourcefile(experiment.run) or "").read_bytes())
    return f"{neurones.__version__}+{digest.hexdigest()[:16]}"


def prepare_run(name: str, scale: str = "quick", *, seed: int = 0, overrides: Mapping[str, Any] | None = None):
    """Check the name, scale, seed and overrides, and return the :class:`RunRequest` (nothing runs yet)."""
    experiment = get_experiment(name)
    config = with_overrides(at_scale(experiment.config, scale), overrides or {})
    return RunRequest(name, scale, _checked_seed(seed), config, code_fingerprint(experiment))


def new_run_directory(name: str, root: Path | str = RUNS_ROOT) -> Path:
    """Create and return ``root/name/<UTC timestamp>-<random suffix>``; creation is exclusive, so two runs that
    start in the same second (in two processes, or on two machines sharing the folder) get two directories."""
    parent = ensure_directory(Path(root) / name)
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H-%M-%SZ")
    while True:
        candidate = parent / f"{stamp}-{secrets.token_hex(3)}"
        try:
            candidate.mkdir()
        except FileExistsError:
            continue
        except OSError as exc:
            raise OutputError(f"cannot create run directory {candidate}: {exc.strerror or exc}") from exc
        return candidate


def claim_directory(out: Path | str) -> Path:
    """Use ``out`` as a new run directory: create it, or accept it if it exists and is empty. A directory that
    holds anything is never written into (a user's earlier run would be overwritten)."""
    out = Path(out)
    ensure_directory(out.parent)
    try:
        out.mkdir()
    except FileExistsError:
        if not out.is_dir():
            raise OutputError(f"cannot use {out} as a run directory: a file of that name exists") from None
        if any(out.iterdir()):
            raise OutputError(
                f"run directory {out} already exists and is not empty: choose another --out, or continue an "
                "interrupted run with --resume"
            ) from None
    except OSError as exc:
        raise OutputError(f"cannot create run directory {out}: {exc.strerror or exc}") from exc
    return out


def execute(request: RunRequest) -> RunOutput:
    """Run the experiment of ``request`` in this process, with one BLAS thread, and render its figures."""
    experiment = get_experiment(request.experiment)
    started = time.perf_counter()
    with one_blas_thread():
        result = experiment.run(request.config, np.random.default_rng(request.seed))
        environment = describe_environment()
    elapsed = time.perf_counter() - started
    _check_result(experiment, request.config, result)
    figures = []
    for entry in result.figures:
        buffer = io.BytesIO()
        entry.figure.savefig(
            buffer,
            format="png",
            dpi=FIGURE_DPI,
            metadata={"Title": f"{request.experiment}: {entry.name}", "Description": entry.caption},
        )
        figures.append((entry.name, buffer.getvalue(), entry.caption))
    tables = to_jsonable(result.tables)
    json_text(tables)  # fails here, before anything is written, if a table holds something JSON cannot
    return RunOutput([claim.to_record() for claim in result.claims], tables, figures, elapsed, environment)


def start_run(request: RunRequest, out: Path | str | None = None) -> Path:
    """Create the run directory of ``request`` (``out``, or a new one under ``runs/``) and write what was asked."""
    directory = claim_directory(out) if out is not None else new_run_directory(request.experiment)
    write_text_atomic(directory / REQUEST_FILE, json_text(request.record()))
    write_text_atomic(directory / CONFIG_FILE, json_text(request.fields()["config"]))
    return directory


def write_run(directory: Path, request: RunRequest, output: RunOutput) -> Run:
    """Write figures, then results.json (last: its presence marks the run complete)."""
    record = {
        **request.fields(),
        "claims": output.claims,
        "tables": output.tables,
        "figures": [f"{FIGURES_DIR}/{name}.png" for name, _, _ in output.figures],
        "version": neurones.__version__,
        "elapsed_s": round(output.elapsed_s, 3),
        # Where the work ran (a worker, maybe on another machine), but the command of the process that asked for it.
        "environment": {**output.environment, "command": command_line()},
    }
    record = {key: record[key] for key in RESULT_KEYS}
    for name, data, _ in output.figures:
        write_bytes_atomic(directory / FIGURES_DIR / f"{name}.png", data)
    write_text_atomic(directory / RESULTS_FILE, json_text(record))
    captions = {f"{FIGURES_DIR}/{name}.png": caption for name, _, caption in output.figures}
    return Run(record, directory, captions)


def run_experiment(
    name: str,
    scale: str = "quick",
    *,
    seed: int = 0,
    overrides: Mapping[str, Any] | None = None,
    out: Path | str | None = None,
    executor: Executor | None = None,
    workers: int | None = None,
) -> Run:
    """Run experiment ``name`` at ``scale`` (config fields replaced by ``overrides``, strings parsed by type) with
    ``numpy.random.default_rng(seed)``, its grid points on ``executor`` (or on ``workers`` local processes; serial
    by default), into the run directory
    ``out`` (default: a new one under ``runs/NAME/``). Everything that can be checked is checked before the run
    directory is created, so a typo costs nothing and leaves nothing behind."""
    request = prepare_run(name, scale, seed=seed, overrides=overrides)
    directory = start_run(request, out)
    if executor is None and workers is not None:
        with ProcessExecutor(workers) as pool:
            return complete_run(directory, request, pool)
    return complete_run(directory, request, executor)


def resume_run(directory: Path | str, *, executor: Executor | None = None) -> Run:
    """Finish the interrupted run in ``directory``: its finished grid points are loaded, the others computed. A
    complete run is returned as it is; a run made by other code (the experiment's module or the version changed)
    is refused, since its stored points may no longer be what this code computes."""
    directory = Path(directory)
    if (directory / RESULTS_FILE).is_file():
        return load_run(directory)
    stored = read_request(directory)
    request = prepare_run(stored["experiment"], stored["scale"], seed=stored["seed"], overrides=stored["config"])
    if request.key != stored.get("key"):
        raise LabError(
            f"cannot resume {directory}: it was made by other code ({stored.get('code')}, now {request.code}); "
            "start a new run"
        )
    return complete_run(directory, request, executor)


def read_request(directory: Path) -> dict[str, Any]:
    """The request.json of a run directory, or a :class:`LabError` saying it is not one."""
    try:
        return json.loads((Path(directory) / REQUEST_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise LabError(f"{directory} is not a run directory (cannot read {REQUEST_FILE}: {exc})") from exc


def load_run(directory: Path | str) -> Run:
    """Read a complete run directory (captions come from the PNGs' metadata)."""
    directory = Path(directory)
    try:
        record = json.loads((directory / RESULTS_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise LabError(f"{directory} holds no finished run (no {RESULTS_FILE}; resume it with --resume)") from None
    except (OSError, ValueError) as exc:
        raise LabError(f"cannot read {directory / RESULTS_FILE}: {exc}") from exc
    captions = {}
    for relative in record.get("figures", []):
        with Image.open(directory / relative) as image:
            captions[relative] = image.info.get("Description", "")
    return Run(record, directory, captions)


def complete_run(directory: Path, request: RunRequest, executor: Executor | None = None) -> Run:
    """Run ``request`` in this process into its started ``directory``, grid points on ``executor``."""
    with executing(executor or SerialExecutor()), storing_points(PointStore(directory / POINTS_DIR)):
        output = execute(request)
    return write_run(directory, request, output)


def _checked_seed(seed) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2**63:
        raise LabError(f"seed must be an integer in [0, 2**63), got {seed!r}")
    return int(seed)


def _check_result(experiment: Experiment, config, result) -> None:
    if not isinstance(result, Result):
        raise TypeError(f"experiment {experiment.name!r} returned {type(result).__name__}, expected a Result")
    if result.config != config:
        raise ValueError(f"experiment {experiment.name!r} returned a Result for another config than it was given")
    for claim in result.claims:
        if not isinstance(claim, Claim):
            raise TypeError(f"experiment {experiment.name!r} recorded a {type(claim).__name__} as a claim")
