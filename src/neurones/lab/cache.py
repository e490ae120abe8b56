"""Reuse of stored runs: a run whose request (experiment, scale, seed, config, code) equals a new one's computed
the same numbers, so the new one can take its results instead of running again.

Stored runs are found under a root folder (``runs/`` by default) at the two places the lab writes them:
``runs/<experiment>/<run>/`` (``neurones lab run``) and ``runs/report/<report>/<experiment>/`` (``neurones report``).
A complete run (one with results.json) is reused whole; an interrupted one lends its finished grid points.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from neurones.lab.point_store import POINTS_DIR
from neurones.lab.runner import REQUEST_FILE, RESULTS_FILE

_PATTERNS = (f"*/*/{REQUEST_FILE}", f"report/*/*/{REQUEST_FILE}")


@dataclass(frozen=True)
class StoredRun:
    directory: Path
    key: str
    complete: bool


def stored_runs(root: Path | str) -> Iterator[StoredRun]:
    """Every run directory under ``root`` with a readable request.json (unreadable ones are passed over)."""
    root = Path(root)
    for request_file in itertools.chain.from_iterable(root.glob(pattern) for pattern in _PATTERNS):
        try:
            key = json.loads(request_file.read_text(encoding="utf-8")).get("key")
        except (OSError, ValueError, AttributeError):
            continue
        if isinstance(key, str):
            directory = request_file.parent
            yield StoredRun(directory, key, (directory / RESULTS_FILE).is_file())


class RunIndex:
    """The stored runs under a root, read once and grouped by request key: a report looks every experiment up in
    it instead of walking the run folders again for each one."""

    def __init__(self, root: Path | str) -> None:
        self.by_key: dict[str, list[StoredRun]] = {}
        for run in stored_runs(root):
            self.by_key.setdefault(run.key, []).append(run)

    def newest_complete(self, key: str) -> Path | None:
        """The most recent complete run made by the request with hash ``key``, or ``None``."""
        matches = [run.directory for run in self.by_key.get(key, []) if run.complete]
        return max(matches, key=lambda directory: (directory / RESULTS_FILE).stat().st_mtime, default=None)

    def interrupted_points(self, key: str) -> list[Path]:
        """The point stores of the interrupted runs made by the request with hash ``key``."""
        return [
            run.directory / POINTS_DIR
            for run in self.by_key.get(key, [])
            if not run.complete and (run.directory / POINTS_DIR).is_dir()
        ]
