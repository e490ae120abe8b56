"""Adagrad: per-coordinate steps scaled by the root of the accumulated squared gradients."""

from __future__ import annotations

import numpy as np

from neurones.optim.optimizer import Optimizer, check_learning_rate, coupled_gradient


class Adagrad(Optimizer):
    r"""Adagrad (Duchi, Hazan & Singer, 2011), as PyTorch's ``torch.optim.Adagrad``.

    With learning rate γ, decay η, weight decay λ, initial accumulator s₀ = ``initial_accumulator_value``, ε::

        g_t ← ∇_θ f_t(θ_{t−1})                    (−∇ if maximize)
        if λ ≠ 0:   g_t ← g_t + λ θ_{t−1}
        γ̃ ← γ / (1 + (t − 1) η)
        s_t ← s_{t−1} + g_t²
        θ_t ← θ_{t−1} − γ̃ g_t / (√s_t + ε)

    Coordinates that have seen large gradients take small steps: the step size adapts to each coordinate's scale.
    State (created with the group, as in PyTorch): ``step`` and ``sum`` = s_t.
    """

    def __init__(
        self,
        params,
        lr: float = 1e-2,
        lr_decay: float = 0,
        weight_decay: float = 0,
        initial_accumulator_value: float = 0,
        eps: float = 1e-10,
        *,
        maximize: bool = False,
    ) -> None:
        check_learning_rate(type(self).__name__, lr)
        if lr_decay < 0.0:
            raise ValueError(f"Invalid lr_decay value: {lr_decay}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if initial_accumulator_value < 0.0:
            raise ValueError(f"Invalid initial_accumulator_value value: {initial_accumulator_value}")
        if eps < 0.0:
            raise ValueError(f"Invalid epsilon value: {eps}")
        defaults = dict(
            lr=lr, lr_decay=lr_decay, weight_decay=weight_decay, initial_accumulator_value=initial_accumulator_value,
            eps=eps, maximize=maximize,
        )  # fmt: skip
        super().__init__(params, defaults)

    def add_param_group(self, param_group: dict) -> None:
        super().add_param_group(param_group)
        group = self.param_groups[-1]
        for param in group["params"]:
            self.state[param] = {"step": 0, "sum": np.full_like(param.data, group["initial_accumulator_value"])}

    def _update(self, param, grad, state, group) -> None:
        g = coupled_gradient(param, grad, group["weight_decay"], group["maximize"])
        state["step"] += 1
        clr = group["lr"] / (1 + (state["step"] - 1) * group["lr_decay"])
        accumulator = state["sum"]
        scratch = np.multiply(g, g)
        accumulator += scratch
        std = np.sqrt(accumulator, out=scratch)
        std += group["eps"]
        step = np.divide(g, std, out=scratch)
        step *= -clr
        param += step
