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

import neurones as nr
from neurones.analysis.neural_ode import pl_ratio
from neurones.nn.ode_resnet import ODEResNet
from neurones.ops.losses import mse_loss
from neurones.optim.sgd import SGD


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
    """Run ``steps`` steps of full-batch gradient descent on R = mean (F(x) − y)², flow time step ``lr``.

    Every ``record_every`` steps (and at the last) the risk and μ_t are recorded and ``callback(step, model)`` is
    called before the update, so a callback sees the weights at flow time step·lr. Returns the history; the model
    is trained in place. A risk that stops being finite raises :class:`FloatingPointError` (a step too large).
    """
    if steps < 0 or record_every < 1:
        raise ValueError(f"gradient_flow: steps ≥ 0 and record_every ≥ 1 are required, got {steps}, {record_every}")
    inputs = inputs if isinstance(inputs, nr.Tensor) else nr.tensor(inputs)
    targets = targets if isinstance(targets, nr.Tensor) else nr.tensor(targets)
    optimizer = SGD(model.gradient_flow_groups(lr), lr=lr)
    history = FlowHistory()
    for step in range(steps + 1):
        optimizer.zero_grad()
        risk = mse_loss(model(inputs), targets)
        value = float(risk.item())
        if not np.isfinite(value):
            raise FloatingPointError(f"gradient_flow: the risk became {value} at step {step}; lower lr ({lr})")
        risk.backward()
        if step % record_every == 0 or step == steps:
            history.steps.append(step)
            history.times.append(step * lr)
            history.losses.append(value)
            history.pl_ratios.append(pl_ratio(model, value))
            if callback is not None:
                callback(step, model)
        if step < steps:
            optimizer.step()
    return history
