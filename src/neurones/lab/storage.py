"""Atomic writes: a reader sees a whole file or run directory, or none — never a half-written one.

A file is written through :func:`neurones.atomic_file.atomic_write`. A run directory is built in a temporary
sibling directory and renamed into place at the end; if anything fails on the way, the temporary directory is
removed and the destination is untouched.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from neurones.atomic_file import atomic_write, current_umask
from neurones.errors import OutputError


def ensure_directory(path: Path) -> Path:
    """Create ``path`` (and its parents) or raise :class:`OutputError` with a one-line reason."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create output directory {path}: {exc.strerror or exc}") from exc
    if not os.access(path, os.W_OK | os.X_OK):
        raise OutputError(f"cannot write to output directory {path}: permission denied")
    return path


def write_text_atomic(path: Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically (:func:`neurones.atomic_file.atomic_write`), creating its
    directory; a failure to write is an :class:`OutputError` naming the file."""
    path = Path(path)
    ensure_directory(path.parent)
    try:
        with atomic_write(path) as handle:
            handle.write(text)
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from exc
    return path


def json_text(data: Any) -> str:
    """Strict JSON (no NaN/Infinity tokens), indented for people and diffs."""
    return json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


@contextlib.contextmanager
def staged_directory(destination: Path) -> Iterator[Path]:
    """Yield a fresh temporary directory next to ``destination``; on normal exit it replaces ``destination`` (an
    existing directory there is removed only after the new one is in place), on error it is deleted."""
    destination = Path(destination)
    ensure_directory(destination.parent)
    try:
        staging = Path(tempfile.mkdtemp(dir=destination.parent, prefix=f".{destination.name}.", suffix=".tmp"))
    except OSError as exc:
        raise OutputError(f"cannot write to {destination.parent}: {exc.strerror or exc}") from exc
    try:
        staging.chmod(0o777 & ~current_umask())  # mkdtemp makes it private; a run directory is not
        yield staging
        _move_into_place(staging, destination)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _move_into_place(staging: Path, destination: Path) -> None:
    if not destination.exists():
        os.replace(staging, destination)
        return
    if not destination.is_dir():
        raise OutputError(f"cannot write run directory {destination}: a file of that name exists")
    # rename(2) cannot replace a non-empty directory: move the old one aside first, then drop it.
    retired = Path(tempfile.mkdtemp(dir=destination.parent, prefix=f".{destination.name}.", suffix=".old"))
    os.replace(destination, retired / destination.name)
    os.replace(staging, destination)
    shutil.rmtree(retired, ignore_errors=True)
