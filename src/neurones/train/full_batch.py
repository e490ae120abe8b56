r"""Full-batch gradient descent on any model, with recorders: the training of the convergence theorems.

The theorems of seed 000 §7 (Allen-Zhu, Li & Song 2019; Du et al. 2019; Chizat, Oyallon & Bach 2019) and the
gradient flows of seeds 000 §8 and 003 follow deterministic gradient descent on the whole training set,

    θ_{t+1} = θ_t − η ∇L(θ_t),    L(θ) = loss_fn(f(X; θ), Y),

and watch quantities along it: the loss, ‖∇L‖², the displacement ‖θ_t − θ₀‖, the fraction of ReLU patterns left
unchanged, the sharpness λ_max(∇²L) (:mod:`neurones.train.recorders`). Parameter groups may carry their own rates
(the mean-field per-neuron scaling, the ODE ResNet's rate L on residual weights).

**Several restarts at once.** A model that stacks R independent restarts along the first axis of its parameters
(:class:`neurones.nn.MeanFieldTwoLayer` with ``restarts=R``) is trained as R runs in one pass when ``loss_fn``
returns the R losses as a vector: descent follows the gradient of their sum, which is each restart's own gradient
on its own parameters, and the history keeps the vector.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from neurones.autodiff.tensor import Tensor
from neurones.ops.losses import mse_loss
from neurones.optim.sgd import SGD
from neurones.train.recorders import Recorder


@dataclass
class GDHistory:
    """The recorded steps, the losses there (floats, or one array per step over restarts) and each recorder's
    values under its name, all taken before that step's update."""

    steps: list[int] = field(default_factory=list)
    losses: list = field(default_factory=list)
    records: dict[str, list] = field(default_factory=dict)

    def as_arrays(self) -> dict[str, np.ndarray]:
        """``{"steps", "losses", <recorder names>}`` as arrays (restarts on the last axis)."""
        return {"steps": np.asarray(self.steps), "losses": np.asarray(self.losses),
                **{name: np.asarray(values) for name, values in self.records.items()}}


def full_batch_gd(model, inputs, targets, lr: float, steps: int, recorders: Sequence[Recorder] = (), *,
                  loss_fn: Callable = mse_loss, param_groups: Iterable | None = None, record_every: int = 1,
                  callback: Callable[[int, object], None] | None = None) -> GDHistory:
    """Run ``steps`` steps of gradient descent with rate ``lr`` on ``loss_fn(model(inputs), targets)``.

    Every ``record_every`` steps (and at the last) the loss and each recorder's value are recorded and
    ``callback(step, model)`` is called, after the backward pass and before the update: values at step j belong to
    θ_j. ``param_groups``: optimizer groups with their own ``lr`` (default: every parameter at ``lr``). A loss that
    stops being finite raises :class:`FloatingPointError` (a step too large). The model is trained in place.
    """
    if steps < 0 or record_every < 1:
        raise ValueError(f"full_batch_gd: steps ≥ 0 and record_every ≥ 1 are required, got {steps}, {record_every}")
    if not np.isfinite(lr) or lr <= 0:
        raise ValueError(f"full_batch_gd: lr must be a positive number, got {lr}")
    inputs = inputs if isinstance(inputs, Tensor) else Tensor(np.asarray(inputs))
    targets = targets if isinstance(targets, Tensor) else Tensor(np.asarray(targets))
    optimizer = SGD(model.parameters() if param_groups is None else param_groups, lr=lr)
    history = GDHistory(records={recorder.name: [] for recorder in recorders})
    if len(history.records) != len(recorders):
        raise ValueError(f"full_batch_gd: two recorders share a name: {[r.name for r in recorders]}")
    for recorder in recorders:
        recorder.start(model, inputs)
    for step in range(steps + 1):
        optimizer.zero_grad()
        loss = loss_fn(model(inputs), targets)
        value = float(loss.item()) if loss.ndim == 0 else np.array(loss.data, dtype=np.float64)
        if not np.all(np.isfinite(value)):
            raise FloatingPointError(f"full_batch_gd: the loss became {value} at step {step}; lower lr ({lr})")
        (loss if loss.ndim == 0 else loss.sum()).backward()
        if step % record_every == 0 or step == steps:
            history.steps.append(step)
            history.losses.append(value)
            for recorder in recorders:
                history.records[recorder.name].append(recorder(model, value))
            if callback is not None:
                callback(step, model)
        if step < steps:
            optimizer.step()
    return history
