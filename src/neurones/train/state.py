"""``TrainingState``: what the training loop knows at any moment, as callbacks see it and checkpoints store it."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from neurones.train.history import History
from neurones.train.metrics import MeanTracker


@dataclass(eq=False)
class TrainingState:
    """The objects of a run and where it stands; ``fit`` passes it to every callback hook.

    Counters count what is finished: ``step`` is the number of optimizer steps done (1 in the first
    ``on_step_end``), ``epoch`` the number of epochs completed (1 in the first ``on_epoch_end``, 0 during the first
    epoch) and ``batch_in_epoch`` the number of batches done in the epoch in progress. ``loss`` is the last
    batch's loss (a float), ``batch`` the last batch as the loader gave it, ``history`` everything recorded so
    far. ``max_steps``/``max_epochs`` are the run's targets (one of them is ``None``). A callback sets ``stop`` to
    end the run after the current hook: the loop checks it before each batch and after each epoch.
    """

    model: object
    optimizer: object
    train_loader: object
    scheduler: object = None
    callbacks: list = field(default_factory=list)
    history: History = field(default_factory=History)
    max_steps: int | None = None
    max_epochs: int | None = None
    step: int = 0
    epoch: int = 0
    batch_in_epoch: int = 0
    loss: float = math.nan
    batch: object = None
    stop: bool = False
    epoch_means: MeanTracker = field(default_factory=MeanTracker)

    def loop_state(self) -> dict:
        """Everything of the loop a checkpoint needs besides the model, optimizer, scheduler, loader and random
        states: counters, the running means of the epoch in progress, the history and the callbacks' states."""
        return {
            "step": self.step,
            "epoch": self.epoch,
            "batch_in_epoch": self.batch_in_epoch,
            "epoch_means": self.epoch_means.state_dict(),
            "history": self.history.state_dict(),
            "callbacks": [callback.state_dict() for callback in self.callbacks],
        }

    def check_loop_state(self, saved: dict) -> None:
        """Raise ``ValueError`` if :meth:`load_loop_state` cannot take ``saved``: callbacks are matched by
        position, so they must be as many."""
        missing = [key for key in self.loop_state() if key not in saved]
        if missing:
            raise ValueError(f"the saved loop state lacks {missing}")
        if len(saved["callbacks"]) != len(self.callbacks):
            raise ValueError(
                f"the checkpoint was written by a run with {len(saved['callbacks'])} callbacks, this one has "
                f"{len(self.callbacks)}: pass the same callbacks, in the same order, to resume"
            )

    def load_loop_state(self, saved: dict) -> None:
        """Continue from :meth:`loop_state`'s output (checked by :meth:`check_loop_state`)."""
        self.check_loop_state(saved)
        self.step = int(saved["step"])
        self.epoch = int(saved["epoch"])
        self.batch_in_epoch = int(saved["batch_in_epoch"])
        self.epoch_means.load_state_dict(saved["epoch_means"])
        self.history.load_state_dict(saved["history"])
        for callback, state in zip(self.callbacks, saved["callbacks"]):
            callback.load_state_dict(state)
