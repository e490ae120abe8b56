"""``History``: what a training run measured, step by step and epoch by epoch, as columns of numbers."""

from __future__ import annotations

import math


class History:
    """Two tables of measurements, stored by column: ``steps`` (one row per optimizer step) and ``epochs`` (one row
    per completed epoch).

    ``fit`` records, per step: ``step`` (1 for the first), ``epoch`` (index of the epoch the step belongs to),
    ``loss`` (the batch loss), ``lr`` (the learning rate of the first parameter group during the step) and, when
    gradients are clipped, ``grad_norm`` (their total norm before clipping). Per epoch: ``epoch`` (0 for the first),
    ``step`` (steps done at its end), ``loss`` and every metric (means over the epoch's training batches, weighted
    by batch size), and with a validation loader ``val_loss`` and ``val_<metric>``. A column that a row lacks holds
    NaN there, so that all columns of a table have the same length::

        history.steps["loss"]          # list of floats, one per step
        history.epochs["val_accuracy"] # list of floats, one per epoch
        history.last_epoch()           # {"epoch": 9, "step": 400, "loss": 0.31, ...}
    """

    def __init__(self) -> None:
        self.steps: dict[str, list] = {}
        self.epochs: dict[str, list] = {}

    @staticmethod
    def _append(table: dict[str, list], row: dict) -> None:
        length = len(next(iter(table.values()))) if table else 0
        for key in row:
            if key not in table:
                table[key] = [math.nan] * length
        for key, column in table.items():
            column.append(row.get(key, math.nan))

    def record_step(self, **values) -> None:
        """Append one row to ``steps``."""
        self._append(self.steps, values)

    def record_epoch(self, **values) -> None:
        """Append one row to ``epochs``."""
        self._append(self.epochs, values)

    @property
    def num_steps(self) -> int:
        return len(next(iter(self.steps.values()))) if self.steps else 0

    @property
    def num_epochs(self) -> int:
        return len(next(iter(self.epochs.values()))) if self.epochs else 0

    def last_epoch(self) -> dict:
        """The last row of ``epochs`` as a dict (empty before the first epoch ends)."""
        return {key: column[-1] for key, column in self.epochs.items()} if self.epochs else {}

    def state_dict(self) -> dict:
        return {
            "steps": {key: list(column) for key, column in self.steps.items()},
            "epochs": {key: list(column) for key, column in self.epochs.items()},
        }

    def load_state_dict(self, state: dict) -> None:
        self.steps = {key: list(column) for key, column in state["steps"].items()}
        self.epochs = {key: list(column) for key, column in state["epochs"].items()}

    def __repr__(self) -> str:
        last = ", ".join(f"{key}={value:.4g}" for key, value in self.last_epoch().items())
        return f"History(steps={self.num_steps}, epochs={self.num_epochs}" + (f", last: {last})" if last else ")")
