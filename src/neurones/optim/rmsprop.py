"""RMSprop: steps divided by a running root-mean-square of the gradients, optionally centered and with momentum."""

from __future__ import annotations

import numpy as np

from neurones.optim.optimizer import Optimizer, check_learning_rate, coupled_gradient, lerp_


class RMSprop(Optimizer):
    r"""RMSprop (Hinton's lecture notes, 2012), as PyTorch's ``torch.optim.RMSprop``.

    With learning rate γ, smoothing α, ε, weight decay λ, momentum μ, at step t ≥ 1 (v₀ = 0, ḡ₀ = 0, b₀ = 0)::

        g_t ← ∇_θ f_t(θ_{t−1})                    (−∇ if maximize)
        if λ ≠ 0:   g_t ← g_t + λ θ_{t−1}
        v_t ← α v_{t−1} + (1 − α) g_t²
        ṽ_t ← v_t
        if centered:  ḡ_t ← α ḡ_{t−1} + (1 − α) g_t ;   ṽ_t ← ṽ_t − ḡ_t²
        if μ > 0:     b_t ← μ b_{t−1} + g_t / (√ṽ_t + ε) ;   θ_t ← θ_{t−1} − γ b_t
        else:         θ_t ← θ_{t−1} − γ g_t / (√ṽ_t + ε)

    Centering divides by an estimate of the gradient's standard deviation instead of its root mean square.
    State: ``step``, ``square_avg`` = v_t, ``grad_avg`` = ḡ_t (if centered), ``momentum_buffer`` = b_t (if μ > 0).
    """

    def __init__(
        self,
        params,
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0,
        momentum: float = 0,
        centered: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        check_learning_rate(type(self).__name__, lr)
        if eps < 0.0:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if alpha < 0.0:
            raise ValueError(f"Invalid alpha value: {alpha}")
        defaults = dict(
            lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum, centered=centered,
            maximize=maximize,
        )  # fmt: skip
        super().__init__(params, defaults)

    def _update(self, param, grad, state, group) -> None:
        g = coupled_gradient(param, grad, group["weight_decay"], group["maximize"])
        momentum, centered = group["momentum"], group["centered"]
        if not state:
            state["step"] = 0
            state["square_avg"] = np.zeros_like(param)
            if momentum > 0:
                state["momentum_buffer"] = np.zeros_like(param)
            if centered:
                state["grad_avg"] = np.zeros_like(param)
        state["step"] += 1
        alpha = group["alpha"]
        square_avg = state["square_avg"]
        scratch = np.multiply(g, g)
        scratch *= 1 - alpha
        square_avg *= alpha
        square_avg += scratch
        if centered:
            grad_avg = state["grad_avg"]
            lerp_(grad_avg, g, 1 - alpha, scratch)
            np.multiply(grad_avg, grad_avg, out=scratch)
            avg = np.subtract(square_avg, scratch, out=scratch)
            np.sqrt(avg, out=avg)
        else:
            avg = np.sqrt(square_avg, out=scratch)
        avg += group["eps"]
        if momentum > 0:
            buf = state["momentum_buffer"]
            buf *= momentum
            buf += np.divide(g, avg, out=avg)
            param += np.multiply(buf, -group["lr"], out=avg)
        else:
            step = np.divide(g, avg, out=avg)
            step *= -group["lr"]
            param += step
