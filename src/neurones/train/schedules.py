r"""Schedules over training, as callbacks of :func:`neurones.train.fit`: a data deficit during a window of epochs,
dropout and stochastic-depth rates that change with the step, and a learning-rate restart ("Rien ne sert de
courir", critical periods and early/late dropout).

- :class:`DeficitSchedule` wraps a dataset and applies a transform to its inputs while the epoch lies in
  [start, end) — Achille et al.'s blur for the first N epochs, or a control such as a time reversal.
- :class:`DropoutSchedule` sets the probability of every dropout module at each step, following Liu et al.'s
  ``drop_scheduler.py`` (facebookresearch/dropout): ``standard`` keeps p, ``early`` decays it linearly from p to 0
  over the first ``cutoff`` steps and then keeps 0, ``late`` keeps 0 for ``cutoff`` steps and p after.
- :class:`StochasticDepthSchedule` does the same for the drop rate 1 − survival_prob of stochastic-depth blocks.
- :class:`LearningRateRestart` sets every parameter group's learning rate back to a value at a given epoch.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from neurones.data.dataset import Dataset
from neurones.nn.dropout import _DropoutNd
from neurones.nn.residual import ResBlock, StochasticDepth
from neurones.train.callbacks import Callback

MODES = ("standard", "early", "late")


class DeficitSchedule(Dataset, Callback):
    """The samples of ``dataset`` with ``transform`` applied to their inputs (the first element) during epochs
    ``start ≤ epoch < end``, and untouched otherwise. Pass it as the loader's dataset *and* as a callback of
    ``fit``; ``active`` says whether the deficit applies to the epoch in progress."""

    def __init__(self, dataset, transform: Callable, start: int, end: int) -> None:
        if not 0 <= start <= end:
            raise ValueError(f"DeficitSchedule: need 0 ≤ start ≤ end, got [{start}, {end})")
        self.dataset, self.transform, self.start, self.end = dataset, transform, int(start), int(end)
        self.active = self.start == 0 < self.end

    def on_epoch_begin(self, state) -> None:
        self.active = self.start <= state.epoch < self.end

    def _apply(self, sample):
        if not self.active:
            return sample
        inputs, *rest = sample
        return (self.transform(inputs), *rest)

    def __getitem__(self, index):
        return self._apply(self.dataset[index])

    def __getitems__(self, indices):
        getitems = getattr(self.dataset, "__getitems__", None)
        if getitems is None:
            raise TypeError(f"DeficitSchedule: {type(self.dataset).__name__} has no batched __getitems__")
        return self._apply(getitems(indices))

    def __len__(self) -> int:
        return len(self.dataset)


def drop_rates(rate: float, steps: int, mode: str = "standard", cutoff: int = 0) -> np.ndarray:
    """The drop rate at each of ``steps`` steps (see the module docstring), as ``drop_scheduler.py`` builds it."""
    if mode not in MODES:
        raise ValueError(f"drop_rates: mode must be one of {MODES}, got {mode!r}")
    if not 0 <= rate <= 1 or steps < 0 or not 0 <= cutoff <= max(steps, 0):
        raise ValueError(f"drop_rates: need 0 ≤ rate ≤ 1 and 0 ≤ cutoff ≤ steps, got {rate}, {cutoff}, {steps}")
    if mode == "standard":
        return np.full(steps, float(rate))
    if mode == "early":
        return np.concatenate([np.linspace(rate, 0.0, cutoff), np.zeros(steps - cutoff)])
    return np.concatenate([np.zeros(cutoff), np.full(steps - cutoff, float(rate))])


class _RateSchedule(Callback):
    def __init__(self, rate: float, steps: int, mode: str = "standard", cutoff: int = 0) -> None:
        self.rates = drop_rates(rate, steps, mode, cutoff)
        self.mode, self.cutoff = mode, cutoff

    def _set(self, model, rate: float) -> None:
        raise NotImplementedError

    def current(self, step: int) -> float:
        """The rate of the step that comes after ``step`` finished steps (the last rate beyond the schedule)."""
        return float(self.rates[min(step, len(self.rates) - 1)]) if len(self.rates) else 0.0

    def on_train_begin(self, state) -> None:
        self._set(state.model, self.current(state.step))

    def on_step_end(self, state) -> None:
        self._set(state.model, self.current(state.step))


class DropoutSchedule(_RateSchedule):
    """Sets ``p`` of every dropout module of the model before each step: standard, early or late dropout."""

    def _set(self, model, rate: float) -> None:
        for module in model.modules():
            if isinstance(module, _DropoutNd):
                module.p = rate


class StochasticDepthSchedule(_RateSchedule):
    """Sets ``survival_prob = 1 − rate`` of every stochastic-depth block before each step."""

    def _set(self, model, rate: float) -> None:
        for module in model.modules():
            if isinstance(module, (StochasticDepth, ResBlock)):
                module.survival_prob = 1.0 - rate


class LearningRateRestart(Callback):
    """At the beginning of epoch ``epoch``, set every parameter group's learning rate to ``lr`` (a learning-rate
    scheduler stepped afterwards recomputes it from its own state: use one or the other)."""

    def __init__(self, epoch: int, lr: float) -> None:
        if epoch < 0 or not np.isfinite(lr) or lr < 0:
            raise ValueError(f"LearningRateRestart: need epoch ≥ 0 and a finite lr ≥ 0, got {epoch}, {lr}")
        self.epoch, self.lr = int(epoch), float(lr)

    def on_epoch_begin(self, state) -> None:
        if state.epoch == self.epoch:
            for group in state.optimizer.param_groups:
                group["lr"] = self.lr

