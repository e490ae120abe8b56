"""Atomic file writes: a reader sees the old file or the whole new one, never a half-written one.

The one implementation used by everything that saves (checkpoints, run records, the report, dataset caches,
benchmark results). The content goes to a temporary file in the destination's directory, which is flushed and
fsynced, then renamed over the destination with ``os.replace`` (atomic within one file system, on POSIX and
Windows); the directory is then synced so that the rename itself survives a crash. If anything fails on the way,
the temporary file is removed and the destination is left as it was.

A process killed mid-write cannot clean up after itself, so each temporary file's name carries the host and the
process id of its writer (``.<name>.<host>-<pid>.<random>.tmp``); every write first removes the temporary files in
its directory whose writer is gone: a process of this host that no longer runs, or any writer whose file has not
been touched for a day. A long run that is killed many times thus leaves no multi-MB debris behind.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

ABANDONED_AFTER_S = 86_400.0
"""A temporary file untouched for this long is abandoned, whoever wrote it."""

_TEMPORARY = re.compile(r"^\..+\.(?P<host>[A-Za-z0-9_-]+)-(?P<pid>[0-9]+)\.[A-Za-z0-9_]+\.tmp$")


def current_umask() -> int:
    """The process's file-creation mask (reading it means setting it, so it is set back at once)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "w") -> Iterator[IO]:
    """Open a temporary file beside ``path`` for writing (``mode`` "w", UTF-8 text, or "wb"); on normal exit it
    replaces ``path``, on an exception it is deleted. ``handle.name`` is the temporary path, so that the caller
    can read the content back and verify it before it replaces anything."""
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_write: mode must be 'w' or 'wb', got {mode!r}")
    path = Path(path)
    remove_abandoned_temporaries(path.parent)
    writer = f"{_host()}-{os.getpid()}"
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.{writer}.", suffix=".tmp")
    os.close(descriptor)
    try:
        os.chmod(temporary, 0o666 & ~current_umask())  # mkstemp makes the file private; what we save is not
        with open(temporary, mode, encoding="utf-8" if mode == "w" else None) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    _sync_directory(path.parent)


def remove_abandoned_temporaries(directory: str | os.PathLike) -> list[Path]:
    """Delete the temporary files of :func:`atomic_write` in ``directory`` whose writer is gone; return them."""
    removed = []
    now = time.time()
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return removed
    for entry in entries:
        match = _TEMPORARY.match(entry.name)
        if match is None or not entry.is_file(follow_symlinks=False):
            continue
        try:
            stale = now - entry.stat(follow_symlinks=False).st_mtime > ABANDONED_AFTER_S
        except OSError:
            continue
        if stale or (match["host"] == _host() and not _process_exists(int(match["pid"]))):
            with contextlib.suppress(OSError):
                os.unlink(entry.path)
                removed.append(Path(entry.path))
    return removed


def _host() -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", socket.gethostname()) or "host"


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # it exists but belongs to someone else (or the OS will not say): leave its file alone
    return True


def _sync_directory(directory: Path) -> None:
    """Make the rename durable (POSIX); where a directory cannot be opened (Windows) there is nothing to do."""
    try:
        descriptor = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(descriptor)
    finally:
        os.close(descriptor)
