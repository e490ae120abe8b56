"""Stochastic gradient descent, with optional momentum (heavy ball or Nesterov), dampening and weight decay."""

from __future__ import annotations

import numpy as np

from neurones.optim.optimizer import Optimizer, check_learning_rate, coupled_gradient


class SGD(Optimizer):
    r"""Stochastic gradient descent (PyTorch's ``torch.optim.SGD``), the rule of "Mise en œuvre de Neurones" §I.1.

    With learning rate γ, momentum μ, dampening τ, weight decay λ, at step t ≥ 1::

        g_t ← ∇_θ f_t(θ_{t−1})                        (−∇ if maximize)
        if λ ≠ 0:   g_t ← g_t + λ θ_{t−1}
        if μ ≠ 0:   b_t ← g_t                          if t = 1
                    b_t ← μ b_{t−1} + (1 − τ) g_t      if t > 1
                    g_t ← g_t + μ b_t                  if nesterov
                    g_t ← b_t                          otherwise
        θ_t ← θ_{t−1} − γ g_t

    The first momentum buffer is the gradient itself (no dampening), as in PyTorch. Nesterov momentum needs μ > 0
    and τ = 0. State: ``momentum_buffer`` (only when μ ≠ 0).
    """

    def __init__(
        self,
        params,
        lr: float = 1e-3,
        momentum: float = 0,
        dampening: float = 0,
        weight_decay: float = 0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        check_learning_rate(type(self).__name__, lr)
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        defaults = dict(
            lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay, nesterov=nesterov,
            maximize=maximize,
        )  # fmt: skip
        super().__init__(params, defaults)

    def _update(self, param, grad, state, group) -> None:
        g = coupled_gradient(param, grad, group["weight_decay"], group["maximize"])
        owned = g is not grad  # a fresh array we may overwrite, rather than param.grad's own
        momentum = group["momentum"]
        if momentum != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = np.array(g, dtype=param.dtype)
            else:
                buf *= momentum
                dampening = group["dampening"]
                buf += g if dampening == 0 else np.multiply(g, 1 - dampening)
            if group["nesterov"]:
                look_ahead = np.multiply(buf, momentum)
                g, owned = np.add(look_ahead, g, out=look_ahead), True
            else:
                g, owned = buf, False
        if owned:
            param += np.multiply(g, -group["lr"], out=g)
        else:
            param += np.multiply(g, -group["lr"])
