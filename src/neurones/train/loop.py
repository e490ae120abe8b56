"""The training loop ``fit`` and the evaluation loop ``evaluate``.

``fit`` is the loop every PyTorch script writes by hand (source 001 §I.1: draw a batch B, compute ∇_B F(θ) by
backpropagation, step), with the bookkeeping around it::

    for each epoch:                      (until `epochs` epochs or `steps` steps are done)
        for inputs..., target in train_loader:
            optimizer.zero_grad()
            loss = loss_fn(model(*inputs), target)
            loss.backward()
            clip_grad_norm_(model.parameters(), grad_clip)      if grad_clip
            optimizer.step()
            scheduler.step()                                    if scheduler_interval == "step"
        evaluate(model, val_loader)                             if val_loader
        scheduler.step()                                        if scheduler_interval == "epoch" (the default)

recording losses, learning rates and metrics in a :class:`~neurones.train.history.History` and calling the
callbacks' hooks (see :mod:`neurones.train.callbacks`). A run that stops in the middle of an epoch (``steps``
reached, or a callback's ``stop``) ends there: that partial epoch gets no epoch row and no epoch-end hooks, unless
its last batch was the loader's last. Checkpoints written by the :class:`~neurones.train.callbacks.Checkpoint`
callback hold the loop's state as well, so that ``fit(..., resume_from=path)`` with fresh objects built the same
way continues exactly as the uninterrupted run would have, bit for bit.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence

from neurones.autodiff.grad_mode import no_grad
from neurones.errors import CheckpointError
from neurones.optim.clip_grad import clip_grad_norm_
from neurones.train.callbacks import Callback
from neurones.train.checkpoint import load_checkpoint, read_checkpoint
from neurones.train.history import History
from neurones.train.metrics import MeanTracker, batch_size, resolve_metrics
from neurones.train.state import TrainingState

_END = object()
SCHEDULER_INTERVALS = ("epoch", "step")


def _split_batch(batch) -> tuple[tuple, object]:
    """A batch ``(inputs..., target)`` as the model's positional inputs and the target."""
    if not isinstance(batch, (tuple, list)) or len(batch) < 2:
        raise TypeError(
            f"fit and evaluate expect batches (inputs..., target), such as a TensorDataset's (x, y); got "
            f"{type(batch).__name__}" + (f" of length {len(batch)}" if isinstance(batch, (tuple, list)) else "")
        )
    return tuple(batch[:-1]), batch[-1]


def evaluate(model, loader: Iterable, *, loss_fn=None, metrics="auto") -> dict[str, float]:
    """Means over all samples of ``loader`` of the loss (if ``loss_fn`` is given) and of the ``metrics``
    (see :mod:`neurones.train.metrics`), weighted by batch size: ``{"loss": ..., "accuracy": ...}``.

    The model runs in evaluation mode and without recording a graph; afterwards every module is put back in the
    mode it was in (so a model that was training goes on training).
    """
    modes = [(module, module.training) for module in model.modules()]
    model.eval()
    means = MeanTracker()
    resolved = None
    try:
        with no_grad():
            for batch in loader:
                inputs, target = _split_batch(batch)
                output = model(*inputs)
                if resolved is None:
                    resolved = resolve_metrics(metrics, output, target)
                values = {} if loss_fn is None else {"loss": float(loss_fn(output, target).item())}
                values.update({name: float(metric(output, target)) for name, metric in resolved.items()})
                means.add(values, batch_size(output, target))
    finally:
        for module, mode in modes:
            module.training = mode
    if resolved is None:
        raise ValueError("evaluate: the loader gave no batches")
    return means.means()


def fit(
    model,
    loss_fn,
    optimizer,
    train_loader: Iterable,
    epochs: int | None = None,
    steps: int | None = None,
    *,
    val_loader: Iterable | None = None,
    scheduler=None,
    scheduler_interval: str = "epoch",
    callbacks: Sequence[Callback] = (),
    grad_clip: float | None = None,
    metrics="auto",
    resume_from: str | os.PathLike | None = None,
) -> History:
    """Train ``model`` on ``train_loader`` for ``epochs`` epochs or ``steps`` optimizer steps (exactly one of the
    two); return the :class:`~neurones.train.history.History` of the run.

    ``loss_fn(output, target)`` returns the scalar loss of a batch (``F.cross_entropy``, ``F.mse_loss``...);
    batches are ``(inputs..., target)`` and the model is called as ``model(*inputs)``. ``val_loader``: evaluated
    at each epoch end (``val_loss``, ``val_<metric>`` in the history). ``scheduler``: stepped at each epoch end
    (PyTorch's habit) or after each optimizer step with ``scheduler_interval="step"``. ``grad_clip``: rescale the
    gradients to a total 2-norm of at most this value before each step (``clip_grad_norm_``), and record the norm
    before clipping as ``grad_norm``. ``metrics``: see :mod:`neurones.train.metrics` (accuracy for classification
    by default). ``callbacks``: see :mod:`neurones.train.callbacks`.

    ``resume_from``: a checkpoint written by the :class:`~neurones.train.callbacks.Checkpoint` callback; the
    model, optimizer, scheduler, loader, random states, history, counters and callbacks' states are restored from
    it first, and ``epochs``/``steps`` count the whole run, the part before the checkpoint included.
    """
    if (epochs is None) == (steps is None):
        raise ValueError("fit: give exactly one of epochs and steps")
    for name, value in (("epochs", epochs), ("steps", steps)):
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
            raise ValueError(f"fit: {name} must be a non-negative integer, got {value!r}")
    if scheduler_interval not in SCHEDULER_INTERVALS:
        raise ValueError(f"fit: scheduler_interval must be one of {SCHEDULER_INTERVALS}, got {scheduler_interval!r}")
    state = TrainingState(
        model, optimizer, train_loader, scheduler, list(callbacks), max_steps=steps, max_epochs=epochs
    )
    if resume_from is not None:
        _resume(state, resume_from)
    _Trainer(state, loss_fn, val_loader, scheduler_interval, grad_clip, metrics).run()
    return state.history


def _resume(state: TrainingState, path) -> None:
    """Restore the run from ``path``; the loop's state is checked first, so that a refusal changes nothing."""
    loop_state = read_checkpoint(path)["extra"].get("fit")
    if loop_state is None:
        raise CheckpointError(
            f"checkpoint {os.fspath(path)} holds no training-loop state (it was not written by the Checkpoint "
            f"callback): load it with load_checkpoint and call fit without resume_from"
        )
    try:
        state.check_loop_state(loop_state)
    except (KeyError, ValueError, TypeError) as exc:
        raise CheckpointError(f"checkpoint {os.fspath(path)}: cannot resume the training loop: {exc}") from exc
    load_checkpoint(path, state.model, state.optimizer, state.scheduler, state.train_loader)
    state.load_loop_state(loop_state)


class _Trainer:
    """One ``fit`` call: the configuration of the loop around its :class:`TrainingState`."""

    def __init__(self, state: TrainingState, loss_fn, val_loader, scheduler_interval: str, grad_clip, metrics):
        self.state = state
        self.loss_fn = loss_fn
        self.val_loader = val_loader
        self.step_scheduler = state.scheduler is not None and scheduler_interval == "step"
        self.epoch_scheduler = state.scheduler is not None and scheduler_interval == "epoch"
        self.grad_clip = grad_clip
        self.metric_spec = metrics
        self.metrics = None
        self.parameters = list(state.model.parameters())
        try:
            self.batches_per_epoch = len(state.train_loader)
        except TypeError:
            self.batches_per_epoch = None

    def _call(self, hook: str) -> None:
        for callback in self.state.callbacks:
            getattr(callback, hook)(self.state)

    def run(self) -> None:
        self._call("on_train_begin")
        while not self._finished():
            if not self._run_epoch():
                break
        self._call("on_train_end")

    def _steps_done(self) -> bool:
        return self.state.max_steps is not None and self.state.step >= self.state.max_steps

    def _epoch_complete(self) -> bool:
        """All the batches of the epoch in progress are done (known only for loaders with a length)."""
        done = self.state.batch_in_epoch
        return done > 0 and done == self.batches_per_epoch

    def _finished(self) -> bool:
        state = self.state
        if state.stop:
            return True
        if state.max_epochs is not None:
            return state.epoch >= state.max_epochs
        return self._steps_done() and not self._epoch_complete()

    def _run_epoch(self) -> bool:
        """Train until the epoch ends or the run must stop; return whether the epoch was completed."""
        state = self.state
        if state.batch_in_epoch == 0:
            self._call("on_epoch_begin")
        state.model.train()
        batches = iter(state.train_loader)
        complete = False
        while not (state.stop or self._steps_done()):
            batch = next(batches, _END)
            if batch is _END:
                complete = True
                break
            self._train_step(batch)
        if not complete and self._epoch_complete():
            # Let the loader close its epoch (it does so on the request after its last batch; no data are drawn).
            if next(batches, _END) is not _END:
                raise RuntimeError(f"fit: train_loader gave more batches than its length {self.batches_per_epoch}")
            complete = True
        if complete:
            if state.batch_in_epoch == 0:
                raise ValueError("fit: train_loader gave no batches")
            self._end_epoch()
        return complete

    def _train_step(self, batch) -> None:
        state, optimizer = self.state, self.state.optimizer
        inputs, target = _split_batch(batch)
        optimizer.zero_grad()
        output = state.model(*inputs)
        loss = self.loss_fn(output, target)
        loss_value = float(loss.item())
        loss.backward()
        row = {"step": state.step + 1, "epoch": state.epoch, "loss": loss_value, "lr": optimizer.param_groups[0]["lr"]}
        if self.grad_clip is not None:
            row["grad_norm"] = float(clip_grad_norm_(self.parameters, self.grad_clip).item())
        optimizer.step()
        if self.step_scheduler:
            state.scheduler.step()
        if self.metrics is None:
            self.metrics = resolve_metrics(self.metric_spec, output, target)
        values = {"loss": loss_value}
        values.update({name: float(metric(output, target)) for name, metric in self.metrics.items()})
        state.epoch_means.add(values, batch_size(output, target))
        state.step += 1
        state.batch_in_epoch += 1
        state.loss = loss_value
        state.batch = batch
        state.history.record_step(**row)
        self._call("on_step_end")

    def _end_epoch(self) -> None:
        state = self.state
        row = {"epoch": state.epoch, "step": state.step, **state.epoch_means.means()}
        if self.val_loader is not None:
            spec = self.metric_spec if self.metrics is None else self.metrics
            measured = evaluate(state.model, self.val_loader, loss_fn=self.loss_fn, metrics=spec)
            row.update({f"val_{name}": value for name, value in measured.items()})
        state.history.record_epoch(**row)
        if self.epoch_scheduler:
            state.scheduler.step()
        state.epoch += 1
        state.batch_in_epoch = 0
        state.epoch_means = MeanTracker()
        self._call("on_epoch_end")
