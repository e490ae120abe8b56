"""A fixed, deterministic optimization problem shared by the optimizer tests.

Two parameters (a matrix and a vector) of a quadratic with a time-dependent drift: the gradient of parameter k at
step t is H_k θ_k − c_k + 0.1 cos(t + k), computed in plain NumPy, so that every implementation under test (ours,
the textbook references written in the tests, torch.optim) receives exactly the same gradients.
"""

from __future__ import annotations

import numpy as np

SHAPES = [(3, 4), (5,)]
STEPS = 50


def _problem(seed: int = 7):
    rng = np.random.default_rng(seed)
    hessians, targets, starts = [], [], []
    for shape in SHAPES:
        n = int(np.prod(shape))
        basis = rng.standard_normal((n, n))
        hessians.append(basis @ basis.T / n + 0.5 * np.eye(n))
        targets.append(rng.standard_normal(n))
        starts.append(rng.standard_normal(shape))
    return hessians, targets, starts


HESSIANS, TARGETS, STARTS = _problem()


def gradients(thetas: list[np.ndarray], t: int) -> list[np.ndarray]:
    """The gradients at step t (t = 1, 2, ...) of every parameter, float64, freshly allocated."""
    return [
        (h @ theta.reshape(-1) - c + 0.1 * np.cos(t + k)).reshape(theta.shape)
        for k, (h, c, theta) in enumerate(zip(HESSIANS, TARGETS, thetas))
    ]


def starting_point() -> list[np.ndarray]:
    return [s.copy() for s in STARTS]
