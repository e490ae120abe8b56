"""Resuming from a checkpoint continues bit for bit as if the run had never been interrupted.

Every run here shuffles its data, draws dropout masks from a module's own Generator and from the process-wide
default Generator, and uses Adam with a learning-rate schedule: the four kinds of state a resume must restore.
The interrupted run is stopped, its objects dropped, and fresh objects built from the same seeds (which also
re-seeds the default Generator, as a new process would) load the checkpoint and go on.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from neurones import functional as F
from neurones.data.dataset import TensorDataset
from neurones.data.loader import DataLoader
from neurones.errors import CheckpointError
from neurones.train import Checkpoint, EarlyStopping, fit, load_checkpoint, save_checkpoint
from tests.train.problems import make_data, make_run, parameters_of


def _assert_same_parameters(left, right):
    for a, b in zip(parameters_of(left), parameters_of(right), strict=True):
        assert np.array_equal(a, b)


def _val_loader():
    x, y = make_data(seed=5)
    return DataLoader(TensorDataset(x, y), batch_size=32)


@pytest.mark.parametrize("interval", ["epoch", "step"])
@pytest.mark.parametrize(("first", "total", "sampler_seed"), [(6, 12, 3), (4, 10, 3), (5, 11, None)])
def test_fit_resumed_from_a_checkpoint_matches_the_uninterrupted_run(tmp_path, interval, first, total, sampler_seed):
    def train(run, steps, callbacks, resume_from=None):
        return fit(run.model, F.cross_entropy, run.optimizer, run.loader, steps=steps, val_loader=_val_loader(),
                   scheduler=run.scheduler, scheduler_interval=interval, callbacks=callbacks, resume_from=resume_from)

    straight = make_run(sampler_seed=sampler_seed)
    straight_history = train(straight, total, [EarlyStopping("val_loss", patience=100)])

    interrupted = make_run(sampler_seed=sampler_seed)
    saver = Checkpoint(tmp_path / "ckpt.npz", every_n_steps=first)
    train(interrupted, first, [EarlyStopping("val_loss", patience=100), saver])
    assert saver.saved == [tmp_path / "ckpt.npz"]
    halfway, end = parameters_of(interrupted.model), parameters_of(straight.model)
    assert not all(np.array_equal(a, b) for a, b in zip(halfway, end))
    del interrupted

    resumed = make_run(sampler_seed=sampler_seed)
    stopper = EarlyStopping("val_loss", patience=100)
    resumed_history = train(resumed, total, [stopper, Checkpoint(tmp_path / "later.npz", every_n_steps=1000)],
                            resume_from=tmp_path / "ckpt.npz")

    _assert_same_parameters(resumed.model, straight.model)
    assert resumed_history.steps == straight_history.steps
    assert resumed_history.epochs == straight_history.epochs
    assert resumed.scheduler.state_dict() == straight.scheduler.state_dict()
    assert resumed.loader.state_dict()["epoch"] == straight.loader.state_dict()["epoch"]
    assert stopper.best == min(straight_history.epochs["val_loss"])


@given(first=st.integers(1, 11), interval=st.sampled_from(["epoch", "step"]), shuffle=st.booleans())
def test_resuming_at_any_step_changes_nothing(first, interval, shuffle):
    def train(run, steps, saver, resume_from=None):
        return fit(run.model, F.cross_entropy, run.optimizer, run.loader, steps=steps, scheduler=run.scheduler,
                   scheduler_interval=interval, callbacks=[saver], resume_from=resume_from)

    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "ckpt.npz"
        straight = make_run(shuffle=shuffle)
        straight_history = train(straight, 12, Checkpoint(path, every_n_steps=100))
        train(make_run(shuffle=shuffle), first, Checkpoint(path, every_n_steps=first))
        resumed = make_run(shuffle=shuffle)
        resumed_history = train(resumed, 12, Checkpoint(path, every_n_steps=100), resume_from=path)
    _assert_same_parameters(resumed.model, straight.model)
    assert resumed_history.steps == straight_history.steps
    assert resumed_history.epochs == straight_history.epochs


def test_fit_resumed_by_epochs(tmp_path):
    def train(run, epochs, resume_from=None):
        return fit(run.model, F.cross_entropy, run.optimizer, run.loader, epochs=epochs, scheduler=run.scheduler,
                   callbacks=[Checkpoint(tmp_path / "epoch{epoch}.npz", every_n_epochs=2)], resume_from=resume_from)

    straight = make_run()
    straight_history = train(straight, 5)
    interrupted = make_run()
    train(interrupted, 2)
    resumed = make_run()
    resumed_history = train(resumed, 5, resume_from=tmp_path / "epoch2.npz")
    _assert_same_parameters(resumed.model, straight.model)
    assert resumed_history.epochs == straight_history.epochs


def _train_by_hand(run, steps: int) -> None:
    """The loop a PyTorch user writes, interrupted after ``steps`` steps (possibly in the middle of an epoch)."""
    done = 0
    while done < steps:
        for x, y in run.loader:
            run.optimizer.zero_grad()
            F.cross_entropy(run.model(x), y).backward()
            run.optimizer.step()
            run.scheduler.step()
            done += 1
            if done == steps:
                break


@pytest.mark.parametrize("first", [3, 4, 5])
def test_hand_written_loop_with_save_and_load_checkpoint(tmp_path, first):
    straight = make_run()
    _train_by_hand(straight, 2 * first)
    interrupted = make_run()
    _train_by_hand(interrupted, first)
    path = save_checkpoint(tmp_path / "c.npz", interrupted.model, interrupted.optimizer, interrupted.scheduler,
                           interrupted.loader)
    resumed = make_run()
    load_checkpoint(path, resumed.model, resumed.optimizer, resumed.scheduler, resumed.loader)
    _train_by_hand(resumed, first)
    _assert_same_parameters(resumed.model, straight.model)
    for state, expected in zip(resumed.optimizer.state.values(), straight.optimizer.state.values()):
        assert np.array_equal(state["exp_avg_sq"], expected["exp_avg_sq"]) and state["step"] == expected["step"]


def test_resume_needs_a_checkpoint_of_the_loop_and_the_same_callbacks(tmp_path):
    run = make_run()
    plain = save_checkpoint(tmp_path / "plain.npz", run.model, run.optimizer, run.scheduler, run.loader)
    with pytest.raises(CheckpointError, match="holds no training-loop state"):
        fit(run.model, F.cross_entropy, run.optimizer, run.loader, steps=2, scheduler=run.scheduler,
            resume_from=plain)
    fit(run.model, F.cross_entropy, run.optimizer, run.loader, steps=2, scheduler=run.scheduler,
        callbacks=[Checkpoint(tmp_path / "loop.npz", every_n_steps=2)])
    before = parameters_of(run.model)
    with pytest.raises(CheckpointError, match="run with 1 callbacks, this one has 0"):
        fit(run.model, F.cross_entropy, run.optimizer, run.loader, steps=4, scheduler=run.scheduler,
            resume_from=tmp_path / "loop.npz")
    assert all(np.array_equal(a, b) for a, b in zip(before, parameters_of(run.model)))
