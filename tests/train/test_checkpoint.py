"""Checkpoint files: round trips, damaged files, atomic writes, and loads that do not fit."""

from __future__ import annotations

import json
import math
import os
from collections import Counter, OrderedDict

import numpy as np
import pytest

import neurones as nr
from neurones import functional as F
from neurones import nn, optim
from neurones.errors import CheckpointError
from neurones.train import (
    Checkpoint,
    checkpoint_file,
    fit,
    load_checkpoint,
    module_generators,
    read_checkpoint,
    save_checkpoint,
)
from neurones.train.checkpoint_file import read_tree, write_tree
from tests.train.problems import make_run, parameters_of


def _same_tree(a, b) -> bool:
    """Equal values of the same types, arrays equal with the same dtype (NaN equal to NaN)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, np.ndarray):
        return a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b, equal_nan=a.dtype.kind == "f")
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same_tree(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same_tree(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    return a == b


def test_tree_round_trip_keeps_values_and_types(tmp_path):
    tree = {
        "tuple": (1, 2.5, "x"),
        3: [None, True, False, "text", 2**100, -7],
        "counter": Counter({30: 2, 80: 1}),
        "ordered": OrderedDict([("b", 1), ("a", np.arange(3, dtype=np.int64))]),
        "floats": [math.nan, math.inf, -math.inf, 0.1, 1e-300],
        "numpy scalars": [np.float32(1.5), np.int64(7), np.bool_(True)],
        "arrays": [np.linspace(0, 1, 6, dtype=np.float32).reshape(2, 3), np.zeros(0), np.array(3.0), np.array([1j])],
        (1, "key"): {"nested": {"deeper": np.ones((2, 2), dtype=np.float64)}},
    }
    path = write_tree(tmp_path / "tree.npz", tree)
    assert _same_tree(read_tree(path), tree)


@pytest.mark.parametrize(
    ("value", "message"),
    [({"f": print}, "type builtin_function_or_method at /f"), ({"o": np.array([None])}, "object array at /o"),
     ({"s": {1, 2}}, "type set at /s")],
)
def test_values_that_would_need_pickle_are_refused(tmp_path, value, message):
    with pytest.raises(CheckpointError, match=message):
        write_tree(tmp_path / "bad.npz", value)
    assert list(tmp_path.iterdir()) == []


def test_training_state_round_trip(tmp_path):
    run = make_run()
    fit(run.model, F.cross_entropy, run.optimizer, run.loader, steps=6, scheduler=run.scheduler,
        scheduler_interval="step")
    path = save_checkpoint(tmp_path / "run.npz", run.model, run.optimizer, run.scheduler, run.loader,
                           extra={"note": "six steps", "values": (1, 2)})
    fresh = make_run()
    extra = load_checkpoint(path, fresh.model, fresh.optimizer, fresh.scheduler, fresh.loader)
    assert extra == {"note": "six steps", "values": (1, 2)}
    assert _same_tree(dict(fresh.model.state_dict()), dict(run.model.state_dict()))
    assert _same_tree(fresh.optimizer.state_dict(), run.optimizer.state_dict())
    assert _same_tree(fresh.scheduler.state_dict(), run.scheduler.state_dict())
    assert _same_tree(fresh.loader.state_dict(), run.loader.state_dict())
    # The random streams continue identically: the default Generator, the Dropout's Generator, the loader.
    assert nr.default_generator().bit_generator.state == read_checkpoint(path)["rng"]["default"]
    for left, right in zip(module_generators(fresh.model).values(), module_generators(run.model).values()):
        assert np.array_equal(left.random(5), right.random(5))
    run.loader.load_state_dict(run.loader.state_dict())  # so that its next iter() also finishes the epoch begun
    batches = list(zip(fresh.loader, run.loader))
    assert len(batches) == 2  # steps 5 and 6 were the first two batches of the second epoch
    for (x1, y1), (x2, y2) in batches:
        assert np.array_equal(x1.data, x2.data) and np.array_equal(y1.data, y2.data)


def test_default_generator_state_is_restored(tmp_path):
    model = nn.Linear(2, 2, rng=0)
    nr.manual_seed(5)
    nr.default_generator().random(3)
    path = save_checkpoint(tmp_path / "c.npz", model)
    expected = nr.default_generator().random(4)
    nr.manual_seed(99)
    load_checkpoint(path, model)
    assert np.array_equal(nr.default_generator().random(4), expected)


def test_module_generators_are_found_by_name_once_each():
    shared = np.random.default_rng(0)
    inner = nn.Sequential(nn.Dropout(0.2, rng=shared), nn.Dropout(0.3, rng=4))
    model = nn.Sequential(nn.Dropout(0.1, rng=shared), inner)
    model.extra_stream = np.random.default_rng(9)
    found = module_generators(model)
    assert list(found) == ["extra_stream", "0.rng", "1.1.rng"]
    assert found["0.rng"] is shared


@pytest.fixture
def good_checkpoint(tmp_path):
    run = make_run(dropout=False)
    fit(run.model, F.cross_entropy, run.optimizer, run.loader, steps=3)
    path = save_checkpoint(tmp_path / "ckpt.npz", run.model, run.optimizer, run.scheduler, run.loader)
    return path, run


@pytest.mark.parametrize("keep", [0, 10, 100, 0.5, 0.9, -1])
def test_truncated_checkpoint_raises_and_names_the_file(tmp_path, good_checkpoint, keep):
    path, _ = good_checkpoint
    data = path.read_bytes()
    cut = tmp_path / "cut.npz"
    cut.write_bytes(data[: int(keep * len(data)) if isinstance(keep, float) else keep])
    model = make_run(dropout=False).model
    before = parameters_of(model)
    with pytest.raises(CheckpointError, match=r"checkpoint .*cut\.npz is truncated or not a neurones checkpoint"):
        load_checkpoint(cut, model)
    assert all(np.array_equal(a, b) for a, b in zip(before, parameters_of(model)))


def test_flipped_bytes_are_detected(tmp_path, good_checkpoint):
    path, run = good_checkpoint
    data = bytearray(path.read_bytes())
    weight = run.model.state_dict()["0.weight"].tobytes()
    offset = bytes(data).find(weight)
    assert offset > 0
    data[offset + 5] ^= 0xFF
    damaged = tmp_path / "damaged.npz"
    damaged.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match=r"damaged\.npz"):
        read_checkpoint(damaged)


def _rewrite(path, change) -> None:
    """Rewrite the archive at ``path`` as a valid zip after ``change(entries)`` (bypassing the checksum)."""
    with np.load(path, allow_pickle=False) as archive:
        entries = {name: archive[name] for name in archive.files}
    change(entries)
    np.savez(path, **entries)


def test_silently_changed_array_fails_the_checksum(good_checkpoint):
    path, _ = good_checkpoint

    def nudge(entries):
        weight = entries["model/0.weight"].copy()
        weight[0, 0] = np.nextafter(weight[0, 0], np.float32(np.inf))
        entries["model/0.weight"] = weight

    _rewrite(path, nudge)
    with pytest.raises(CheckpointError, match=r"ckpt\.npz is corrupt: its checksum does not match"):
        read_checkpoint(path)


def _header(entries) -> dict:
    return json.loads(entries["__header__"].tobytes())


def _set_header(entries, header) -> None:
    entries["__header__"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)


def test_newer_format_version_is_refused(good_checkpoint):
    path, _ = good_checkpoint
    _rewrite(path, lambda entries: _set_header(entries, {**_header(entries), "version": 99}))
    with pytest.raises(CheckpointError, match="format version 99, but this neurones reads versions 1 to 1"):
        read_checkpoint(path)


def test_files_that_are_not_checkpoints(tmp_path):
    np.savez(tmp_path / "plain.npz", x=np.zeros(3))
    with pytest.raises(CheckpointError, match=r"plain\.npz is not a neurones checkpoint: it has no header"):
        read_checkpoint(tmp_path / "plain.npz")
    (tmp_path / "text.npz").write_text("hello")
    with pytest.raises(CheckpointError, match=r"text\.npz is truncated or not a neurones checkpoint"):
        read_checkpoint(tmp_path / "text.npz")
    with pytest.raises(FileNotFoundError):
        read_checkpoint(tmp_path / "missing.npz")
    (tmp_path / "random.npz").write_bytes(np.random.default_rng(0).bytes(4096))
    with pytest.raises(CheckpointError, match=r"random\.npz is truncated or not a neurones checkpoint") as caught:
        read_checkpoint(tmp_path / "random.npz")
    assert "pickle" not in str(caught.value)  # NumPy's own message would suggest allow_pickle=True


def _fail_savez_midway(file, **entries):
    file.write(b"PK\x03\x04 half a zip")
    raise OSError("disk full")


def _fail(*args, **kwargs):
    raise OSError("simulated failure")


@pytest.mark.parametrize(
    ("target", "name", "replacement"),
    [(np, "savez", _fail_savez_midway), (os, "fsync", _fail), (os, "replace", _fail),
     (checkpoint_file, "read_tree", _fail)],
)
def test_failed_write_leaves_the_previous_checkpoint_intact(tmp_path, good_checkpoint, monkeypatch, target, name,
                                                            replacement):
    path, run = good_checkpoint
    before = path.read_bytes()
    fit(run.model, F.cross_entropy, run.optimizer, run.loader, steps=2)
    monkeypatch.setattr(target, name, replacement)
    expected = f"cannot save checkpoint {path}: .*; the previous checkpoint there is kept"
    with pytest.raises(CheckpointError, match=expected):
        save_checkpoint(path, run.model, run.optimizer, run.scheduler, run.loader)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt.npz"]
    read_checkpoint(path)


def test_a_checkpoint_that_does_not_fit_changes_nothing(tmp_path, good_checkpoint):
    path, _ = good_checkpoint
    other = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    before = parameters_of(other)
    with pytest.raises(CheckpointError, match="does not fit the model"):
        load_checkpoint(path, other, rng_states=False)
    assert all(np.array_equal(a, b) for a, b in zip(before, parameters_of(other)))
    # The model fits but the optimizer does not: the model is rolled back.
    run = make_run(dropout=False)
    partial = optim.Adam(list(run.model.parameters())[:2], lr=0.1)
    before = parameters_of(run.model)
    with pytest.raises(CheckpointError, match="does not fit the optimizer"):
        load_checkpoint(path, run.model, partial)
    assert all(np.array_equal(a, b) for a, b in zip(before, parameters_of(run.model)))


def test_another_optimizers_state_is_refused(tmp_path):
    run = make_run(dropout=False)
    adam_path = save_checkpoint(tmp_path / "adam.npz", run.model, optim.Adam(run.model.parameters(), lr=0.01))
    sgd = optim.SGD(run.model.parameters(), lr=0.1, momentum=0.9)
    with pytest.raises(CheckpointError, match=r"does not fit the optimizer.*not for a SGD.*'amsgrad'"):
        load_checkpoint(adam_path, run.model, sgd)
    assert sgd.param_groups[0]["momentum"] == 0.9 and "betas" not in sgd.param_groups[0]  # SGD left as it was
    sgd_path = save_checkpoint(tmp_path / "sgd.npz", run.model, sgd)
    with pytest.raises(CheckpointError, match=r"not for a Adam"):
        load_checkpoint(sgd_path, run.model, optim.Adam(run.model.parameters()))


def test_training_into_a_folder_that_cannot_be_written_fails_before_the_first_step(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    run = make_run(dropout=False)
    before = parameters_of(run.model)
    with pytest.raises(CheckpointError, match=f"Checkpoint: cannot write checkpoints to {blocker}/ckpt"):
        fit(run.model, F.cross_entropy, run.optimizer, run.loader, steps=5,
            callbacks=[Checkpoint(blocker / "ckpt" / "step{step}.npz", every_n_steps=1)])  # fmt: skip
    assert all(np.array_equal(a, b) for a, b in zip(before, parameters_of(run.model)))  # no step was taken


def test_a_failed_save_during_training_names_the_file_and_keeps_the_last_good_one(tmp_path, monkeypatch):
    run = make_run(dropout=False)
    path = tmp_path / "ckpt.npz"
    fit(run.model, F.cross_entropy, run.optimizer, run.loader, steps=2, callbacks=[Checkpoint(path, every_n_steps=1)])
    good = path.read_bytes()

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "savez", disk_full)
    with pytest.raises(CheckpointError, match=f"cannot save checkpoint {path}: No space left on device"):
        fit(run.model, F.cross_entropy, run.optimizer, run.loader, steps=2, callbacks=[Checkpoint(path, 1)])
    assert path.read_bytes() == good and sorted(p.name for p in tmp_path.iterdir()) == ["ckpt.npz"]


def test_missing_parts_are_reported(tmp_path):
    model = nn.Linear(2, 2, rng=0)
    path = save_checkpoint(tmp_path / "bare.npz", model, rng_states=False)
    with pytest.raises(CheckpointError, match="holds no optimizer state"):
        load_checkpoint(path, model, optim.SGD(model.parameters(), lr=0.1))
    with pytest.raises(CheckpointError, match="holds no random states"):
        load_checkpoint(path, model)
    assert load_checkpoint(path, model, rng_states=False) == {}


def test_module_generators_must_match_when_strict(tmp_path):
    saved = nn.Sequential(nn.Linear(2, 2, rng=0), nn.Dropout(0.5, rng=1))
    path = save_checkpoint(tmp_path / "c.npz", saved)
    without = nn.Sequential(nn.Linear(2, 2, rng=0), nn.Dropout(0.5))
    with pytest.raises(CheckpointError, match=r"not in the objects \['1.rng'\]"):
        load_checkpoint(path, without)
    load_checkpoint(path, without, strict=False)


def test_caller_named_generators_are_saved_and_restored(tmp_path):
    model = nn.Linear(2, 2, rng=0)
    noise = np.random.default_rng(11)
    path = save_checkpoint(tmp_path / "c.npz", model, generators={"noise": noise})
    expected = noise.standard_normal(3)
    load_checkpoint(path, model, generators={"noise": noise})
    assert np.array_equal(noise.standard_normal(3), expected)
    with pytest.raises(CheckpointError, match=r"extra generators differ: missing from the checkpoint \['other'\]"):
        load_checkpoint(path, model, generators={"other": np.random.default_rng(0)})
