"""The one atomic-write helper: the destination holds the old content or the whole new one, never a part."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time

import numpy as np
import pytest

from neurones import atomic_file
from neurones.atomic_file import atomic_write, current_umask


def test_text_and_binary_writes_replace_the_file_and_leave_no_temporary(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("old")
    with atomic_write(path) as handle:
        handle.write("né")
        assert path.read_text() == "old"  # the destination is untouched until the end
        assert os.path.dirname(handle.name) == str(tmp_path)
    assert path.read_text(encoding="utf-8") == "né"
    with atomic_write(tmp_path / "b.npz", "wb") as handle:
        np.savez(handle, x=np.arange(3))
    assert np.load(tmp_path / "b.npz")["x"].tolist() == [0, 1, 2]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "b.npz"]


def test_a_failure_keeps_the_old_file_and_removes_the_temporary(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("old")
    with pytest.raises(RuntimeError, match="disk"), atomic_write(path) as handle:
        handle.write("half")
        raise RuntimeError("disk full")
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_the_file_gets_the_permissions_of_an_ordinary_file_not_mkstemps(tmp_path):
    with atomic_write(tmp_path / "a.txt") as handle:
        handle.write("x")
    assert stat.S_IMODE((tmp_path / "a.txt").stat().st_mode) == 0o666 & ~current_umask()


def test_only_write_modes_are_accepted(tmp_path):
    with pytest.raises(ValueError, match="atomic_write: mode"), atomic_write(tmp_path / "a", "a"):
        pass


def test_temporaries_of_killed_writers_are_removed_at_the_next_write(tmp_path):
    """A writer killed mid-write leaves its temporary file; the next write in that folder removes it, but never the
    temporary of a writer that is still running (this process) nor a file that only looks similar."""
    host = atomic_file._host()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(dead.stdout)  # a process that has exited
    abandoned = tmp_path / f".ckpt.npz.{host}-{dead_pid}.k2j4h1x9.tmp"
    abandoned.write_bytes(b"x" * 1000)
    running = tmp_path / f".ckpt.npz.{host}-{os.getpid()}.a8c1bb2q.tmp"
    running.write_bytes(b"in progress")
    elsewhere = tmp_path / f".ckpt.npz.other-machine-{dead_pid}.zz9x0y1w.tmp"
    elsewhere.write_bytes(b"another host's writer")
    old = tmp_path / f".ckpt.npz.other-machine-{dead_pid}.old00000.tmp"
    old.write_bytes(b"untouched for two days")
    two_days_ago = time.time() - 2 * 86_400
    os.utime(old, (two_days_ago, two_days_ago))
    unrelated = tmp_path / "notes.tmp"
    unrelated.write_text("mine")

    with atomic_write(tmp_path / "results.json") as handle:
        handle.write("{}")
    assert not abandoned.exists() and not old.exists()
    assert running.exists() and elsewhere.exists() and unrelated.exists()
    assert (tmp_path / "results.json").read_text() == "{}"
