"""The laboratory: experiments that reproduce the theory of the source documents, claim by claim, with numbers.

An experiment is a function ``run(config, rng) -> Result`` registered with :func:`experiment`; its config is a
frozen dataclass with the scales ``full()``, ``quick()`` and ``smoke()``. Claims are decided by the fixed rule of
:mod:`neurones.lab.claims`. :func:`run_experiment` runs one by name and writes its run directory.
Needs the ``lab`` extra (matplotlib, tqdm, typer).

The functions ``sweep`` and ``progress`` are not re-exported here: the package attributes ``neurones.lab.sweep`` and
``neurones.lab.progress`` are their modules (``from neurones.lab.sweep import sweep``).
"""

from neurones.lab.claims import Claim, at_least, at_most, band, equality
from neurones.lab.config import SCALES, at_scale, parse_assignments, with_overrides
from neurones.lab.registry import Experiment, experiment, experiments, get_experiment
from neurones.lab.result import CaptionedFigure, Result
from neurones.lab.runner import Run, default_run_directory, load_run, run_experiment
from neurones.lab.sweep import grid, parallelism

__all__ = [
    "SCALES",
    "CaptionedFigure",
    "Claim",
    "Experiment",
    "Result",
    "Run",
    "at_least",
    "at_most",
    "at_scale",
    "band",
    "default_run_directory",
    "equality",
    "experiment",
    "experiments",
    "get_experiment",
    "grid",
    "load_run",
    "parallelism",
    "parse_assignments",
    "run_experiment",
    "with_overrides",
]
