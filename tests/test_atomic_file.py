"""The one atomic-write helper: the destination holds the old content or the whole new one, never a part."""

from __future__ import annotations

import os
import stat

import numpy as np
import pytest

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
