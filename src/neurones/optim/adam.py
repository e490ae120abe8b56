"""Adam and AdamW: steps from bias-corrected running moments of the gradient, with coupled or decoupled decay."""

from __future__ import annotations

import math

import numpy as np

from neurones.optim.optimizer import Optimizer, check_learning_rate, coupled_gradient, lerp_


class Adam(Optimizer):
    r"""Adam (Kingma & Ba, 2015), as PyTorch's ``torch.optim.Adam``.

    With learning rate γ, betas (β₁, β₂), ε, weight decay λ, at step t ≥ 1 (m₀ = v₀ = v̂₀^max = 0)::

        g_t ← ∇_θ f_t(θ_{t−1})                    (−∇ if maximize)
        if λ ≠ 0:   θ_{t−1} ← θ_{t−1}(1 − γλ)      if decoupled_weight_decay   (AdamW)
                    g_t ← g_t + λ θ_{t−1}           otherwise                   (L2 penalty in the gradient)
        m_t ← β₁ m_{t−1} + (1 − β₁) g_t
        v_t ← β₂ v_{t−1} + (1 − β₂) g_t²
        if amsgrad:  v_t^max ← max(v_{t−1}^max, v_t) and v_t^max replaces v_t below
        θ_t ← θ_{t−1} − (γ / (1 − β₁ᵗ)) m_t / (√v_t / √(1 − β₂ᵗ) + ε)

    The factors 1/(1 − βᵗ) undo the bias of moments started at zero. State: ``step``, ``exp_avg`` = m_t,
    ``exp_avg_sq`` = v_t, and ``max_exp_avg_sq`` = v_t^max if amsgrad.
    """

    def __init__(
        self,
        params,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
        decoupled_weight_decay: bool = False,
    ) -> None:
        check_learning_rate(type(self).__name__, lr)
        if eps < 0.0:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if len(betas) != 2:
            raise ValueError(f"betas must be a pair (beta1, beta2), got {betas}")
        for index, beta in enumerate(betas):
            if not 0.0 <= beta < 1.0:
                raise ValueError(f"Invalid beta parameter at index {index}: {beta} (must lie in [0, 1))")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = dict(
            lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay, amsgrad=amsgrad, maximize=maximize,
            decoupled_weight_decay=decoupled_weight_decay,
        )  # fmt: skip
        super().__init__(params, defaults)

    def _update(self, param, grad, state, group) -> None:
        lr, weight_decay = group["lr"], group["weight_decay"]
        if group["decoupled_weight_decay"]:
            g = np.negative(grad) if group["maximize"] else grad
            if weight_decay != 0:
                param *= 1 - lr * weight_decay
        else:
            g = coupled_gradient(param, grad, weight_decay, group["maximize"])
        if not state:
            state["step"] = 0
            state["exp_avg"] = np.zeros_like(param)
            state["exp_avg_sq"] = np.zeros_like(param)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = np.zeros_like(param)
        state["step"] += 1
        step = state["step"]
        beta1, beta2 = group["betas"]
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        scratch = np.empty_like(param)
        lerp_(exp_avg, g, 1 - beta1, scratch)
        np.multiply(g, g, out=scratch)
        scratch *= 1 - beta2
        exp_avg_sq *= beta2
        exp_avg_sq += scratch
        if group["amsgrad"]:
            second_moment = state["max_exp_avg_sq"]
            np.maximum(second_moment, exp_avg_sq, out=second_moment)
        else:
            second_moment = exp_avg_sq
        step_size = lr / (1 - beta1**step)
        denom = np.sqrt(second_moment, out=scratch)
        denom /= math.sqrt(1 - beta2**step)
        denom += group["eps"]
        update = np.divide(exp_avg, denom, out=scratch)
        update *= -step_size
        param += update


class AdamW(Adam):
    r"""Adam with decoupled weight decay (Loshchilov & Hutter, 2019), as PyTorch's ``torch.optim.AdamW``.

    The decay shrinks the parameters directly, θ ← θ(1 − γλ), before the Adam step, instead of adding λθ to the
    gradient (where the adaptive denominator would rescale it coordinate by coordinate); see :class:`Adam` for
    the full rule. Default λ = 1e-2.
    """

    def __init__(
        self,
        params,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize, decoupled_weight_decay=True)
