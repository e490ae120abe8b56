r"""The Rademacher complexity of one-hidden-layer ReLU networks with normalized units, and its bounds ("Mise en
œuvre de Neurones", §III).

The class is 𝓕 = {f(x) = Σ_j η_j (w_jᵀx + b_j)₊ : ‖(w_j, b_j/M)‖ = 1, ‖η‖₁ ≤ D}, for inputs with ‖x‖ ≤ M. Its
empirical Rademacher complexity on x₁, …, x_n, with Rademacher signs εᵢ = ±1 (the notes write N(0, ½); the
symmetrization argument needs signs), is

    R̂_n(𝓕) = E_ε sup_𝓕 (1/n) Σᵢ εᵢ f(xᵢ) = D · E_ε sup_{‖u‖=1} |(1/n) Σᵢ εᵢ (uᵀzᵢ)₊|,   zᵢ = (xᵢ, M),

since (w, b/M)·(x, M) = wᵀx + b and sup_{‖η‖₁≤D} ηᵀg = D‖g‖_∞ over the units. The notes then bound it (their
constraint mixes R and M: with ‖(w, b/M)‖ = 1 the dual norm gives the M below):

    R̂_n ≤ 2D · E_ε √(‖(1/n) Σ εᵢ xᵢ‖² + M² ((1/n) Σ εᵢ)²)        (contraction, duality)
        ≤ 2D · √((1/n²) Σ ‖xᵢ‖² + M²/n) ≤ 2DM√2/√n.                 (Jensen, ‖x‖ ≤ M)

:func:`rademacher_chain` measures the complexity and the intermediate bound on the same sign draws. The inner
supremum over the sphere is computed exactly for one-dimensional inputs (u on a circle: the active set is constant
between the 2n angles where uᵀzᵢ changes sign, and on each arc the sum is a fixed linear form aᵀu, maximized in
closed form) and by multi-start projected ascent above (a lower bound on the supremum, hence on R̂_n).
"""

from __future__ import annotations

import math

import numpy as np

from neurones.analysis.homogeneity import normalize_units
from neurones.nn.containers import Sequential

ASCENT_STARTS = 64
ASCENT_STEPS = 200


def _lifted(x: np.ndarray, bound: float) -> np.ndarray:
    return np.column_stack([x, np.full(x.shape[0], bound)])


def _circle_supremum(z: np.ndarray, signs: np.ndarray) -> float:
    """sup_{‖u‖=1} |(1/n) Σ εᵢ (uᵀzᵢ)₊| for zᵢ ∈ ℝ², exactly: sweep the arcs between the angles φᵢ ± π/2."""
    n = z.shape[0]
    phase = np.arctan2(z[:, 1], z[:, 0])
    weights = signs[:, None] * z / n  # εᵢ zᵢ / n
    # entering the half-plane uᵀzᵢ > 0 at φᵢ − π/2, leaving at φᵢ + π/2 (angles in [0, 2π))
    events = np.concatenate([np.mod(phase - np.pi / 2, 2 * np.pi), np.mod(phase + np.pi / 2, 2 * np.pi)])
    changes = np.concatenate([weights, -weights])
    order = np.argsort(events, kind="stable")
    events, changes = events[order], changes[order]
    start = np.array([1.0, 0.0])  # t = 0
    active = (z @ start) > 0
    a0 = weights[active].sum(axis=0)
    forms = a0 + np.cumsum(changes, axis=0)  # the form on the arc after each event
    forms = np.vstack([a0, forms])  # arcs: [0, e₀), [e₀, e₁), …, [e_last, 2π)
    lows = np.concatenate([[0.0], events])
    highs = np.concatenate([events, [2 * np.pi]])
    best = 0.0
    for side in (1.0, -1.0):
        signed = side * forms
        value_low = signed[:, 0] * np.cos(lows) + signed[:, 1] * np.sin(lows)
        value_high = signed[:, 0] * np.cos(highs) + signed[:, 1] * np.sin(highs)
        peak = np.mod(np.arctan2(signed[:, 1], signed[:, 0]), 2 * np.pi)
        inside = (peak >= lows) & (peak <= highs)
        candidates = np.maximum(value_low, value_high)
        candidates = np.where(inside, np.linalg.norm(signed, axis=1), candidates)
        best = max(best, float(candidates.max()))
    return best


def _ascent_supremum(z: np.ndarray, signs: np.ndarray, rng: np.random.Generator) -> float:
    """A lower bound on sup_{‖u‖=1} |(1/n) Σ εᵢ (uᵀzᵢ)₊| by projected (sub)gradient ascent from many starts."""
    n, dim = z.shape
    starts = np.vstack([rng.standard_normal((ASCENT_STARTS, dim)), z[rng.integers(0, n, ASCENT_STARTS)]])
    best = 0.0
    for side in (1.0, -1.0):
        u = starts / np.linalg.norm(starts, axis=1, keepdims=True)
        for step in range(ASCENT_STEPS):
            active = (u @ z.T) > 0  # (starts, n)
            gradient = side * (active * signs) @ z / n
            u = u + gradient / math.sqrt(step + 1)
            u /= np.linalg.norm(u, axis=1, keepdims=True)
        values = side * (np.maximum(u @ z.T, 0) @ signs) / n
        best = max(best, float(values.max()))
    return best


def rademacher_chain(x, bound: float, radius: float, draws: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """For ``draws`` sign vectors ε: ``complexity`` D·sup_u |(1/n) Σ εᵢ (uᵀzᵢ)₊| and ``intermediate``
    2D·√(‖(1/n) Σ εᵢ xᵢ‖² + M²((1/n) Σ εᵢ)²), per draw (their means are R̂_n and the notes' intermediate bound), and
    ``exact``, whether the supremum was computed exactly (inputs of dimension 1)."""
    x = np.asarray(x, dtype=np.float64)
    x = x[:, None] if x.ndim == 1 else x
    if np.max(np.linalg.norm(x, axis=1)) > bound * (1 + 1e-12):
        raise ValueError(f"rademacher_chain: the inputs must satisfy ‖x‖ ≤ M = {bound}")
    n = x.shape[0]
    z = _lifted(x, bound)
    exact = x.shape[1] == 1
    complexity, intermediate = np.empty(draws), np.empty(draws)
    for k in range(draws):
        signs = rng.choice([-1.0, 1.0], size=n)
        supremum = _circle_supremum(z, signs) if exact else _ascent_supremum(z, signs, rng)
        complexity[k] = radius * supremum
        mean_x, mean_sign = signs @ x / n, signs.mean()
        intermediate[k] = 2 * radius * math.sqrt(float(mean_x @ mean_x) + bound**2 * mean_sign**2)
    return {"complexity": complexity, "intermediate": intermediate, "exact": np.array(exact)}


def final_bound(n: int, bound: float, radius: float, lipschitz: float = 1.0) -> float:
    """2GDM√2/√n: the notes' closed-form bound (G = 1 for the function class itself)."""
    return 2 * lipschitz * radius * bound * math.sqrt(2) / math.sqrt(n)


def project_onto_l1_ball(v, radius: float) -> np.ndarray:
    """The Euclidean projection of v onto {‖v‖₁ ≤ radius} (Duchi, Shalev-Shwartz, Singer & Chandra 2008)."""
    v = np.asarray(v, dtype=np.float64)
    if np.sum(np.abs(v)) <= radius:
        return v.copy()
    magnitudes = np.sort(np.abs(v))[::-1]
    cumulative = np.cumsum(magnitudes) - radius
    index = np.arange(1, v.size + 1)
    last = np.flatnonzero(magnitudes - cumulative / index > 0)[-1]
    threshold = cumulative[last] / (last + 1)
    return np.sign(v) * np.maximum(np.abs(v) - threshold, 0.0)


def project_to_class(network: Sequential, bound: float, radius: float) -> None:
    """In place: each unit onto ‖(w_j, b_j/M)‖ = 1, and η onto the ℓ1 ball of radius D — the projection step of a
    projected gradient method over 𝓕 (network: ``Sequential(Linear(d, m), ReLU(), Linear(m, 1, bias=False))``)."""
    normalize_units(network, bound)
    readout = network[-1]
    readout.weight.data[0] = project_onto_l1_ball(readout.weight.data[0], radius)
