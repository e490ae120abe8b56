r"""One hidden layer approximates any continuous function if and only if its activation is not a polynomial
("Théorie de l'Apprentissage par Réseaux de Neurones", §3, Théorème 1; Pinkus 1999).

The target is the smooth f(x) = sin 3x + ½ cos 5x on [−1, 1]. A network f̂(x) = Σ_j η_j σ(w_j x + b_j) + c of width
m draws its hidden layer at random (w ~ N(0, 5²), b ~ U(−5, 5)) and fits its readout (η, c) to the best uniform
error on a grid of 4001 points of [−1, 1] (a linear program, :func:`~neurones.analysis.approximation.best_uniform_fit`),
where the error is measured. (Fitting on a coarser grid and measuring on a finer one lets the readout exploit
features that vary between the fitting points: with 256 ReLU units one draw reached an error of 7e5 off the grid.)
The yardstick is the best polynomial of degree 2 (the same linear
program in the Chebyshev basis), the most that σ(z) = z² can ever give: every unit (w x + b)² lies in span{1, x, x²}.

- ``000.pinkus.nonpolynomial[relu|tanh]``: at width 256 the error is at most 5% of the best quadratic's (mean over
  the draws of the hidden layer);
- ``000.pinkus.polynomial-fails``: with σ(z) = z² the error, over every width up to 256 and every draw, is never
  below the best quadratic's (ratio ≥ 1 − 1e-6, the linear program's tolerance).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from neurones.analysis.approximation import best_uniform_fit, best_uniform_polynomial_error
from neurones.lab.claims import at_least, at_most
from neurones.lab.config import scales
from neurones.lab.registry import experiment
from neurones.lab.result import Result
from neurones.lab.statistics import mean_and_stderr
from neurones.lab.sweep import sweep

SOURCE = "merad-2020, §3, Théorème 1 (Pinkus 1999)"
ACTIVATIONS = {"relu": lambda z: np.maximum(z, 0.0), "tanh": np.tanh, "square": np.square}
POINTS = 4001
WEIGHT_STD, BIAS_RANGE = 5.0, 5.0
FRACTION = 0.05
LP_TOLERANCE = 1e-6


def target(x: np.ndarray) -> np.ndarray:
    return np.sin(3 * x) + 0.5 * np.cos(5 * x)


@scales(quick=dict(draws=3), smoke=dict(draws=2, widths=(4, 16, 64)))
@dataclass(frozen=True)
class UniversalConfig:
    widths: tuple[int, ...] = (4, 8, 16, 32, 64, 128, 256)
    draws: int = 10

    def __post_init__(self) -> None:
        if min(self.widths) < 1 or self.draws < 2:
            raise ValueError("widths ≥ 1 and draws ≥ 2 are required")


def _fit(point: Mapping[str, Any], rng: np.random.Generator) -> dict[str, Any]:
    """Random hidden layer and its best uniform readout on the grid.

    Random tanh units are nearly collinear (at width 64 the fit already reaches 1e-9), and the z² units span only
    three functions: the linear program is solved in an orthonormal basis of the features' span on the grid
    (singular values above 1e-13 of the largest), so that it stays well conditioned."""
    activation = ACTIVATIONS[point["activation"]]
    width = point["width"]
    w, b = rng.normal(0.0, WEIGHT_STD, width), rng.uniform(-BIAS_RANGE, BIAS_RANGE, width)
    x = np.linspace(-1, 1, POINTS)
    features = np.column_stack([activation(np.outer(x, w) + b), np.ones_like(x)])
    left, singular, _ = np.linalg.svd(features, full_matrices=False)
    span = left[:, singular > 1e-13 * singular[0]]
    error, _ = best_uniform_fit(span, target(x))
    return {**point, "rank": span.shape[1], "error": error}


@experiment(
    "universal-approximation",
    config=UniversalConfig,
    title="One hidden layer approximates smooth functions unless its activation is a polynomial",
    source=SOURCE,
)
def run(config: UniversalConfig, rng: np.random.Generator) -> Result:
    result = Result(config)
    quadratic = best_uniform_polynomial_error(target, 2, points=POINTS)
    points = [{"activation": a, "width": m} for a in ACTIVATIONS for m in config.widths for _ in range(config.draws)]
    fits = sweep(_fit, points, rng, desc="random hidden layers, best readouts")
    widest = max(config.widths)
    for name in ("relu", "tanh"):
        ratios = [f["error"] / quadratic for f in fits if f["activation"] == name and f["width"] == widest]
        mean, stderr = mean_and_stderr(ratios)
        result.claim(at_most(
            f"000.pinkus.nonpolynomial[{name}]",
            f"One hidden layer of {widest} {name} units (random hidden layer, best uniform readout) approximates "
            f"the smooth target sin 3x + ½ cos 5x on [−1, 1] to at most {FRACTION:.0%} of the best quadratic's "
            f"uniform error ({quadratic:.4g}): measured error / that error, mean over {config.draws} hidden layers.",
            SOURCE,
            high=FRACTION, measured=mean, stderr=stderr,
        ))
    squares = [f["error"] / quadratic for f in fits if f["activation"] == "square"]
    result.claim(at_least(
        "000.pinkus.polynomial-fails",
        f"With the polynomial activation σ(z) = z² every unit lies in span{{1, x, x²}}, so no width beats the best "
        f"quadratic: the smallest error / best quadratic error over widths {config.widths[0]}–{widest} and "
        f"{config.draws} draws each is ≥ 1 − {LP_TOLERANCE:g}.",
        SOURCE,
        low=1 - LP_TOLERANCE, measured=float(min(squares)), stderr=0.0,
    ))
    rows = []
    for name in ACTIVATIONS:
        for m in config.widths:
            errors = [f["error"] for f in fits if f["activation"] == name and f["width"] == m]
            mean, stderr = mean_and_stderr(errors)
            rank = max(f["rank"] for f in fits if f["activation"] == name and f["width"] == m)
            rows.append({"activation": name, "width": m, "sup_error": mean, "stderr": stderr,
                         "over_best_quadratic": mean / quadratic, "numerical_rank": rank})
    result.table("errors", rows)
    fig = result.figure(
        "error-against-width",
        "Sup error of one hidden layer against its width, for ReLU, tanh and σ(z) = z² (mean over random hidden "
        "layers, best uniform readout), and the best quadratic's error (dashed): the polynomial activation is stuck "
        "there, the others keep improving.",
    )
    ax = fig.subplots()
    for name, color in zip(ACTIVATIONS, ("C0", "C1", "C3")):
        mine = [r for r in rows if r["activation"] == name]
        ax.errorbar([r["width"] for r in mine], [r["sup_error"] for r in mine], [r["stderr"] for r in mine],
                    marker="o", color=color, label=f"σ = {name}")
    ax.axhline(quadratic, color="#555555", linestyle="--", label="best quadratic")
    ax.set(xscale="log", yscale="log", xlabel="width m", ylabel="sup |f − f̂| on [−1, 1]")
    ax.legend()
    return result
