"""Writing the lab's outputs: directories that exist and are writable, and files written atomically (a reader
sees the old file or the whole new one, never a half-written one) through :func:`neurones.atomic_file.atomic_write`.
Every failure is an :class:`OutputError` with a one-line reason that names the path.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from neurones.atomic_file import atomic_write
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


def write_bytes_atomic(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (:func:`neurones.atomic_file.atomic_write`), creating its directory;
    a failure to write is an :class:`OutputError` naming the file."""
    path = Path(path)
    ensure_directory(path.parent)
    try:
        with atomic_write(path, "wb") as handle:
            handle.write(data)
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from exc
    return path


def write_text_atomic(path: Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically, as :func:`write_bytes_atomic`."""
    return write_bytes_atomic(path, text.encode("utf-8"))


def json_text(data: Any) -> str:
    """Strict JSON (no NaN/Infinity tokens), indented for people and diffs."""
    return json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
