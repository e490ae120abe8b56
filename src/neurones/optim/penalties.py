"""Penalties Ω(θ), the regularization term of the training objective F(θ) = (1/n) Σᵢ ℓ(yᵢ, f_θ(xᵢ)) + Ω(θ).

Every penalty is a differentiable function of tensors, built from the ops (so ``Ω.backward()`` adds ∇Ω to the
parameters' gradients, and Ω can be added to a loss). Besides the usual ℓ2 and ℓ1 penalties, this module holds
the homogeneous penalty of "Mise en œuvre de Neurones", §II, for a network with one hidden ReLU layer

    f(x) = Σ_{j=1}^m η_j (w_jᵀx + b_j)₊,      η ∈ ℝ^m (output weights), W ∈ ℝ^{m×d} (rows w_j), b ∈ ℝ^m.

**Homogeneity (§II.1).** (·)₊ is positively homogeneous, (αz)₊ = α(z)₊ for α > 0, so for any α_j > 0 the
rescaling η_j ← α_j η_j, w_j ← w_j/α_j, b_j ← b_j/α_j leaves f unchanged (:func:`rescale_hidden_units`): many
parameters give the same function.

**Regularization (§II.2).** The weight-decay penalty Σ_j λη_j² + ‖w_j‖² + b_j²/M² (:func:`weight_decay_penalty`;
M bounds the inputs, ‖x‖ ≤ M, so that b_j/M has the scale of w_jᵀx) is not invariant under rescaling: it depends
on which of the equivalent parametrizations is used. Its smallest value over the rescalings of unit j is, with
c_j = ‖w_j‖² + b_j²/M²,

    min_{α>0}  λα²η_j² + c_j/α²:   the derivative 2λαη_j² − 2c_j/α³ vanishes at α⁴ = c_j/(λη_j²),
                                   where both terms equal √λ |η_j| √c_j, so the minimum is 2√λ |η_j| √c_j.

So penalizing with weight decay and optimizing freely amounts to penalizing with the rescaling-invariant

    Ω(η, W, b) = Σ_j 2√λ |η_j| (‖w_j‖² + b_j²/M²)^{1/2}       (:func:`homogeneous_penalty`),

an ℓ1 penalty on η once every hidden unit is normalized to ‖w_j‖² + b_j²/M² = 1.
"""

from __future__ import annotations

import math

import numpy as np

from neurones.autodiff.tensor import Tensor
from neurones.errors import ShapeError
from neurones.ops.arithmetic import where


def _tensors(params, op: str) -> list[Tensor]:
    tensors = [params] if isinstance(params, Tensor) else list(params)
    if not tensors:
        raise ValueError(f"{op}: got no tensors")
    return tensors


def _total(terms: list[Tensor]) -> Tensor:
    total = terms[0]
    for term in terms[1:]:
        total = total + term
    return total


def l2_penalty(params) -> Tensor:
    """Ω(θ) = Σ_θ ‖θ‖² = Σ_θ Σᵢ θᵢ², over a tensor or an iterable of tensors;  ∇_θ Ω = 2θ.

    Adding (λ/2)·Ω to the loss is what ``weight_decay=λ`` does inside SGD's update.
    """
    return _total([(p * p).sum() for p in _tensors(params, "l2_penalty")])


def l1_penalty(params) -> Tensor:
    """Ω(θ) = Σ_θ Σᵢ |θᵢ|;  ∇_θ Ω = sign(θ), with the subgradient 0 at θᵢ = 0."""
    return _total([p.abs().sum() for p in _tensors(params, "l1_penalty")])


def _check_hidden_layer(op: str, eta: Tensor, W: Tensor, b: Tensor) -> None:
    if W.ndim != 2 or eta.shape != (W.shape[0],) or b.shape != (W.shape[0],):
        raise ShapeError(
            f"{op}: expected eta (m,), W (m, d) and b (m,) for m hidden units, got eta {eta.shape}, W {W.shape} "
            f"and b {b.shape}"
        )


def _check_scales(op: str, M: float, lam: float) -> None:
    if not M > 0:
        raise ValueError(f"{op}: the input bound M must be positive, got {M}")
    if not lam >= 0:
        raise ValueError(f"{op}: lam must be non-negative, got {lam}")


def weight_decay_penalty(eta: Tensor, W: Tensor, b: Tensor, M: float, lam: float = 1.0) -> Tensor:
    """Ω = Σ_j λη_j² + ‖w_j‖² + b_j²/M² (§II.2): weight decay on a one-hidden-layer ReLU network.

    ∂Ω/∂η_j = 2λη_j,  ∂Ω/∂w_j = 2w_j,  ∂Ω/∂b_j = 2b_j/M². It changes under :func:`rescale_hidden_units` although
    the network does not; its minimum over the rescalings is :func:`homogeneous_penalty`.
    """
    _check_hidden_layer("weight_decay_penalty", eta, W, b)
    _check_scales("weight_decay_penalty", M, lam)
    return (eta * eta).sum() * float(lam) + (W * W).sum() + (b * b).sum() / float(M) ** 2


def rescale_hidden_units(eta: Tensor, W: Tensor, b: Tensor, alpha) -> tuple[Tensor, Tensor, Tensor]:
    """(η_j α_j, w_j / α_j, b_j / α_j) for α_j > 0 (§II.1): the network Σ_j η_j (w_jᵀx + b_j)₊ is unchanged.

    ``alpha`` (m,) is a tensor (differentiable) or array-like of positive scales, one per hidden unit.
    """
    _check_hidden_layer("rescale_hidden_units", eta, W, b)
    if not isinstance(alpha, Tensor):
        alpha = Tensor(np.asarray(alpha, dtype=eta.dtype))
    if alpha.shape != eta.shape:
        raise ShapeError(f"rescale_hidden_units: alpha must have shape {eta.shape} (one per unit), got {alpha.shape}")
    if not np.all(alpha.data > 0):
        raise ValueError("rescale_hidden_units: every alpha_j must be positive (ReLU is only positively homogeneous)")
    return eta * alpha, W / alpha.reshape(-1, 1), b / alpha


def homogeneous_penalty(eta: Tensor, W: Tensor, b: Tensor, M: float, lam: float = 1.0) -> Tensor:
    """Ω = Σ_j 2√λ |η_j| (‖w_j‖² + b_j²/M²)^{1/2} (§II.2): invariant under :func:`rescale_hidden_units`.

    It is the minimum of :func:`weight_decay_penalty` over the rescalings α_j > 0 (derivation in the module
    docstring). With r_j = (‖w_j‖² + b_j²/M²)^{1/2}: ∂Ω/∂η_j = 2√λ sign(η_j) r_j, ∂Ω/∂w_j = 2√λ |η_j| w_j / r_j,
    ∂Ω/∂b_j = 2√λ |η_j| b_j / (M² r_j). Conventions at the kinks: sign(0) = 0, and at a dead unit (r_j = 0) the
    gradient with respect to (w_j, b_j) is 0, the subgradient of smallest norm.
    """
    _check_hidden_layer("homogeneous_penalty", eta, W, b)
    _check_scales("homogeneous_penalty", M, lam)
    squared_norms = (W * W).sum(dim=1) + (b * b) / float(M) ** 2
    alive = squared_norms.data > 0
    # √ has an infinite slope at 0: route dead units through √1 (then zero them), so their gradient is 0, not NaN.
    norms = where(alive, where(alive, squared_norms, 1.0).sqrt(), 0.0)
    return (eta.abs() * norms).sum() * (2.0 * math.sqrt(lam))
