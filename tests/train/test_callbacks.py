"""Callbacks: hook counts, early stopping on a scripted metric, periodic checkpoints, the progress bar."""

from __future__ import annotations

import io

import numpy as np
import pytest

from neurones import functional as F
from neurones.train import Callback, Checkpoint, EarlyStopping, LambdaCallback, ProgressBar, fit, read_checkpoint
from tests.train.problems import make_run


class Counter(Callback):
    def __init__(self):
        self.calls = {hook: 0 for hook in ("train_begin", "epoch_begin", "step_end", "epoch_end", "train_end")}
        self.steps_seen = []

    def on_train_begin(self, state):
        self.calls["train_begin"] += 1

    def on_epoch_begin(self, state):
        self.calls["epoch_begin"] += 1

    def on_step_end(self, state):
        self.calls["step_end"] += 1
        self.steps_seen.append((state.step, state.epoch, state.batch_in_epoch))

    def on_epoch_end(self, state):
        self.calls["epoch_end"] += 1

    def on_train_end(self, state):
        self.calls["train_end"] += 1


def test_hooks_are_called_the_right_number_of_times():
    run = make_run(dropout=False)
    counter = Counter()
    fit(run.model, F.cross_entropy, run.optimizer, run.loader, epochs=3, callbacks=[counter])
    assert counter.calls == {"train_begin": 1, "epoch_begin": 3, "step_end": 12, "epoch_end": 3, "train_end": 1}
    assert counter.steps_seen[:5] == [(1, 0, 1), (2, 0, 2), (3, 0, 3), (4, 0, 4), (5, 1, 1)]
    run = make_run(dropout=False)
    counter = Counter()
    fit(run.model, F.cross_entropy, run.optimizer, run.loader, steps=6, callbacks=[counter])
    assert counter.calls == {"train_begin": 1, "epoch_begin": 2, "step_end": 6, "epoch_end": 1, "train_end": 1}


def test_lambda_callback_hooks_see_the_state_in_order():
    run = make_run(dropout=False)
    events = []
    first = LambdaCallback(on_step_end=lambda s: events.append(("a", s.step)),
                           on_epoch_end=lambda s: events.append(("a-epoch", s.epoch)))
    second = LambdaCallback(on_step_end=lambda s: events.append(("b", s.step, round(s.loss, 6))))
    history = fit(run.model, F.cross_entropy, run.optimizer, run.loader, steps=4, callbacks=[first, second])
    losses = [round(v, 6) for v in history.steps["loss"]]
    assert events == [("a", 1), ("b", 1, losses[0]), ("a", 2), ("b", 2, losses[1]), ("a", 3), ("b", 3, losses[2]),
                      ("a", 4), ("b", 4, losses[3]), ("a-epoch", 1)]
    with pytest.raises(TypeError, match="on_step_end must be a function"):
        LambdaCallback(on_step_end=3)


def test_a_step_hook_can_stop_the_run():
    run = make_run(dropout=False)

    def stop_at_three(state):
        state.stop = state.step == 3

    history = fit(run.model, F.cross_entropy, run.optimizer, run.loader, epochs=10,
                  callbacks=[LambdaCallback(on_step_end=stop_at_three)])
    assert history.num_steps == 3 and history.num_epochs == 0


def _scripted(values):
    """A metric whose per-epoch mean follows ``values`` (one batch per epoch: it is called once per epoch)."""
    sequence = iter(values)

    def scripted(output, target):
        return next(sequence)

    return scripted


@pytest.mark.parametrize(
    ("mode", "values", "patience", "min_delta", "stopped_epoch", "best_epoch"),
    [
        ("min", [5.0, 4.0, 3.0, 3.5, 3.2, 3.1, 2.0, 1.0], 2, 0.0, 4, 2),
        ("min", [5.0, 4.0, 3.0, 3.5, 2.9, 2.8, 3.0, 3.0, 3.0, 3.0], 2, 0.0, 7, 5),
        ("min", [5.0, 4.95, 4.9, 4.0, 3.99], 1, 0.1, 1, 0),  # improvements smaller than min_delta do not count
        ("max", [0.1, 0.5, 0.4, 0.6, 0.6, 0.6, 0.9], 2, 0.0, 5, 3),
        ("min", [1.0, 1.0], 0, 0.0, 1, 0),
        ("min", [1.0, float("nan"), 0.5, float("nan")], 1, 0.0, 1, 0),
    ],
)
def test_early_stopping_stops_at_the_right_epoch(mode, values, patience, min_delta, stopped_epoch, best_epoch):
    run = make_run(dropout=False)
    x, y = run.loader.dataset.__getitems__(np.arange(64))
    stopper = EarlyStopping("scripted", patience=patience, mode=mode, min_delta=min_delta)
    history = fit(run.model, F.cross_entropy, run.optimizer, [(x, y)], epochs=len(values) + 5,
                  metrics=[_scripted(values)], callbacks=[stopper])
    assert stopper.stopped_epoch == stopped_epoch
    assert stopper.best_epoch == best_epoch
    assert history.num_epochs == stopped_epoch + 1
    np.testing.assert_array_equal(history.epochs["scripted"], values[: stopped_epoch + 1])


def test_early_stopping_restores_the_best_weights():
    run = make_run(dropout=False)
    x, y = run.loader.dataset.__getitems__(np.arange(64))
    snapshots = []
    stopper = EarlyStopping("scripted", patience=2, restore_best_weights=True)
    fit(run.model, F.cross_entropy, run.optimizer, [(x, y)], epochs=20, metrics=[_scripted([3.0, 1.0, 2.0, 2.0])],
        callbacks=[LambdaCallback(on_epoch_end=lambda s: snapshots.append(s.model.state_dict())), stopper])
    assert stopper.stopped_epoch == 3
    for name, value in run.model.state_dict().items():
        assert np.array_equal(value, snapshots[1][name])
        assert not np.array_equal(value, snapshots[3][name])


def test_early_stopping_names_the_missing_metric():
    run = make_run(dropout=False)
    with pytest.raises(KeyError, match="no epoch metric 'val_loss'"):
        fit(run.model, F.cross_entropy, run.optimizer, run.loader, epochs=2, callbacks=[EarlyStopping()])
    with pytest.raises(ValueError, match="mode"):
        EarlyStopping(mode="best")


def test_checkpoint_every_n_steps_writes_one_file_per_save(tmp_path):
    run = make_run(dropout=False)
    saver = Checkpoint(tmp_path / "step{step:03d}.npz", every_n_steps=3)
    fit(run.model, F.cross_entropy, run.optimizer, run.loader, steps=10, callbacks=[saver])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["step003.npz", "step006.npz", "step009.npz"]
    assert saver.saved == [tmp_path / "step003.npz", tmp_path / "step006.npz", tmp_path / "step009.npz"]
    contents = read_checkpoint(tmp_path / "step006.npz")
    assert contents["extra"]["fit"]["step"] == 6
    assert contents["extra"]["fit"]["epoch"] == 1
    assert contents["loader"]["position"] == 2


def test_checkpoint_every_epoch_by_default_overwrites_one_file(tmp_path):
    run = make_run(dropout=False)
    saver = Checkpoint(tmp_path / "last.npz")
    fit(run.model, F.cross_entropy, run.optimizer, run.loader, epochs=3, callbacks=[saver])
    assert [p.name for p in tmp_path.iterdir()] == ["last.npz"]
    assert len(saver.saved) == 3
    contents = read_checkpoint(tmp_path / "last.npz")
    assert contents["extra"]["fit"]["epoch"] == 3
    for name, value in run.model.state_dict().items():
        assert np.array_equal(contents["model"][name], value)
    with pytest.raises(ValueError, match="every_n_steps"):
        Checkpoint(tmp_path / "x.npz", every_n_steps=0)


def test_progress_bar_is_off_when_not_a_terminal_and_on_when_asked():
    run = make_run(dropout=False)
    silent = ProgressBar(file=io.StringIO())  # disable=None: a StringIO is not a terminal
    fit(run.model, F.cross_entropy, run.optimizer, run.loader, epochs=1, callbacks=[silent])
    assert silent.file.getvalue() == ""
    run = make_run(dropout=False)
    shown = ProgressBar(disable=False, file=io.StringIO(), refresh_every=1)
    fit(run.model, F.cross_entropy, run.optimizer, run.loader, epochs=2, callbacks=[shown])
    text = shown.file.getvalue()
    assert "8/8" in text and "train" in text
    assert shown.bar is None  # closed at the end
    run = make_run(dropout=False)
    never = ProgressBar(disable=True, file=io.StringIO())
    fit(run.model, F.cross_entropy, run.optimizer, run.loader, steps=2, callbacks=[never])
    assert never.file.getvalue() == ""
