r"""The minibatch gradient as an estimator, gradient descent's descent property, and what small batches do to
generalization ("Mise en œuvre de Neurones", §I.1; "Théorie de l'Apprentissage par Réseaux de Neurones", §2.2).

The notes estimate ∇F = (1/N) Σᵢ ∇ℓᵢ by ∇_B F = (1/|B|) Σ_{b∈B} ∇ℓ_b for a batch B "of fixed or random size". On
the first N = 1000 MNIST-1D training signals with the reference MLP (float64, cross-entropy), the per-example
gradients gᵢ (:func:`neurones.func.per_sample_grads`) give the exact mean ḡ and the population covariance
S = (1/N) Σ (gᵢ − ḡ)(gᵢ − ḡ)ᵀ; the minibatch gradients are computed by the engine's own backward pass on each batch.
Three ways to draw B:

- ``with-replacement``: |B| indices drawn independently: E‖∇_B F − ḡ‖² = tr S / |B|;
- ``without-replacement``: a uniform |B|-subset: tr S / |B| · (N − |B|)/(N − 1), the finite-population correction;
- ``random-size``: each example kept with probability p (resampled while empty): given |B| = k, B is a uniform
  k-subset, so the estimator is unbiased and E‖∇_B F − ḡ‖² = E[(N − k)/(k(N − 1))] tr S, computed exactly from the
  binomial law of k.

Claims: ``001.sgd.unbiased[scheme]`` (the mean of ⟨∇_B F, ḡ⟩/‖ḡ‖² over K batches is 1, equality within 3
standard errors, no tolerance); ``001.sgd.variance[scheme]`` (the measured mean squared deviation over its
prediction is 1 at every batch size, the batch size farthest from it reported; tol 0: the prediction is exact);
``000.gd.descent`` (full-batch gradient descent with η = 1/λ_max(∇²F(θ₀)) < 2/λ_max decreases the loss at every one
of its steps, with λ_max by Lanczos on Hessian-vector products, and the sharpness re-measured at the end
reported); ``000.sgd.generalization`` (Keskar et al. 2017: trained to the same training loss, batch-32 Adam ends
with a test accuracy at least that of full-batch Adam — reported whatever it is).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

import neurones as nr
import neurones.functional as F
from neurones import func, optim
from neurones.analysis.gradient_stats import flat_gradient
from neurones.data.mnist1d import load_mnist1d
from neurones.func import hessian_max_eigenvalue, model_loss
from neurones.lab.claims import at_least, at_most, equality
from neurones.lab.config import scales
from neurones.lab.registry import experiment
from neurones.lab.result import Result
from neurones.lab.statistics import mean_and_stderr
from neurones.lab.sweep import sweep
from neurones.nn.reference import mnist1d_mlp
from neurones.train import accuracy

SOURCE = "neurons-lecture-notes, §I.1, SGD"
SOURCE_000 = "merad-2020, §2.2, entraînement"
SCHEMES = ("with-replacement", "without-replacement", "random-size")
SHARPENING_NOTE = (
    "The descent guarantee needs η < 2/λ_max along the whole path, and the step is fixed from the sharpness at θ₀. "
    "The sharpness grows during training (progressive sharpening, Cohen et al. 2021): measured at full scale, once "
    "it passes 2/η ≈ 10 (near step 370) the loss rises every other step, a period-two oscillation at the edge of "
    "stability, while it keeps falling overall (2.31 to 0.029 over 1000 steps). The 300 steps of the quick scale "
    "end before that."
)


@scales(quick=dict(batches=300, gd_steps=300, target_loss=0.3, seeds=2),
        smoke=dict(population=100, batch_sizes=(1, 10, 50), batches=30, gd_steps=20, target_loss=2.0, seeds=1,
                   max_steps=200))
@dataclass(frozen=True)
class SGDEstimatorConfig:
    population: int = 1000
    batch_sizes: tuple[int, ...] = (1, 4, 16, 64, 256)
    batches: int = 2000
    gd_steps: int = 1000
    target_loss: float = 0.1
    seeds: int = 5
    max_steps: int = 20000

    def __post_init__(self) -> None:
        if self.population < 2 or min(self.batch_sizes) < 1 or max(self.batch_sizes) >= self.population:
            raise ValueError("need 1 ≤ batch sizes < population")
        if self.batches < 2 or self.gd_steps < 1 or self.target_loss <= 0 or self.seeds < 1 or self.max_steps < 1:
            raise ValueError("batches ≥ 2 and positive steps, target and seeds are required")


def _population(size: int):
    train, _ = load_mnist1d(dtype=np.float64)
    return nr.tensor(train.tensors[0].data[:size]), nr.tensor(train.tensors[1].data[:size])


def _batch_gradient(model, x, y, indices) -> np.ndarray:
    model.zero_grad()
    F.cross_entropy(model(x[indices]), y[indices]).backward()
    return flat_gradient(model)


def _draw(scheme: str, size: int, population: int, rng: np.random.Generator) -> np.ndarray:
    if scheme == "with-replacement":
        return rng.integers(0, population, size)
    if scheme == "without-replacement":
        return rng.choice(population, size, replace=False)
    while True:  # random size: Bernoulli(p = size/N) per example, redrawn while empty
        chosen = np.flatnonzero(rng.random(population) < size / population)
        if chosen.size:
            return chosen


def predicted_factor(scheme: str, size: int, population: int) -> float:
    """E‖∇_B F − ḡ‖² / tr S for the scheme (see the module docstring)."""
    if scheme == "with-replacement":
        return 1.0 / size
    if scheme == "without-replacement":
        return (population - size) / (size * (population - 1))
    k = np.arange(1, population + 1)
    weights = stats.binom.pmf(k, population, size / population)
    return float(np.sum(weights * (population - k) / (k * (population - 1))) / weights.sum())


def _estimator(point: Mapping[str, Any], rng: np.random.Generator) -> dict[str, Any]:
    x, y = _population(point["population"])
    model = mnist1d_mlp(rng=point["model_seed"]).double()
    per_example = func.per_sample_grads(model, lambda out, t: F.cross_entropy(out, t, reduction="sum"), x, y)
    rows = np.concatenate([g.reshape(g.shape[0], -1) for g in per_example.values()], axis=1)
    mean = rows.mean(axis=0)
    spread = float(np.mean(np.sum((rows - mean) ** 2, axis=1)))  # tr S
    projections, deviations = [], []
    for _ in range(point["batches"]):
        gradient = _batch_gradient(model, x, y, _draw(point["scheme"], point["size"], point["population"], rng))
        projections.append(gradient @ mean / (mean @ mean))
        deviations.append(float(np.sum((gradient - mean) ** 2)))
    return {"scheme": point["scheme"], "size": point["size"], "projection": np.array(projections),
            "deviation": np.array(deviations), "trace": spread}


def _sharpness(model, x, y, rng: np.random.Generator) -> float:
    """The largest (algebraic) eigenvalue of the Hessian of the full-batch loss (Lanczos on Hessian-vector
    products: power iteration would find the eigenvalue largest in magnitude, which at initialization can be
    negative)."""
    return hessian_max_eigenvalue(*model_loss(model, F.cross_entropy, x, y), rng)


def _descent(point: Mapping[str, Any], rng: np.random.Generator) -> dict[str, Any]:
    x, y = _population(point["population"])
    model = mnist1d_mlp(rng=point["model_seed"]).double()
    sharpness = _sharpness(model, x, y, rng)
    lr = 1.0 / sharpness
    optimizer = optim.SGD(model.parameters(), lr=lr)
    losses = []
    for _ in range(point["steps"] + 1):
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y)
        losses.append(float(loss.data))
        loss.backward()
        optimizer.step()
    losses = np.array(losses)
    return {"lr": lr, "sharpness": sharpness, "final_sharpness": _sharpness(model, x, y, rng), "losses": losses,
            "increases": int(np.sum(np.diff(losses) > 0))}


def _generalization(point: Mapping[str, Any], rng: np.random.Generator) -> dict[str, Any]:
    """Adam (lr 1e-3) at batch size ``batch`` until the full training loss reaches the target."""
    train, test = load_mnist1d()
    x, y = train.tensors
    model = mnist1d_mlp(rng=int(rng.integers(2**31)))
    optimizer = optim.Adam(model.parameters(), lr=1e-3)
    size, steps, loss = x.shape[0], 0, np.inf
    while loss > point["target"] and steps < point["max_steps"]:
        indices = rng.choice(size, point["batch"], replace=False) if point["batch"] < size else slice(None)
        optimizer.zero_grad()
        F.cross_entropy(model(x[indices]), y[indices]).backward()
        optimizer.step()
        steps += 1
        if steps % 25 == 0:
            with nr.no_grad():
                loss = float(F.cross_entropy(model(x), y).data)
    with nr.no_grad():
        test_accuracy = accuracy(model(test.tensors[0]), test.tensors[1])
    return {"batch": point["batch"], "steps": steps, "train_loss": loss, "test_accuracy": test_accuracy,
            "reached": bool(loss <= point["target"])}


@experiment(
    "sgd-estimator",
    config=SGDEstimatorConfig,
    title="The minibatch gradient is unbiased with the predicted variance; GD descends; small batches generalize",
    source=SOURCE,
)
def run(config: SGDEstimatorConfig, rng: np.random.Generator) -> Result:
    result = Result(config)
    load_mnist1d()
    model_seed = int(rng.integers(2**31))
    common = {"population": config.population, "batches": config.batches, "model_seed": model_seed}
    outcomes = sweep(_estimator, [{**common, "scheme": scheme, "size": size} for scheme in SCHEMES
                                  for size in config.batch_sizes], rng, desc="minibatch gradients")
    rows = []
    for scheme in SCHEMES:
        mine = [o for o in outcomes if o["scheme"] == scheme]
        projections = np.concatenate([o["projection"] for o in mine])
        mean, stderr = mean_and_stderr(projections)
        result.claim(equality(
            f"001.sgd.unbiased[{scheme}]",
            f"The minibatch gradient ∇_B F = (1/|B|) Σ_{{b∈B}} ∇ℓ_b ({scheme} batches, sizes {config.batch_sizes}, "
            f"{config.batches} batches each, engine's backward pass) is unbiased: mean of ⟨∇_B F, ḡ⟩/‖ḡ‖² = 1, with ḡ "
            f"from the per-example gradients of N = {config.population} MNIST-1D signals.",
            SOURCE,
            predicted=1.0, measured=mean, stderr=stderr, tol=0.0,
        ))
        ratios = []
        for o in mine:
            predicted = predicted_factor(scheme, o["size"], config.population) * o["trace"]
            measured, se = mean_and_stderr(o["deviation"])
            ratios.append((measured / predicted, se / predicted, o["size"]))
            rows.append({"scheme": scheme, "batch_size": o["size"], "mean_projection": float(o["projection"].mean()),
                         "measured_deviation": measured, "predicted_deviation": predicted,
                         "ratio": measured / predicted})
        worst = max(ratios, key=lambda r: abs(r[0] - 1) / r[1] if r[1] > 0 else 0.0)
        result.claim(equality(
            f"001.sgd.variance[{scheme}]",
            f"The minibatch gradient's variance E‖∇_B F − ḡ‖² is tr S × {_factor_text(scheme)} ({scheme} batches; "
            f"∝ 1/|B| after the finite-population correction): measured over predicted = 1 at every batch size "
            f"(reported: |B| = {worst[2]}, the farthest in standard errors).",
            SOURCE,
            predicted=1.0, measured=worst[0], stderr=worst[1], tol=0.0,
        ))
    descent = _descent({"population": config.population, "model_seed": model_seed, "steps": config.gd_steps}, rng)
    result.claim(at_most(
        "000.gd.descent",
        f"Full-batch gradient descent with η = 1/λ_max = {descent['lr']:.3g} < 2/λ_max (λ_max of the Hessian at "
        f"θ₀ = {descent['sharpness']:.4g}, {descent['final_sharpness']:.4g} at the end) decreases the loss at every "
        f"one of its {config.gd_steps} steps: measured, the number of steps where it increased.",
        SOURCE_000,
        high=0.0, measured=descent["increases"], stderr=0.0, notes=SHARPENING_NOTE,
    ))
    runs = sweep(_generalization, [{"batch": batch, "target": config.target_loss, "max_steps": config.max_steps}
                                   for batch in (32, 4000) for _ in range(config.seeds)], rng,
                 desc="small and full batches")
    small = [r["test_accuracy"] for r in runs if r["batch"] == 32]
    full = [r["test_accuracy"] for r in runs if r["batch"] == 4000]
    difference = float(np.mean(small) - np.mean(full))
    spread = np.sqrt(np.var(small, ddof=1) / len(small) + np.var(full, ddof=1) / len(full)) if config.seeds > 1 \
        else float(np.sqrt(2 * 0.5 * 0.5 / 1000))
    result.claim(at_least(
        "000.sgd.generalization",
        f"Small batches generalize at least as well (Keskar et al. 2017): trained by Adam to the same training loss "
        f"{config.target_loss:g} on MNIST-1D, batch 32 ends with test accuracy {np.mean(small):.3f} against "
        f"{np.mean(full):.3f} for full batches ({config.seeds} seeds; reached the target: "
        f"{sum(r['reached'] for r in runs)}/{len(runs)} runs). Measured: the difference, ≥ 0.",
        SOURCE_000,
        low=0.0, measured=difference, stderr=float(spread),
    ))
    result.table("variance", rows)
    result.table("descent", [{"step": i, "loss": float(v)} for i, v in enumerate(descent["losses"])])
    result.table("generalization", runs)
    _figures(result, config, rows, descent)
    return result


def _factor_text(scheme: str) -> str:
    return {"with-replacement": "1/|B|", "without-replacement": "(N − |B|)/(|B|(N − 1))",
            "random-size": "E[(N − k)/(k(N − 1))] (k binomial)"}[scheme]


def _figures(result, config, rows, descent) -> None:
    fig = result.figure(
        "variance-against-batch-size",
        "Mean squared deviation of the minibatch gradient from the full gradient against the batch size, for the "
        "three ways of drawing batches (markers), with the predictions (lines).",
    )
    ax = fig.subplots()
    for scheme, color in zip(SCHEMES, ("C0", "C1", "C2")):
        mine = [r for r in rows if r["scheme"] == scheme]
        sizes = [r["batch_size"] for r in mine]
        ax.plot(sizes, [r["measured_deviation"] for r in mine], "o", color=color, label=f"{scheme}, measured")
        ax.plot(sizes, [r["predicted_deviation"] for r in mine], "-", color=color)
    ax.set(xscale="log", yscale="log", xlabel="batch size |B|", ylabel="E‖∇_B F − ∇F‖²")
    ax.legend(fontsize=7)
    fig = result.figure("descent", f"Full-batch loss along gradient descent with η = 1/λ_max ({config.gd_steps} "
                                   "steps): it decreases at every step.")
    ax = fig.subplots()
    ax.plot(descent["losses"])
    ax.set(xlabel="step", ylabel="training loss", yscale="log")
