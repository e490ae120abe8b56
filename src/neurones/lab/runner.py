"""Run an experiment by name at a scale, with a seed and overrides, and write its run directory atomically.

A run directory holds ``results.json`` (the schema below), ``config.json`` and ``figures/<name>.png`` (each PNG
carries its caption in the standard ``Description`` text field, so a report can be rebuilt from the directory
alone)::

    {"experiment", "scale", "seed", "config", "claims": [{"id", "statement", "source", "prediction", "measured",
     "stderr", "holds"}], "tables": {name: [records]}, "figures": [relative paths], "version", "elapsed_s"}

The same name, scale, seed and overrides give the same numbers (``elapsed_s`` aside), whatever ``workers`` is.
"""

from __future__ import annotations

import datetime
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

import neurones
from neurones.errors import LabError
from neurones.lab.claims import Claim
from neurones.lab.config import at_scale, config_to_dict, with_overrides
from neurones.lab.registry import Experiment, get_experiment
from neurones.lab.result import Result, to_jsonable
from neurones.lab.storage import ensure_directory, json_text, staged_directory
from neurones.lab.sweep import parallelism

RESULTS_FILE = "results.json"
CONFIG_FILE = "config.json"
FIGURES_DIR = "figures"
FIGURE_DPI = 100
RESULT_KEYS = (
    "experiment", "scale", "seed", "config", "claims", "tables", "figures", "version", "elapsed_s",
)  # fmt: skip


@dataclass
class Run:
    """A finished run: its results.json ``record``, where it was written, and each figure's caption (by relative
    path). ``result`` holds the live :class:`Result` (matplotlib figures included) when the run happened in this
    process, and is ``None`` for a run loaded from disk."""

    record: dict[str, Any]
    directory: Path
    captions: dict[str, str]
    result: Result | None = None

    @property
    def name(self) -> str:
        return self.record["experiment"]


def default_run_directory(name: str, root: Path = Path("runs")) -> Path:
    """``runs/<name>/<UTC timestamp>``, with a numeric suffix if a run already took that second."""
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H-%M-%SZ")
    candidate = root / name / stamp
    suffix = 1
    while candidate.exists():
        suffix += 1
        candidate = root / name / f"{stamp}-{suffix}"
    return candidate


def run_experiment(
    name: str,
    scale: str = "quick",
    *,
    seed: int = 0,
    overrides: Mapping[str, Any] | None = None,
    out: Path | str | None = None,
    workers: int = 1,
) -> Run:
    """Run experiment ``name`` at ``scale`` (config fields replaced by ``overrides``, strings parsed by type) with
    ``numpy.random.default_rng(seed)``, and write the run directory ``out`` (default :func:`default_run_directory`).

    Everything that can be checked before the run (name, scale, overrides, output directory) is checked first, so
    a typo costs nothing."""
    experiment = get_experiment(name)
    config = with_overrides(at_scale(experiment.config, scale), overrides or {})
    destination = Path(out) if out is not None else default_run_directory(name)
    ensure_directory(destination.parent)

    started = time.perf_counter()
    with parallelism(workers):
        result = experiment.run(config, np.random.default_rng(seed))
    elapsed = time.perf_counter() - started
    _check_result(experiment, config, result)

    record = {
        "experiment": name,
        "scale": scale,
        "seed": seed,
        "config": to_jsonable(config_to_dict(config)),
        "claims": [claim.to_record() for claim in result.claims],
        "tables": to_jsonable(result.tables),
        "figures": [f"{FIGURES_DIR}/{entry.name}.png" for entry in result.figures],
        "version": neurones.__version__,
        "elapsed_s": round(elapsed, 3),
    }
    text = json_text(record)  # fails here, before anything is written, if a table holds something JSON cannot
    with staged_directory(destination) as staging:
        (staging / RESULTS_FILE).write_text(text, encoding="utf-8")
        (staging / CONFIG_FILE).write_text(json_text(record["config"]), encoding="utf-8")
        (staging / FIGURES_DIR).mkdir()
        for entry in result.figures:
            entry.figure.savefig(
                staging / FIGURES_DIR / f"{entry.name}.png",
                dpi=FIGURE_DPI,
                metadata={"Title": f"{name}: {entry.name}", "Description": entry.caption},
            )
    captions = {f"{FIGURES_DIR}/{entry.name}.png": entry.caption for entry in result.figures}
    return Run(record, destination, captions, result)


def load_run(directory: Path | str) -> Run:
    """Read a run directory written by :func:`run_experiment` (captions come from the PNGs' metadata)."""
    directory = Path(directory)
    try:
        record = json.loads((directory / RESULTS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise LabError(f"cannot read {directory / RESULTS_FILE}: {exc}") from exc
    captions = {}
    for relative in record.get("figures", []):
        with Image.open(directory / relative) as image:
            captions[relative] = image.info.get("Description", "")
    return Run(record, directory, captions)


def _check_result(experiment: Experiment, config, result) -> None:
    if not isinstance(result, Result):
        raise TypeError(f"experiment {experiment.name!r} returned {type(result).__name__}, expected a Result")
    if result.config != config:
        raise ValueError(f"experiment {experiment.name!r} returned a Result for another config than it was given")
    for claim in result.claims:
        if not isinstance(claim, Claim):
            raise TypeError(f"experiment {experiment.name!r} recorded a {type(claim).__name__} as a claim")
