"""Hidden states and their gradients along a residual network ("Facteur de régulation des ResNets profonds").

For a ResNet h_{k+1} = h_k + α_L V_{k+1} g(h_k, θ_{k+1}) and a loss L, Shen & Vin follow

* ‖h_L − h_0‖ / ‖h_0‖ (§2.2): ≪ 1 means the network acts as the identity, ≫ 1 that the hidden states explode;
* ‖p_0 − p_L‖ / ‖p_L‖ with p_k = ∂L/∂h_k (§2.3), the same question for the backward pass.

:func:`residual_trajectory` measures both for each example of a batch, with the loss ⟨u, h_L⟩ (summed over the
batch) for a cotangent u: with u ~ N(0, I) drawn independently of the network, p_L = u satisfies Hypothesis 3.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neurones.autodiff.tensor import Tensor


@dataclass(frozen=True)
class ResidualTrajectory:
    """Per-example norms along the depth: arrays of shape (L + 1, N) for the states and their gradients."""

    state_norms: np.ndarray
    gradient_norms: np.ndarray
    state_ratio: np.ndarray  # ‖h_L − h_0‖ / ‖h_0‖ per example, shape (N,)
    gradient_ratio: np.ndarray  # ‖p_0 − p_L‖ / ‖p_L‖ per example, shape (N,)


def residual_trajectory(net, x: Tensor, cotangent: np.ndarray) -> ResidualTrajectory:
    """Run ``net(x, return_states=True)``, backpropagate ``cotangent`` from h_L, and measure the ratios.

    ``net`` is any module whose forward accepts ``return_states=True`` and returns ``(output, [h_0..h_L])``
    (such as :class:`~neurones.nn.ScaledResNet`); ``cotangent`` has the shape of h_L, i.e. (N, d).
    """
    _, states = net(x, return_states=True)
    for h in states:
        h.retain_grad()
    last = states[-1]
    if cotangent.shape != last.shape:
        raise ValueError(f"residual_trajectory: cotangent has shape {cotangent.shape}, h_L has shape {last.shape}")
    last.backward(cotangent)
    h = np.stack([s.data for s in states]).astype(np.float64)
    p = np.stack([s.grad.data for s in states]).astype(np.float64)
    h0, hL, p0, pL = h[0], h[-1], p[0], p[-1]
    return ResidualTrajectory(
        state_norms=np.linalg.norm(h, axis=2),
        gradient_norms=np.linalg.norm(p, axis=2),
        state_ratio=np.linalg.norm(hL - h0, axis=1) / np.linalg.norm(h0, axis=1),
        gradient_ratio=np.linalg.norm(p0 - pL, axis=1) / np.linalg.norm(pL, axis=1),
    )
