"""The laboratory: experiments that reproduce the theory of the source documents, claim by claim, with numbers.

An experiment is a function ``run(config, rng) -> Result`` registered with :func:`experiment`; its config is a
frozen dataclass whose defaults are the full scale and whose :func:`scales` decorator states the quick and smoke
scales. Claims are decided by the fixed rule of
:mod:`neurones.lab.claims`. :func:`run_experiment` runs one by name and writes its run directory.
Needs the ``lab`` extra (matplotlib, tqdm, typer).

Grid points and whole experiments run on an executor (:mod:`neurones.lab.execution`: serial, local processes or a
Dask cluster), each with one BLAS thread, and give the same numbers on any of them.

The functions ``sweep`` and ``progress`` are not re-exported here: the package attributes ``neurones.lab.sweep`` and
``neurones.lab.progress`` are their modules (``from neurones.lab.sweep import sweep``).
"""

from neurones.lab.claims import Claim, at_least, at_most, band, equality, frequency
from neurones.lab.config import SCALES, at_scale, parse_assignments, scales, with_overrides
from neurones.lab.execution import DaskExecutor, ProcessExecutor, SerialExecutor, executing, make_executor
from neurones.lab.registry import Experiment, experiment, experiments, get_experiment
from neurones.lab.result import CaptionedFigure, Result
from neurones.lab.runner import Run, load_run, new_run_directory, resume_run, run_experiment
from neurones.lab.sweep import grid

__all__ = [
    "SCALES",
    "CaptionedFigure",
    "Claim",
    "DaskExecutor",
    "Experiment",
    "ProcessExecutor",
    "Result",
    "Run",
    "SerialExecutor",
    "at_least",
    "at_most",
    "at_scale",
    "band",
    "equality",
    "executing",
    "experiment",
    "experiments",
    "frequency",
    "get_experiment",
    "grid",
    "load_run",
    "make_executor",
    "new_run_directory",
    "parse_assignments",
    "resume_run",
    "run_experiment",
    "scales",
    "with_overrides",
]
