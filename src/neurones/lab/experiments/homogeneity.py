r"""Homogeneity of one-hidden-layer ReLU networks and the penalties it makes equivalent ("Mise en œuvre de
Neurones", §II; :mod:`neurones.analysis.homogeneity`).

The network f(x) = Σ_j η_j (w_jᵀx + b_j)₊ (m = ``width`` units, no output bias) is fitted to n noisy samples of
sin 3x on [−M, M], M = 1, with the mean squared error L. Claims:

- ``001.homogeneity``: random rescalings (η_j α_j, w_j/α_j, b_j/α_j), α_j log-uniform in [0.1, 10], change f by at
  most 1e-12 (sup over 1000 inputs, float64) while the weight decay Ω₁ = Σ λη_j² + ‖w_j‖² + b_j²/M² changes (the
  ratio is in the statement; the invariant Σ 2√λ|η_j|‖(w_j, b_j/M)‖ does not);
- ``001.penalty.equivalence``: minimizing Ω₁ over the rescalings gives Ω₂ = Σ 2√λ|η_j|‖(w_j, b_j/M)‖, so the two
  regularized problems L + μΩ₁ and L + μΩ₂ have the same infimum: trained from the same start (full-batch Adam to
  convergence), their final objectives agree within 2% (measured: relative difference);
- ``001.penalty.balanced``: at a stationary point of L + μΩ₁ every unit is balanced (the derivative along its
  rescaling, 2μ(λη_j² − ‖(w_j, b_j/M)‖²), vanishes): the largest |balance| over the units that carry weight is
  ≤ 0.01;
- ``001.homogeneity.conservation``: without a penalty, gradient flow conserves η_j² − ‖w_j‖² − b_j²; gradient descent
  over a fixed time T drifts by O(step): slope of the largest drift against the step in [0.9, 1.1];
- ``001.penalty.sparsity``: with units on the sphere ‖(w_j, b_j/M)‖ = 1 and the penalty λΣ|η_j| (projected
  proximal gradient: soft-thresholding of η, renormalization of the units), the trained network uses at most n + 1
  distinct active units (|η_j| > 0; units whose directions agree within 1e-3 rad count once) — the sparsity of ℓ1
  over a continuous dictionary (Carathéodory).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

import neurones as nr
from neurones import nn, optim
from neurones.analysis.homogeneity import (
    balance,
    input_norms,
    normalize_units,
    path_penalty,
    rescale_units,
    unit_invariants,
    unit_parameters,
    weight_decay_penalty,
)
from neurones.lab.claims import at_most, band, equality
from neurones.lab.config import scales
from neurones.lab.registry import experiment
from neurones.lab.result import Result
from neurones.lab.statistics import loglog_slope
from neurones.lab.sweep import sweep

SOURCE = "neurons-lecture-notes, §II, homogénéité et régularisation"
BOUND = 1.0  # M
EXACT = 1e-12
EQUIVALENCE = 0.02
BALANCED = 0.01
FLOW_TIME = 20.0
CONSERVATION_STEPS = (0.04, 0.02, 0.01, 0.005)
SAME_DIRECTION = 1e-3  # radians


@scales(quick=dict(steps=8000), smoke=dict(samples=8, width=12, steps=300, flow_time=1.0))
@dataclass(frozen=True)
class HomogeneityConfig:
    samples: int = 20
    width: int = 50
    strength: float = 1.0  # λ
    penalty: float = 1e-3  # μ
    sparsity_penalty: float = 1e-2
    steps: int = 30000
    flow_time: float = FLOW_TIME

    def __post_init__(self) -> None:
        if self.samples < 2 or self.width < 2 or self.steps < 1 or self.flow_time <= 0:
            raise ValueError("samples ≥ 2, width ≥ 2, steps ≥ 1 and flow_time > 0 are required")
        if min(self.strength, self.penalty, self.sparsity_penalty) <= 0:
            raise ValueError("the penalty strengths must be > 0")


def _data(samples: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    x = rng.uniform(-BOUND, BOUND, (samples, 1))
    return x, np.sin(3 * x) + 0.1 * rng.standard_normal((samples, 1))


def _network(width: int, rng: np.random.Generator) -> nn.Sequential:
    return nn.Sequential(nn.Linear(1, width, dtype=np.float64, rng=rng), nn.ReLU(),
                         nn.Linear(width, 1, bias=False, dtype=np.float64, rng=rng))


def _train(point: Mapping[str, Any], rng: np.random.Generator) -> dict[str, Any]:
    """Full-batch Adam with a cosine schedule on L + μΩ (Ω: ``weight-decay`` or ``path``)."""
    config: HomogeneityConfig = point["config"]
    x, y = point["data"]
    net = _network(config.width, np.random.default_rng(point["init_seed"]))
    optimizer = optim.Adam(net.parameters(), lr=1e-2)
    schedule = optim.lr_scheduler.CosineAnnealingLR(optimizer, config.steps)
    inputs, targets = nr.tensor(x), nr.tensor(y)
    first, readout = net[0], net[-1]
    for _ in range(config.steps):
        optimizer.zero_grad()
        loss = ((net(inputs) - targets) ** 2).mean()
        inner = (first.weight**2).sum(dim=1) + (first.bias / BOUND) ** 2
        if point["penalty"] == "weight-decay":
            regularizer = (config.strength * readout.weight[0] ** 2 + inner).sum()
        else:
            regularizer = (2 * np.sqrt(config.strength) * readout.weight[0].abs() * (inner + 1e-300) ** 0.5).sum()
        (loss + config.penalty * regularizer).backward()
        optimizer.step()
        schedule.step()
    data_loss = float(np.mean((net(inputs).data - y) ** 2))
    omega = (weight_decay_penalty if point["penalty"] == "weight-decay" else path_penalty)(
        net, config.strength, BOUND)
    return {"penalty": point["penalty"], "data_loss": data_loss, "objective": data_loss + config.penalty * omega,
            "balance": balance(net, config.strength, BOUND),
            "size": config.strength * unit_parameters(net)[0] ** 2 + input_norms(net, BOUND) ** 2}


def _drift(point: Mapping[str, Any], rng: np.random.Generator) -> dict[str, Any]:
    """Plain gradient descent without penalty for time T; the largest change of η_j² − ‖w_j‖² − b_j²."""
    x, y = point["data"]
    net = _network(point["width"], np.random.default_rng(point["init_seed"]))
    start = unit_invariants(net)
    optimizer = optim.SGD(net.parameters(), lr=point["lr"])
    inputs, targets = nr.tensor(x), nr.tensor(y)
    steps = round(point["flow_time"] / point["lr"])
    times, invariants, losses = [], [], []
    for step in range(steps + 1):
        optimizer.zero_grad()
        loss = ((net(inputs) - targets) ** 2).mean()
        if step % max(1, steps // 50) == 0 or step == steps:
            times.append(step * point["lr"])
            invariants.append(unit_invariants(net))
            losses.append(float(loss.data))
        if step == steps:
            break
        loss.backward()
        optimizer.step()
    return {"lr": point["lr"], "drift": float(np.max(np.abs(unit_invariants(net) - start))),
            "times": np.array(times), "invariants": np.array(invariants), "losses": np.array(losses)}


def _sparse(point: Mapping[str, Any], rng: np.random.Generator) -> dict[str, Any]:
    """Projected proximal gradient on L + λΣ|η_j| with units on the sphere ‖(w_j, b_j/M)‖ = 1."""
    config: HomogeneityConfig = point["config"]
    x, y = point["data"]
    net = _network(2 * config.width, np.random.default_rng(point["init_seed"]))
    readout = net[-1]
    lr, strength = 1e-2, config.sparsity_penalty
    inputs, targets = nr.tensor(x), nr.tensor(y)

    normalize_units(net, BOUND)
    for _ in range(config.steps):
        net.zero_grad()
        ((net(inputs) - targets) ** 2).mean().backward()
        for p in net.parameters():
            p.data -= lr * p.grad.data
        eta = readout.weight.data
        eta[...] = np.sign(eta) * np.maximum(np.abs(eta) - lr * strength, 0.0)
        normalize_units(net, BOUND)
    eta, w, b = unit_parameters(net)
    active = np.flatnonzero(eta != 0)
    angles = np.sort(np.arctan2(b[active] / BOUND, w[active, 0]))  # d = 1: a unit's direction is one angle
    distinct = int(active.size > 0) + int(np.sum(np.diff(angles) > SAME_DIRECTION))
    return {"active": int(active.size), "distinct": distinct,
            "data_loss": float(np.mean((net(inputs).data - y) ** 2))}


@experiment(
    "homogeneity",
    config=HomogeneityConfig,
    title="Homogeneity of one-hidden-layer ReLU networks: invariance, equivalent penalties, balance, conservation",
    source=SOURCE,
)
def run(config: HomogeneityConfig, rng: np.random.Generator) -> Result:
    result = Result(config)
    data = _data(config.samples, rng)
    init_seed = int(rng.integers(2**31))
    net = _network(config.width, np.random.default_rng(init_seed))
    probe = nr.tensor(np.linspace(-BOUND, BOUND, 1000)[:, None])
    before = net(probe).data
    decay, path = weight_decay_penalty(net, config.strength, BOUND), path_penalty(net, config.strength, BOUND)
    rescale_units(net, np.exp(rng.uniform(np.log(0.1), np.log(10.0), config.width)))
    change = float(np.max(np.abs(net(probe).data - before)))
    decay_after, path_after = weight_decay_penalty(net, config.strength, BOUND), path_penalty(net, config.strength,
                                                                                              BOUND)
    result.claim(at_most(
        "001.homogeneity",
        f"Rescaling every unit by α_j ∈ [0.1, 10] (η_j α_j, w_j/α_j, b_j/α_j) leaves f unchanged: max |Δf| over 1000 "
        f"inputs ≤ {EXACT:g}, while the weight decay Ω₁ goes from {decay:.4g} to {decay_after:.4g} and the invariant "
        f"Σ2√λ|η_j|‖(w_j, b_j/M)‖ from {path:.6g} to {path_after:.6g}.",
        SOURCE,
        high=EXACT, measured=change, stderr=0.0,
    ))
    trained = sweep(_train, [{"config": config, "data": data, "init_seed": init_seed, "penalty": penalty}
                             for penalty in ("weight-decay", "path")], rng, desc="regularized training")
    decayed, pathed = trained
    relative = decayed["objective"] / pathed["objective"] - 1
    result.claim(equality(
        "001.penalty.equivalence",
        f"$\\min_{{\\alpha>0}} \\lambda\\alpha^2\\eta^2 + \\|(w, b/M)\\|^2/\\alpha^2 = 2\\sqrt\\lambda|\\eta|"
        f"\\|(w, b/M)\\|$, so L + μΩ₁ and L + μΩ₂ have the same infimum: trained from the same start "
        f"({config.steps} Adam steps, μ = {config.penalty:g}, λ = {config.strength:g}, {config.width} units, "
        f"n = {config.samples}), their final objectives {decayed['objective']:.5g} and {pathed['objective']:.5g} "
        f"agree: relative difference 0 ± {EQUIVALENCE:g}.",
        SOURCE,
        predicted=0.0, measured=relative, stderr=0.0, tol=EQUIVALENCE,
    ))
    carrying = decayed["size"] > 1e-6 * decayed["size"].max()
    result.claim(at_most(
        "001.penalty.balanced",
        f"Trained with the weight decay, units end balanced, λη_j² = ‖(w_j, b_j/M)‖² (stationarity along each "
        f"unit's rescaling): the largest |λη_j² − ‖·‖²|/(λη_j² + ‖·‖²) over the {int(carrying.sum())} units "
        f"carrying weight ≤ {BALANCED:g}.",
        SOURCE,
        high=BALANCED, measured=float(np.max(np.abs(decayed["balance"][carrying]))), stderr=0.0,
    ))
    drifts = sweep(_drift, [{"data": data, "init_seed": init_seed, "width": config.width, "lr": lr,
                             "flow_time": config.flow_time} for lr in CONSERVATION_STEPS], rng, desc="conservation")
    slope, stderr = loglog_slope([d["lr"] for d in drifts], [d["drift"] for d in drifts])
    result.claim(band(
        "001.homogeneity.conservation",
        f"Without a penalty, gradient flow conserves η_j² − ‖w_j‖² − b_j² (Euler's identity for the homogeneous "
        f"unit); gradient descent for the time T = {config.flow_time:g} drifts by O(step): slope of the largest "
        f"drift against the step in [0.9, 1.1] (steps {CONSERVATION_STEPS}).",
        SOURCE,
        low=0.9, high=1.1, measured=slope, stderr=stderr,
    ))
    sparse = _sparse({"config": config, "data": data, "init_seed": init_seed}, rng)
    result.claim(at_most(
        "001.penalty.sparsity",
        f"With units on the sphere ‖(w_j, b_j/M)‖ = 1 and the penalty λΣ|η_j| (λ = {config.sparsity_penalty:g}, "
        f"projected proximal gradient, {2 * config.width} units, {config.steps} steps), the trained network uses at "
        f"most n + 1 = {config.samples + 1} distinct active units ({sparse['active']} units with η_j ≠ 0).",
        SOURCE,
        high=config.samples + 1, measured=sparse["distinct"], stderr=0.0,
    ))
    result.table("regularized", [{k: v for k, v in t.items() if k not in ("balance", "size")} for t in trained])
    result.table("conservation", [{"lr": d["lr"], "drift": d["drift"]} for d in drifts])
    result.table("sparsity", [sparse])
    fig = result.figure(
        "conservation",
        f"Largest drift of the conserved quantity η_j² − ‖w_j‖² − b_j² after gradient descent for time "
        f"T = {config.flow_time:g}, against the step (slope 1 dashed).",
    )
    ax = fig.subplots()
    steps, values = [d["lr"] for d in drifts], [d["drift"] for d in drifts]
    ax.plot(steps, values, marker="o", label="gradient descent")
    ax.plot(steps, values[0] * np.array(steps) / steps[0], "k--", label="∝ step")
    ax.set(xscale="log", yscale="log", xlabel="step", ylabel="max_j |Δ(η_j² − ‖w_j‖² − b_j²)|")
    ax.legend()
    finest = min(drifts, key=lambda d: d["lr"])
    fig = result.figure(
        "invariants-along-training",
        f"The quantities η_j² − ‖w_j‖² − b_j² of 8 units along gradient descent without penalty (step "
        f"{finest['lr']:g}, solid) while the loss falls (dashed, right axis): they stay put, up to O(step).",
    )
    ax = fig.subplots()
    ax.plot(finest["times"], finest["invariants"][:, :8])
    ax.set(xlabel="time t = step × lr", ylabel="η_j² − ‖w_j‖² − b_j²")
    twin = ax.twinx()
    twin.plot(finest["times"], finest["losses"], "k--")
    twin.set(yscale="log", ylabel="training loss")
    fig = result.figure("balance", "Balance (λη_j² − ‖(w_j, b_j/M)‖²)/(λη_j² + ‖·‖²) of each unit after training "
                                   "with the weight decay, against its size.")
    ax = fig.subplots()
    ax.scatter(decayed["size"], decayed["balance"], s=12)
    ax.axhline(0, color="#555555", linestyle="--")
    ax.set(xscale="log", xlabel="λη_j² + ‖(w_j, b_j/M)‖²", ylabel="balance")
    return result
