r"""Depth is exponentially more efficient for products ("Théorie de l'Apprentissage par Réseaux de Neurones", §3,
Théorème 2; Rolnick & Tegmark 2018).

The seed states that a deep network computes the monomial x₁⋯x_n with O(n) neurons while a network with one hidden
layer needs of the order of 2ⁿ (its part (ii) is written as an equality; Rolnick & Tegmark prove an upper bound
for the deep construction, so the claim tests "≤"). The deep construction multiplies with four neurons,

    xy ≈ [σ(λ(x+y)) + σ(−λ(x+y)) − σ(λ(x−y)) − σ(−λ(x−y))] / (4λ²σ″(0)),

and a binary tree of these gates (:mod:`neurones.analysis.approximation`). Claims:

- ``000.rolnick.gate``: the gate's sup error on [−1, 1]² falls like λ² (slope in [1.9, 2.1] over λ from 0.4 to
  0.025; softplus, whose error is exactly −λ²xy(x² + y²)/12 + O(λ⁴));
- ``000.rolnick.deep-count``: the product tree computes x₁⋯x_n to ≤ 1e-3 (sup over 10⁴ random points of
  [−1, 1]ⁿ) with ≤ 4n neurons, for n = 2…``max_n`` (λ = 0.02; the counts are in the table);
- ``000.rolnick.shallow-exponential``: networks with one hidden layer of softplus units, trained (Adam, full
  batch, cosine schedule, several restarts) on the normalized product 3^{n/2} x₁⋯x_n, need a minimal width m*(n)
  that grows like 2ⁿ to reach a relative test error of ``target_error``: slope of log₂ m*(n) against n in
  [0.7, 1.3] for n = 2…6, fitted over the n whose target was reached within the width grid (the others are
  reported as lower bounds, m*(n) > the largest width; with fewer than three reached, the claim fails).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

import neurones as nr
from neurones import nn, optim
from neurones.analysis.approximation import multiplication_gate, product_tree
from neurones.lab.claims import at_most, band
from neurones.lab.config import scales
from neurones.lab.registry import experiment
from neurones.lab.result import Result
from neurones.lab.statistics import loglog_slope
from neurones.lab.sweep import sweep

SOURCE = "merad-2020, §3, Théorème 2 (Rolnick & Tegmark 2018)"
GATE_SCALES = (0.4, 0.2, 0.1, 0.05, 0.025)
TREE_SCALE = 0.02
TREE_TOLERANCE = 1e-3


@scales(quick=dict(max_n=5, widths=(2, 4, 8, 16, 32, 64), restarts=2, steps=1200, samples=2048),
        smoke=dict(max_n=3, widths=(2, 4, 8), restarts=1, steps=100, samples=512))
@dataclass(frozen=True)
class DepthEfficiencyConfig:
    max_n: int = 6
    widths: tuple[int, ...] = (2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256)
    restarts: int = 4
    steps: int = 4000
    target_error: float = 0.25
    samples: int = 4096  # training points, and as many fresh test points

    def __post_init__(self) -> None:
        if self.max_n < 3 or min(self.widths) < 1 or self.restarts < 1 or self.steps < 1 or self.samples < 2:
            raise ValueError("max_n ≥ 3, widths ≥ 1, restarts ≥ 1, steps ≥ 1 and samples ≥ 2 are required")
        if not 0 < self.target_error < 1:
            raise ValueError("target_error must lie in (0, 1)")


def _shallow(point: Mapping[str, Any], rng: np.random.Generator) -> dict[str, Any]:
    """Train one hidden layer of softplus units on 3^{n/2} x₁⋯x_n; the relative RMS error on fresh points."""
    n, width = point["n"], point["width"]
    scale = 3 ** (n / 2)  # Var(x₁⋯x_n) = 3⁻ⁿ for uniform inputs: the target has unit variance
    x, x_test = rng.uniform(-1, 1, (point["samples"], n)), rng.uniform(-1, 1, (point["samples"], n))
    y, y_test = scale * x.prod(axis=1, keepdims=True), scale * x_test.prod(axis=1, keepdims=True)
    net = nn.Sequential(nn.Linear(n, width, rng=rng), nn.Softplus(), nn.Linear(width, 1, rng=rng)).double()
    optimizer = optim.Adam(net.parameters(), lr=1e-2)
    schedule = optim.lr_scheduler.CosineAnnealingLR(optimizer, point["steps"])
    inputs, targets = nr.tensor(x), nr.tensor(y)
    for _ in range(point["steps"]):
        optimizer.zero_grad()
        ((net(inputs) - targets) ** 2).mean().backward()
        optimizer.step()
        schedule.step()
    error = np.sqrt(np.mean((net(nr.tensor(x_test)).data - y_test) ** 2)) / y_test.std()
    return {"n": n, "width": width, "relative_error": float(error)}


def minimal_width(errors: dict[int, float], target: float) -> int | None:
    """The smallest width whose best restart reaches the target, or None if none did."""
    return next((width for width in sorted(errors) if errors[width] <= target), None)


@experiment(
    "depth-efficiency",
    config=DepthEfficiencyConfig,
    title="Products need O(n) neurons in depth and about 2ⁿ in one hidden layer",
    source=SOURCE,
)
def run(config: DepthEfficiencyConfig, rng: np.random.Generator) -> Result:
    result = Result(config)
    grid = np.linspace(-1, 1, 201)
    xy = np.array(np.meshgrid(grid, grid)).reshape(2, -1).T
    gate_errors = [float(np.max(np.abs(multiplication_gate("softplus", lam)(nr.tensor(xy)).data[:, 0]
                                       - xy.prod(axis=1)))) for lam in GATE_SCALES]
    slope, stderr = loglog_slope(GATE_SCALES, gate_errors)
    result.claim(band(
        "000.rolnick.gate",
        "Four softplus neurons multiply: the gate's sup error on [−1, 1]² falls like λ² (its leading term is "
        f"−λ²xy(x² + y²)/12): slope in [1.9, 2.1] over λ = {GATE_SCALES[0]}…{GATE_SCALES[-1]}.",
        SOURCE,
        low=1.9, high=2.1, measured=slope, stderr=stderr,
    ))
    ns = list(range(2, config.max_n + 1))
    tree_rows = []
    for n in ns:
        tree = product_tree(n, "softplus", TREE_SCALE)
        x = rng.uniform(-1, 1, (10_000, n))
        error = float(np.max(np.abs(tree(nr.tensor(x)).data[:, 0] - x.prod(axis=1))))
        tree_rows.append({"n": n, "neurons": tree.neurons, "bound_4n": 4 * n, "sup_error": error})
    within = all(row["neurons"] <= 4 * row["n"] for row in tree_rows)
    result.claim(at_most(
        "000.rolnick.deep-count",
        f"A binary tree of multiplication gates (λ = {TREE_SCALE}) computes x₁⋯x_n on [−1, 1]ⁿ to ≤ "
        f"{TREE_TOLERANCE:g} for n = 2…{config.max_n} with neurons ≤ 4n at every n "
        f"({'true' if within else 'FALSE'}: {', '.join(str(r['neurons']) for r in tree_rows)}); measured: the "
        f"largest sup error over n{'' if within else ' (set to ∞: a count exceeds 4n)'}.",
        SOURCE,
        high=TREE_TOLERANCE, measured=max(r["sup_error"] for r in tree_rows) if within else float("inf"), stderr=0.0,
    ))
    points = [{"n": n, "width": w, "steps": config.steps, "samples": config.samples} for n in ns
              for w in config.widths for _ in range(config.restarts)]
    trained = sweep(_shallow, points, rng, desc="shallow networks")
    rows, minima = [], []
    for n in ns:
        best = {w: min(t["relative_error"] for t in trained if t["n"] == n and t["width"] == w)
                for w in config.widths}
        width = minimal_width(best, config.target_error)
        minima.append(width)
        rows += [{"n": n, "width": w, "best_relative_error": e, "minimal": w == width} for w, e in best.items()]
    reached = [(n, m) for n, m in zip(ns, minima) if m is not None]
    if len(reached) >= 3:
        slope, stderr = loglog_slope([2.0**n for n, _ in reached], [m for _, m in reached])
    else:
        slope, stderr = float("nan"), float("nan")
    unreached = [n for n, m in zip(ns, minima) if m is None]
    result.claim(band(
        "000.rolnick.shallow-exponential",
        f"One hidden layer of softplus units, trained ({config.steps} Adam steps with a cosine schedule, best of "
        f"{config.restarts} restarts), needs a minimal width m*(n) growing like 2ⁿ to reach a relative test error "
        f"≤ {config.target_error:g} on the normalized product: slope of log₂ m*(n) against n in [0.7, 1.3], "
        f"against the tree's ≤ 4n. Minimal widths {dict(reached)}"
        + (f"; not reached within width {max(config.widths)} for n = {unreached} (left out of the fit)"
           if unreached else "") + ".",
        SOURCE,
        low=0.7, high=1.3, measured=slope, stderr=stderr,
    ))
    result.table("gate", [{"lambda": lam, "sup_error": e} for lam, e in zip(GATE_SCALES, gate_errors)])
    result.table("tree", tree_rows)
    result.table("shallow", rows)
    result.table("minimal_widths", [
        {"n": n, "minimal_width": m if m is not None else f"> {max(config.widths)}", "tree_neurons": t["neurons"]}
        for n, m, t in zip(ns, minima, tree_rows)
    ])
    _figures(result, config, gate_errors, ns, minima, tree_rows, trained)
    return result


def _figures(result, config, gate_errors, ns, minima, tree_rows, trained) -> None:
    fig = result.figure("gate-error", "Sup error of the four-neuron multiplication gate against λ (slope 2 dashed).")
    ax = fig.subplots()
    ax.plot(GATE_SCALES, gate_errors, marker="o", label="softplus gate")
    ax.plot(GATE_SCALES, gate_errors[0] * (np.array(GATE_SCALES) / GATE_SCALES[0]) ** 2, "k--", label="λ²")
    ax.set(xscale="log", yscale="log", xlabel="λ", ylabel="sup |gate(x, y) − xy|")
    ax.legend()
    fig = result.figure(
        "minimal-width",
        f"Neurons needed for the product x₁⋯x_n: the deep tree's count (≤ 4n) against the minimal width of a trained "
        f"shallow network reaching relative error {config.target_error:g} (open markers: not reached in the grid, "
        "drawn at twice its largest width), with 2ⁿ (dashed).",
    )
    ax = fig.subplots()
    ax.plot(ns, [r["neurons"] for r in tree_rows], marker="s", label="deep tree")
    shown = [m if m is not None else 2 * max(config.widths) for m in minima]
    ax.plot(ns, shown, color="C1", label="shallow, trained")
    ax.scatter([n for n, m in zip(ns, minima) if m is not None], [m for m in minima if m is not None], color="C1")
    ax.scatter([n for n, m in zip(ns, minima) if m is None], [s for s, m in zip(shown, minima) if m is None],
               facecolors="none", edgecolors="C1")
    ax.plot(ns, [2.0**n for n in ns], "k--", label="2ⁿ")
    ax.set(yscale="log", xlabel="n", ylabel="neurons")
    ax.legend()
    fig = result.figure("shallow-errors", "Best relative test error of shallow networks against width, per n.")
    ax = fig.subplots()
    for n in ns:
        widths = list(config.widths)
        best = [min(t["relative_error"] for t in trained if t["n"] == n and t["width"] == w) for w in widths]
        ax.plot(widths, best, marker="o", label=f"n = {n}")
    ax.axhline(config.target_error, color="#555555", linestyle="--")
    ax.set(xscale="log", yscale="log", xlabel="width", ylabel="relative RMS error")
    ax.legend()
