"""Full-batch gradient descent as a discretized gradient flow, with the Polyak–Łojasiewicz ratio recorded.

The flow of seed 003 (Marion et al., ICLR 2024) moves the residual weights at rate L,

    ∂Z_k/∂t = −L ∂R/∂Z_k,    Z ∈ {V, W},

which explicit Euler in t with step η discretizes as gradient descent with learning rate η·L on the residual
weights (η on a trainable A or B): :meth:`ODEResNet.gradient_flow_groups`. Step j then sits at flow time t = j·η.
The risk is the mean squared error over all entries, as in the authors' code.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from neurones.nn.ode_resnet import ODEResNet
from neurones.train.full_batch import full_batch_gd
from neurones.train.recorders import PLRatio


@dataclass
class FlowHistory:
    """The recorded steps j, flow times t = j·η, risks R(t) and PL ratios μ_t (before each step's update)."""

    steps: list[int] = field(default_factory=list)
    times: list[float] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)
    pl_ratios: list[float] = field(default_factory=list)

    def as_arrays(self) -> dict[str, np.ndarray]:
        return {name: np.asarray(values) for name, values in vars(self).items()}


def gradient_flow(model: ODEResNet, inputs, targets, lr: float, steps: int, record_every: int = 1,
                  callback: Callable[[int, ODEResNet], None] | None = None) -> FlowHistory:
    """Run ``steps`` steps of full-batch gradient descent on R = mean (F(x) − y)², flow time step ``lr``
    (:func:`~neurones.train.full_batch_gd` with the groups of :meth:`ODEResNet.gradient_flow_groups`).

    Every ``record_every`` steps (and at the last) the risk and μ_t are recorded and ``callback(step, model)`` is
    called before the update, so a callback sees the weights at flow time step·lr. Returns the history; the model
    is trained in place. A risk that stops being finite raises :class:`FloatingPointError` (a step too large).
    """
    if steps < 0 or record_every < 1:
        raise ValueError(f"gradient_flow: steps ≥ 0 and record_every ≥ 1 are required, got {steps}, {record_every}")
    history = full_batch_gd(model, inputs, targets, lr, steps, [PLRatio()], param_groups=model.gradient_flow_groups(lr),
                            record_every=record_every, callback=callback)
    return FlowHistory(steps=history.steps, times=[step * lr for step in history.steps], losses=history.losses,
                       pl_ratios=history.records[PLRatio.name])
