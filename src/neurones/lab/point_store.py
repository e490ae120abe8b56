"""Finished grid points on disk, so that an interrupted run resumes where it stopped.

A sweep writes each point's result, as soon as it arrives, to ``points/<key>.pickle`` in its run directory
(atomically: a killed run leaves whole files or none). The key is a hash of what determines the result — the
function, the point and the point's seed — so a resumed run, or a new run that was seeded with the files of an
interrupted one, loads exactly the results it would have computed and computes the rest.

The files are pickles written by this package for this package: read them only from run directories you trust.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import pickle
import shutil
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from neurones.atomic_file import atomic_write

POINTS_DIR = "points"
MISSING = object()
"""What :meth:`PointStore.load` returns for a point that is not stored (a result may itself be ``None``)."""


def point_key(function, point: Mapping[str, Any], seed: np.random.SeedSequence) -> str:
    """A stable name for ``function(point, default_rng(seed))``: the same in every process and every session."""
    identity = repr((function.__module__, function.__qualname__, sorted(point.items()), seed.entropy, seed.spawn_key))
    return hashlib.sha256(identity.encode("utf-8")).hexdigest()[:32]


class PointStore:
    """The ``points/`` folder of one run directory."""

    def __init__(self, directory: Path | str) -> None:
        self.directory = Path(directory)

    def load(self, key: str) -> Any:
        """The stored result for ``key``, or :data:`MISSING`."""
        path = self.directory / f"{key}.pickle"
        try:
            with open(path, "rb") as handle:
                return pickle.load(handle)
        except FileNotFoundError:
            return MISSING
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
            return MISSING  # unreadable (or from code that changed): compute it again

    def save(self, key: str, result: Any) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        with atomic_write(self.directory / f"{key}.pickle", "wb") as handle:
            pickle.dump(result, handle, protocol=pickle.HIGHEST_PROTOCOL)

    def count(self) -> int:
        return sum(1 for _ in self.directory.glob("*.pickle")) if self.directory.is_dir() else 0

    def seed_from(self, other: Path | str) -> int:
        """Copy the finished points of another run directory's store into this one; return how many."""
        source = Path(other)
        copied = 0
        if source.is_dir():
            self.directory.mkdir(parents=True, exist_ok=True)
            for path in source.glob("*.pickle"):
                if not (self.directory / path.name).exists():
                    shutil.copyfile(path, self.directory / path.name)
                    copied += 1
        return copied


_STORE: contextvars.ContextVar[PointStore | None] = contextvars.ContextVar("neurones_lab_point_store", default=None)


@contextlib.contextmanager
def storing_points(store: PointStore | None) -> Iterator[None]:
    """Within the block, sweeps save each finished point to ``store`` and skip the points it already holds."""
    token = _STORE.set(store)
    try:
        yield
    finally:
        _STORE.reset(token)


def current_point_store() -> PointStore | None:
    return _STORE.get()
