"""Callbacks: code that ``fit`` runs at fixed points of the training loop.

A callback subclasses :class:`Callback` and overrides any of five hooks, each called with the loop's
:class:`~neurones.train.state.TrainingState`::

    on_train_begin(state)    once, before the first batch (also when resuming)
    on_epoch_begin(state)    before the first batch of each epoch (not when resuming in the middle of one)
    on_step_end(state)       after each optimizer step (and the scheduler's, when it is stepped per step)
    on_epoch_end(state)      after each complete epoch, its means and validation recorded in state.history
    on_train_end(state)      once, after the last step

Hooks run in the order the callbacks were given. A hook may read anything in the state (the model, the last
loss and batch, the history), change the model or the optimizer (a dropout rate, a learning rate), add its own
measurements to ``state.history`` and set ``state.stop = True`` to end the run. A callback with state of its own
that must survive a checkpoint (a counter, a best value) returns it from ``state_dict()`` and takes it back in
``load_state_dict()``; :class:`LambdaCallback` turns plain functions into a callback.
"""

from __future__ import annotations

import math
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from neurones.errors import CheckpointError
from neurones.train.checkpoint import save_checkpoint
from neurones.train.state import TrainingState

Hook = Callable[[TrainingState], object]
HOOKS = ("on_train_begin", "on_epoch_begin", "on_step_end", "on_epoch_end", "on_train_end")


class Callback:
    """Base class: every hook does nothing; override those you need."""

    def on_train_begin(self, state: TrainingState) -> None:
        """Called once before training starts."""

    def on_epoch_begin(self, state: TrainingState) -> None:
        """Called before the first batch of each epoch."""

    def on_step_end(self, state: TrainingState) -> None:
        """Called after each optimizer step."""

    def on_epoch_end(self, state: TrainingState) -> None:
        """Called after each complete epoch."""

    def on_train_end(self, state: TrainingState) -> None:
        """Called once after training ends."""

    def state_dict(self) -> dict:
        """The callback's own state, stored in checkpoints (numbers, strings, arrays and containers of them)."""
        return {}

    def load_state_dict(self, state: dict) -> None:
        """Take back the state returned by :meth:`state_dict`."""


class LambdaCallback(Callback):
    """A callback made of functions ``fn(state)``, one per hook, e.g.
    ``LambdaCallback(on_step_end=lambda s: losses.append(s.loss))``."""

    def __init__(
        self,
        on_train_begin: Hook | None = None,
        on_epoch_begin: Hook | None = None,
        on_step_end: Hook | None = None,
        on_epoch_end: Hook | None = None,
        on_train_end: Hook | None = None,
    ) -> None:
        functions = dict(zip(HOOKS, (on_train_begin, on_epoch_begin, on_step_end, on_epoch_end, on_train_end)))
        for hook, fn in functions.items():
            if fn is not None:
                if not callable(fn):
                    raise TypeError(f"LambdaCallback: {hook} must be a function of the state, got {type(fn).__name__}")
                setattr(self, hook, fn)


class EarlyStopping(Callback):
    """Stop when the epoch metric ``monitor`` has not improved for ``patience`` epochs in a row.

    The value is read from ``state.history.epochs[monitor]`` at each epoch end. It improves when it is below the
    best so far by more than ``min_delta`` (``mode="min"``, for losses) or above it by more than ``min_delta``
    (``mode="max"``, for accuracies); NaN never improves. After ``patience`` epochs without improvement the run
    stops (``patience=0``: at the first one). With ``restore_best_weights`` the model gets back the parameters of
    its best epoch when the run stops. ``best``, ``best_epoch`` and ``stopped_epoch`` (epoch indices from 0, or
    ``None``) tell what happened.
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        patience: int = 3,
        mode: str = "min",
        min_delta: float = 0.0,
        restore_best_weights: bool = False,
    ) -> None:
        if mode not in ("min", "max"):
            raise ValueError(f"EarlyStopping: mode must be 'min' or 'max', got {mode!r}")
        if patience < 0 or min_delta < 0:
            raise ValueError(f"EarlyStopping: patience and min_delta must be non-negative, got {patience}, {min_delta}")
        self.monitor = monitor
        self.patience = patience
        self.mode = mode
        self.min_delta = min_delta
        self.restore_best_weights = restore_best_weights
        self.best = math.inf if mode == "min" else -math.inf
        self.best_epoch: int | None = None
        self.stopped_epoch: int | None = None
        self.wait = 0
        self.best_weights = None

    def _improves(self, value: float) -> bool:
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def on_epoch_end(self, state: TrainingState) -> None:
        column = state.history.epochs.get(self.monitor)
        if column is None:
            raise KeyError(
                f"EarlyStopping: no epoch metric {self.monitor!r} to monitor; recorded: {sorted(state.history.epochs)}"
            )
        value = float(column[-1])
        if self._improves(value):
            self.best, self.best_epoch, self.wait = value, state.epoch - 1, 0
            if self.restore_best_weights:
                self.best_weights = state.model.state_dict()
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch = state.epoch - 1
            state.stop = True
            if self.restore_best_weights and self.best_weights is not None:
                state.model.load_state_dict(self.best_weights)

    def state_dict(self) -> dict:
        return {
            "best": self.best,
            "best_epoch": self.best_epoch,
            "stopped_epoch": self.stopped_epoch,
            "wait": self.wait,
            "best_weights": self.best_weights,
        }

    def load_state_dict(self, state: dict) -> None:
        self.best = state["best"]
        self.best_epoch = state["best_epoch"]
        self.stopped_epoch = state["stopped_epoch"]
        self.wait = state["wait"]
        self.best_weights = state["best_weights"]


class Checkpoint(Callback):
    """Save a resumable checkpoint every ``every_n_steps`` steps and/or every ``every_n_epochs`` epochs (every
    epoch if neither is given).

    ``path`` may contain the fields ``{step}`` and ``{epoch}`` (``"ckpt/step{step:06d}.npz"``) to keep one file per
    save; otherwise each save replaces the previous file, atomically. A checkpoint holds the model, optimizer,
    scheduler, loader position, random states and the loop's own state (counters, history, callbacks' states), so
    that ``fit(..., resume_from=path)`` continues the run exactly. ``saved`` lists the paths written.
    """

    def __init__(self, path, every_n_steps: int | None = None, every_n_epochs: int | None = None) -> None:
        for name, value in (("every_n_steps", every_n_steps), ("every_n_epochs", every_n_epochs)):
            if value is not None and (not isinstance(value, int) or value < 1):
                raise ValueError(f"Checkpoint: {name} must be a positive integer or None, got {value!r}")
        self.path = str(path)
        self.every_n_steps = every_n_steps
        self.every_n_epochs = 1 if every_n_steps is None and every_n_epochs is None else every_n_epochs
        self.saved: list[Path] = []

    def on_train_begin(self, state: TrainingState) -> None:
        """Make sure the checkpoint folder can be written before the first step, not after an hour of training."""
        folder = Path(self.path.format(step=state.step, epoch=state.epoch)).parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryFile(dir=folder):
                pass
        except OSError as exc:
            raise CheckpointError(f"Checkpoint: cannot write checkpoints to {folder}: {exc.strerror or exc}") from exc

    def save(self, state: TrainingState) -> Path:
        """Write a checkpoint of the run now; return its path."""
        path = Path(self.path.format(step=state.step, epoch=state.epoch))
        save_checkpoint(
            path, state.model, state.optimizer, state.scheduler, state.train_loader, extra={"fit": state.loop_state()}
        )
        self.saved.append(path)
        return path

    def on_step_end(self, state: TrainingState) -> None:
        if self.every_n_steps is not None and state.step % self.every_n_steps == 0:
            self.save(state)

    def on_epoch_end(self, state: TrainingState) -> None:
        if self.every_n_epochs is not None and state.epoch % self.every_n_epochs == 0:
            self.save(state)


class ProgressBar(Callback):
    """A tqdm progress bar over the run's steps, showing the epoch and the last loss and epoch metrics.

    ``disable=None`` (default) shows it only when ``file`` (standard error by default) is a terminal, as tqdm's
    ``disable=None`` does; ``True`` never, ``False`` always. tqdm (the ``lab`` extra) is imported only when a bar
    is shown. ``refresh_every`` is the number of steps between updates of the displayed loss.
    """

    def __init__(self, disable: bool | None = None, file=None, desc: str = "train", refresh_every: int = 10) -> None:
        self.disable = disable
        self.file = file
        self.desc = desc
        self.refresh_every = max(1, int(refresh_every))
        self.bar = None

    def _enabled(self, file) -> bool:
        if self.disable is None:
            isatty = getattr(file, "isatty", None)
            return bool(isatty and isatty())
        return not self.disable

    def on_train_begin(self, state: TrainingState) -> None:
        file = self.file if self.file is not None else sys.stderr
        if not self._enabled(file):
            self.bar = None
            return
        try:
            from tqdm.auto import tqdm
        except ImportError as exc:
            raise ImportError("ProgressBar needs tqdm: pip install 'neurones[lab]' (or pip install tqdm)") from exc
        self.bar = tqdm(total=_total_steps(state), initial=state.step, desc=self.desc, file=file, dynamic_ncols=True)

    def on_step_end(self, state: TrainingState) -> None:
        if self.bar is None:
            return
        self.bar.update(1)
        if state.step % self.refresh_every == 0:
            self.bar.set_postfix(epoch=state.epoch, loss=f"{state.loss:.4g}", refresh=False)

    def on_epoch_end(self, state: TrainingState) -> None:
        if self.bar is not None:
            shown = {key: f"{value:.4g}" for key, value in state.history.last_epoch().items() if key not in ("step",)}
            self.bar.set_postfix(shown, refresh=False)

    def on_train_end(self, state: TrainingState) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _total_steps(state: TrainingState) -> int | None:
    if state.max_steps is not None:
        return state.max_steps
    try:
        return state.max_epochs * len(state.train_loader)
    except TypeError:
        return None
