r"""One hidden layer of ReLU units represents every continuous piecewise-affine function exactly ("Mise en œuvre de
Neurones", §IV, Théorème: a function with at most m − 2 pieces on (−M, M) needs at most m neurons).

The notes' construction (:func:`~neurones.analysis.approximation.relu_interpolant`) writes the function as
f(−M) + s₁(x + M)₊ + Σ_k (s_{k+1} − s_k)(x − a_k)₊, and makes the constant from two units,
(x + M)₊ + (−x + M)₊ = 2M on [−M, M]. Claims, in float64:

- ``001.piecewise-exact[p]``: random continuous piecewise-affine functions with p ∈ {2, 5, 10, 50} pieces (knots
  on a jittered uniform grid of [−M, M], values N(0, 1)) are reproduced by the network with p + 1 ≤ p + 2 neurons,
  max error on a fine grid and at the knots ≤ 1e-12 over the draws;
- ``001.constant-identity``: (x + M)₊ + (−x + M)₊ − 2M vanishes on [−M, M] (max ≤ 1e-12; outside, it grows like
  2(|x| − M), drawn in the figure);
- ``001.interpolation-rate``: for a C² target (sin 3x + x²) the interpolant on m − 2 equal pieces has sup error
  ≤ h² max|f″|/8 (h = 2M/(m − 2)), so it converges like m⁻²: slope in [−2.1, −1.9] over m from 8 to 1024.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

import neurones as nr
from neurones.analysis.approximation import piecewise_affine, relu_interpolant
from neurones.lab.claims import at_most, band
from neurones.lab.config import scales
from neurones.lab.registry import experiment
from neurones.lab.result import Result
from neurones.lab.statistics import loglog_slope
from neurones.lab.sweep import sweep

SOURCE = "neurons-lecture-notes, §IV, Approximation universelle"
BOUND = 2.0  # M
EXACT = 1e-12


@scales(quick=dict(draws=20), smoke=dict(draws=2, pieces=(2, 5), neurons=(8, 16, 32), grid=2001))
@dataclass(frozen=True)
class InterpolationConfig:
    pieces: tuple[int, ...] = (2, 5, 10, 50)
    draws: int = 100
    neurons: tuple[int, ...] = (8, 16, 32, 64, 128, 256, 512, 1024)
    grid: int = 100_001

    def __post_init__(self) -> None:
        if min(self.pieces) < 1 or self.draws < 1 or min(self.neurons) < 3 or len(self.neurons) < 3:
            raise ValueError("pieces ≥ 1, draws ≥ 1 and ≥ 3 neuron counts ≥ 3 are required")
        if self.grid < 3:
            raise ValueError("grid must have ≥ 3 points")


def _target(x: np.ndarray) -> np.ndarray:
    return np.sin(3 * x) + x**2


TARGET_CURVATURE = 9.0 + 2.0  # max |f″| ≤ 9 + 2 for f = sin 3x + x²


def _random_knots(pieces: int, rng: np.random.Generator) -> np.ndarray:
    """−M, M and p − 1 interior knots: a uniform grid, each interior knot moved by up to ±¼ of the spacing."""
    grid = np.linspace(-BOUND, BOUND, pieces + 1)
    spacing = 2 * BOUND / pieces
    grid[1:-1] += rng.uniform(-0.25, 0.25, pieces - 1) * spacing
    return grid


def _exactness(point: Mapping[str, Any], rng: np.random.Generator) -> dict[str, Any]:
    errors, neurons = [], []
    x = np.linspace(-BOUND, BOUND, point["grid"])
    for _ in range(point["draws"]):
        knots = _random_knots(point["pieces"], rng)
        values = rng.standard_normal(knots.size)
        net = relu_interpolant(knots, values)
        points = np.concatenate([x, knots])
        output = net(nr.tensor(points[:, None])).data[:, 0]
        errors.append(float(np.max(np.abs(output - piecewise_affine(knots, values)(points)))))
        neurons.append(net[0].out_features)
    return {"pieces": point["pieces"], "max_error": max(errors), "neurons": max(neurons)}


@experiment(
    "relu-interpolation",
    config=InterpolationConfig,
    title="One hidden ReLU layer represents piecewise-affine functions exactly, and interpolates at rate m⁻²",
    source=SOURCE,
)
def run(config: InterpolationConfig, rng: np.random.Generator) -> Result:
    result = Result(config)
    points = [{"pieces": p, "draws": config.draws, "grid": config.grid} for p in config.pieces]
    outcomes = sweep(_exactness, points, rng, desc="piecewise-affine functions")
    for outcome in outcomes:
        p = outcome["pieces"]
        result.claim(at_most(
            f"001.piecewise-exact[p={p}]",
            f"A random continuous piecewise-affine function with {p} pieces on [−{BOUND:g}, {BOUND:g}] is computed "
            f"exactly by one hidden layer of {outcome['neurons']} ≤ p + 2 ReLU units (the notes' construction): "
            f"max |network − f| over {config.grid} grid points and the knots, worst of {config.draws} functions, "
            f"≤ {EXACT:g} in float64.",
            SOURCE,
            high=EXACT, measured=outcome["max_error"], stderr=0.0,
        ))
    x = np.linspace(-BOUND, BOUND, config.grid)
    identity = np.maximum(x + BOUND, 0) + np.maximum(-x + BOUND, 0) - 2 * BOUND
    result.claim(at_most(
        "001.constant-identity",
        f"$(x + M)_+ + (-x + M)_+ = 2M$ on $[-M, M]$ (M = {BOUND:g}): max deviation over {config.grid} points "
        f"≤ {EXACT:g}; the constant of every interpolant is made of these two units.",
        SOURCE,
        high=EXACT, measured=float(np.max(np.abs(identity))), stderr=0.0,
    ))
    errors = []
    fine = np.linspace(-BOUND, BOUND, config.grid)
    for m in config.neurons:
        knots = np.linspace(-BOUND, BOUND, m - 1)  # m − 2 pieces
        net = relu_interpolant(knots, _target(knots))
        errors.append(float(np.max(np.abs(net(nr.tensor(fine[:, None])).data[:, 0] - _target(fine)))))
    slope, stderr = loglog_slope(config.neurons, errors)
    bounds = [(2 * BOUND / (m - 2)) ** 2 * TARGET_CURVATURE / 8 for m in config.neurons]
    result.claim(band(
        "001.interpolation-rate",
        f"Interpolating the C² target sin 3x + x² on m − 2 equal pieces with m ReLU units gives a sup error "
        f"$\\leq h^2 \\max|f''|/8$ with $h = 2M/(m-2)$: it converges like $m^{{-2}}$ (slope in [−2.1, −1.9] over "
        f"m = {config.neurons[0]}…{config.neurons[-1]}; the error stays below the bound at every m: "
        f"{all(e <= b for e, b in zip(errors, bounds))}).",
        SOURCE,
        low=-2.1, high=-1.9, measured=slope, stderr=stderr,
    ))
    result.table("exactness", outcomes)
    result.table("interpolation_rate", [{"neurons": m, "pieces": m - 2, "sup_error": e, "bound": b}
                                        for m, e, b in zip(config.neurons, errors, bounds)])
    _figures(result, config, errors, bounds, rng)
    return result


def _figures(result, config, errors, bounds, rng) -> None:
    knots = _random_knots(5, rng)
    values = rng.standard_normal(knots.size)
    net = relu_interpolant(knots, values)
    x = np.linspace(-BOUND - 0.5, BOUND + 0.5, 1001)
    hidden = np.maximum(x[:, None] * net[0].weight.data[:, 0] + net[0].bias.data, 0) * net[2].weight.data[0]
    fig = result.figure(
        "interpolant-and-pieces",
        "A random piecewise-affine function with 5 pieces (dots: its knots), the network's output (black), and the "
        "contribution η_j(w_j x + b_j)₊ of each of its 6 units (colours); outside [−M, M] the constant's two units "
        "no longer add up to 2M.",
    )
    ax = fig.subplots()
    for j in range(hidden.shape[1]):
        ax.plot(x, hidden[:, j], linewidth=1, alpha=0.7)
    ax.plot(x, hidden.sum(axis=1), color="black", linewidth=2, label="network")
    ax.plot(knots, values, "o", color="black", label="knots")
    ax.axvspan(-BOUND, BOUND, color="#eeeeee", zorder=0)
    ax.set(xlabel="x", ylabel="f(x)")
    ax.legend()
    fig = result.figure(
        "interpolation-rate",
        "Sup error of the ReLU interpolant of sin 3x + x² with m units (m − 2 equal pieces), and the bound "
        "h² max|f″|/8 (dashed): both fall like m⁻².",
    )
    ax = fig.subplots()
    ax.plot(config.neurons, errors, marker="o", label="sup error")
    ax.plot(config.neurons, bounds, linestyle="--", label="h² max|f″|/8")
    ax.set(xscale="log", yscale="log", xlabel="neurons m", ylabel="sup |f − network|")
    ax.legend()
