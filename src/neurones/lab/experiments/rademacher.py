r"""The Rademacher complexity of one-hidden-layer ReLU networks with normalized units, its bounds, and the
generalization gap it controls ("Mise en œuvre de Neurones", §III; :mod:`neurones.analysis.generalization`).

Inputs are uniform on [−M, M] (M = 1, d = 1, where the supremum over units is computed exactly), the class is
{Σ_j η_j (w_j x + b_j)₊ : ‖(w_j, b_j/M)‖ = 1, ‖η‖₁ ≤ D}. Two corrections to the notes, stated in the claims: the
signs εᵢ are Rademacher (±1), not N(0, ½), and the constraint's radius is M (the notes mix R and M). Claims:

- ``001.rademacher.bound[intermediate]``: R̂_n ≤ 2D·E√(‖(1/n)Σεᵢxᵢ‖² + M²((1/n)Σεᵢ)²) at every n (measured: the
  largest relative excess (R̂_n − bound)/bound over n, paired over the same sign draws, ≤ 0);
- ``001.rademacher.bound[final]``: that intermediate bound ≤ 2DM√2/√n (G = 1 for the function class);
- ``001.rademacher.rate``: R̂_n decays like n^{−1/2}: slope in [−0.55, −0.45] over n = 32…2048 (standard error
  bootstrapped over the sign draws);
- ``001.generalization.gap``: networks trained within the class (projected gradient descent: units renormalized,
  η projected onto the ℓ1 ball) on noisy labels with the logistic loss (G = 1) have a generalization gap, test loss
  minus training loss, at most 4G·R̂_n (the notes' symmetrization bound with contraction): measured, the largest
  mean gap over 4R̂_n across n, ≤ 1; and ``001.generalization.gap[shrinks]``: the gap at the smallest n exceeds the
  gap at the largest.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

import neurones as nr
import neurones.functional as F
from neurones import nn
from neurones.analysis.generalization import final_bound, project_to_class, rademacher_chain
from neurones.lab.claims import at_least, at_most, band
from neurones.lab.config import scales
from neurones.lab.registry import experiment
from neurones.lab.result import Result
from neurones.lab.statistics import bootstrap_stderr, loglog_slope, mean_and_stderr
from neurones.lab.sweep import sweep

SOURCE = "neurons-lecture-notes, §III, erreur de généralisation, cas contraint"
BOUND = 1.0  # M
LABEL_NOISE = 0.2
TEST_SIZE = 20_000


@scales(quick=dict(draws=200, gap_sizes=(32, 128, 512), restarts=3, steps=1000),
        smoke=dict(sizes=(32, 64, 128), draws=20, gap_sizes=(32, 64), restarts=2, steps=50, width=10))
@dataclass(frozen=True)
class RademacherConfig:
    sizes: tuple[int, ...] = (32, 64, 128, 256, 512, 1024, 2048)
    draws: int = 1000
    radius: float = 5.0  # D, the ℓ1 radius of η
    gap_sizes: tuple[int, ...] = (32, 64, 128, 256, 512, 1024)
    gap_radius: float = 20.0  # D for the trained networks: large enough to overfit the smallest samples
    restarts: int = 5
    width: int = 50
    steps: int = 3000

    def __post_init__(self) -> None:
        if len(self.sizes) < 3 or min(self.sizes) < 2 or self.draws < 2 or self.radius <= 0:
            raise ValueError("≥ 3 sizes ≥ 2, draws ≥ 2 and a positive radius are required")
        if (not self.gap_sizes or min(self.gap_sizes) < 2 or self.restarts < 1 or self.width < 1 or self.steps < 1
                or self.gap_radius <= 0):
            raise ValueError("gap sizes ≥ 2, restarts, width and steps ≥ 1 are required")


def _complexity(point: Mapping[str, Any], rng: np.random.Generator) -> dict[str, Any]:
    x = rng.uniform(-BOUND, BOUND, point["n"])
    chain = rademacher_chain(x, BOUND, point["radius"], point["draws"], rng)
    return {"n": point["n"], "complexity": chain["complexity"], "intermediate": chain["intermediate"]}


def _labels(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    clean = np.sign(np.sin(3 * x))
    flips = rng.random(x.shape) < LABEL_NOISE
    return np.where(flips, -clean, clean)


def _gap(point: Mapping[str, Any], rng: np.random.Generator) -> dict[str, Any]:
    """Projected gradient descent within the class on the logistic loss; test minus training loss."""
    n, radius = point["n"], point["radius"]
    x, x_test = rng.uniform(-BOUND, BOUND, (n, 1)), rng.uniform(-BOUND, BOUND, (TEST_SIZE, 1))
    y, y_test = _labels(x, rng), _labels(x_test, rng)
    net = nn.Sequential(nn.Linear(1, point["width"], dtype=np.float64, rng=rng), nn.ReLU(),
                        nn.Linear(point["width"], 1, bias=False, dtype=np.float64, rng=rng))
    project_to_class(net, BOUND, radius)
    optimizer = nr.optim.SGD(net.parameters(), lr=0.5)
    inputs, targets = nr.tensor(x), nr.tensor(y)
    for _ in range(point["steps"]):
        optimizer.zero_grad()
        F.softplus(-targets * net(inputs)).mean().backward()  # logistic loss log(1 + e^{−yf}), 1-Lipschitz in f
        optimizer.step()
        project_to_class(net, BOUND, radius)

    def loss(inputs, labels):
        return float(np.mean(np.logaddexp(0.0, -labels * net(nr.tensor(inputs)).data)))

    complexity = rademacher_chain(x, BOUND, radius, point["draws"], rng)["complexity"].mean()
    train, test = loss(x, y), loss(x_test, y_test)
    return {"n": n, "train_loss": train, "test_loss": test, "gap": test - train, "complexity": float(complexity)}


@experiment(
    "rademacher",
    config=RademacherConfig,
    title="Rademacher complexity of normalized one-hidden-layer ReLU networks: its bounds, its rate, the gap",
    source=SOURCE,
)
def run(config: RademacherConfig, rng: np.random.Generator) -> Result:
    result = Result(config)
    chains = sweep(_complexity, [{"n": n, "radius": config.radius, "draws": config.draws} for n in config.sizes],
                   rng, desc="Rademacher complexities")
    rows, excess_intermediate, excess_final = [], [], []
    for chain in chains:
        n = chain["n"]
        complexity, complexity_se = mean_and_stderr(chain["complexity"])
        intermediate, _ = mean_and_stderr(chain["intermediate"])
        paired, paired_se = mean_and_stderr(chain["complexity"] - chain["intermediate"])
        excess_intermediate.append((paired / intermediate, paired_se / intermediate))
        final = final_bound(n, BOUND, config.radius)
        excess_final.append(((intermediate - final) / final, float(np.std(chain["intermediate"], ddof=1))
                             / np.sqrt(config.draws) / final))
        rows.append({"n": n, "complexity": complexity, "complexity_se": complexity_se,
                     "intermediate_bound": intermediate, "final_bound": final})
    worst = max(excess_intermediate, key=lambda pair: pair[0])
    result.claim(at_most(
        "001.rademacher.bound[intermediate]",
        f"The empirical Rademacher complexity of {{Σ η_j(w_j x + b_j)₊ : ‖(w_j, b_j/M)‖ = 1, "
        f"‖η‖₁ ≤ {config.radius:g}}} (exact supremum, Rademacher ±1 signs — the notes write N(0, ½) — "
        f"{config.draws} sign draws) lies below the "
        f"notes' intermediate bound $2D\\,\\mathbb{{E}}\\sqrt{{\\|\\frac1n\\sum\\varepsilon_i x_i\\|^2 + "
        f"M^2(\\frac1n\\sum\\varepsilon_i)^2}}$ (with the radius M where the notes mix R and M) at every n = "
        f"{config.sizes[0]}…{config.sizes[-1]}: the largest relative excess over n ≤ 0.",
        SOURCE,
        high=0.0, measured=worst[0], stderr=worst[1],
    ))
    worst = max(excess_final, key=lambda pair: pair[0])
    result.claim(at_most(
        "001.rademacher.bound[final]",
        "The intermediate bound lies below the closed form 2GDM√2/√n (Jensen and ‖x‖ ≤ M; G = 1 for the function "
        "class): the largest relative excess over n ≤ 0.",
        SOURCE,
        high=0.0, measured=worst[0], stderr=worst[1],
    ))

    def slope(*samples):
        return loglog_slope(config.sizes, [float(np.mean(s)) for s in samples])[0]

    samples = [chain["complexity"] for chain in chains]
    result.claim(band(
        "001.rademacher.rate",
        f"The empirical Rademacher complexity decays like n^(−1/2): slope in [−0.55, −0.45] over n = "
        f"{config.sizes[0]}…{config.sizes[-1]} (bootstrapped over the sign draws).",
        SOURCE,
        low=-0.55, high=-0.45, measured=slope(*samples), stderr=bootstrap_stderr(slope, samples, rng),
    ))
    gap_points = [{"n": n, "radius": config.gap_radius, "width": config.width, "steps": config.steps,
                   "draws": max(20, config.draws // 10)} for n in config.gap_sizes for _ in range(config.restarts)]
    gaps = sweep(_gap, gap_points, rng, desc="training within the class")
    gap_rows = []
    for n in config.gap_sizes:
        mine = [g for g in gaps if g["n"] == n]
        gap, gap_se = mean_and_stderr([g["gap"] for g in mine])
        bound = 4 * float(np.mean([g["complexity"] for g in mine]))
        gap_rows.append({"n": n, "gap": gap, "gap_se": gap_se, "bound_4GR": bound, "ratio": gap / bound,
                         "ratio_se": gap_se / bound,
                         "train_loss": float(np.mean([g["train_loss"] for g in mine])),
                         "test_loss": float(np.mean([g["test_loss"] for g in mine]))})
    worst = max(gap_rows, key=lambda row: row["ratio"])
    gaps_text = ", ".join(f"{row['gap']:.3f}" for row in gap_rows)
    result.claim(at_most(
        "001.generalization.gap",
        f"Networks trained within the class (projected gradient descent, D = {config.gap_radius:g}, {config.width} "
        f"units, logistic loss with G = 1, {LABEL_NOISE:.0%} label noise) generalize: test loss − training loss ≤ "
        f"4G·R̂_n at every n = {config.gap_sizes[0]}…{config.gap_sizes[-1]} ({config.restarts} runs each): the "
        f"largest mean gap / 4R̂_n over n ≤ 1 (gaps {gaps_text}).",
        SOURCE,
        high=1.0, measured=worst["ratio"], stderr=worst["ratio_se"],
    ))
    first, last = gap_rows[0], gap_rows[-1]
    result.claim(at_least(
        "001.generalization.gap[shrinks]",
        f"The generalization gap of the networks trained within the class shrinks with n, as its bound 4G·R̂_n "
        f"does: gap at n = {first['n']} minus gap at n = {last['n']} ≥ 0 ({first['gap']:.4f} against "
        f"{last['gap']:.4f}).",
        SOURCE,
        low=0.0, measured=first["gap"] - last["gap"], stderr=float(np.hypot(first["gap_se"], last["gap_se"])),
    ))
    result.table("complexity", rows)
    result.table("generalization_gap", gap_rows)
    fig = result.figure(
        "complexity-against-n",
        f"Empirical Rademacher complexity of the class (D = {config.radius:g}, M = 1) against n, with the notes' "
        "intermediate bound and 2DM√2/√n, and the generalization gap of networks trained in the class against its "
        "bound 4R̂_n.",
    )
    ax = fig.subplots()
    ax.errorbar(config.sizes, [r["complexity"] for r in rows], [r["complexity_se"] for r in rows], marker="o",
                label="R̂_n (exact supremum)")
    ax.plot(config.sizes, [r["intermediate_bound"] for r in rows], marker="s", label="intermediate bound")
    ax.plot(config.sizes, [r["final_bound"] for r in rows], linestyle="--", label="2DM√2/√n")
    ax.errorbar([r["n"] for r in gap_rows], [r["gap"] for r in gap_rows], [r["gap_se"] for r in gap_rows],
                marker="^", label="generalization gap")
    ax.plot([r["n"] for r in gap_rows], [r["bound_4GR"] for r in gap_rows], linestyle=":", label="4R̂_n")
    ax.set(xscale="log", yscale="log", xlabel="n", ylabel="size")
    ax.legend(fontsize=7)
    return result
