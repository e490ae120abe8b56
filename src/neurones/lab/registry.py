"""The registry of experiments: ``@experiment(name, config=..., title=..., source=...)`` on ``run(config, rng)``.

Experiments live in :mod:`neurones.lab.experiments`, one module per theory topic; importing that package imports
every module, and each decorator call registers its function under a stable name.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from neurones.errors import UnknownExperimentError
from neurones.lab.config import check_config_class
from neurones.lab.result import Result

RunFunction = Callable[[object, np.random.Generator], Result]


@dataclass(frozen=True)
class Experiment:
    """A registered experiment: ``run(config, rng) -> Result`` with its config class and what it reproduces."""

    name: str
    run: RunFunction
    config: type
    title: str
    source: str


_REGISTRY: dict[str, Experiment] = {}


def experiment(name: str, *, config: type, title: str, source: str) -> Callable[[RunFunction], RunFunction]:
    """Register the decorated ``run(config, rng) -> Result`` under ``name`` (returned unchanged)."""
    check_config_class(config)

    def register(run: RunFunction) -> RunFunction:
        existing = _REGISTRY.get(name)
        if existing is not None and existing.run.__qualname__ != run.__qualname__:
            raise ValueError(f"experiment {name!r} is already registered by {existing.run.__module__}")
        _REGISTRY[name] = Experiment(name, run, config, title, source)
        return run

    return register


def load_experiments() -> None:
    """Import the experiments package so that every experiment is registered."""
    importlib.import_module("neurones.lab.experiments")


def experiments() -> list[Experiment]:
    """Every registered experiment, sorted by name."""
    load_experiments()
    return [_REGISTRY[name] for name in sorted(_REGISTRY)]


def get_experiment(name: str) -> Experiment:
    """The experiment registered under ``name``; :class:`UnknownExperimentError` names the known ones otherwise."""
    load_experiments()
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY)) or "none"
        raise UnknownExperimentError(f"unknown experiment {name!r} (known: {known})") from None
