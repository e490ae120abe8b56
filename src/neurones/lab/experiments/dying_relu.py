r"""Dying ReLU: half the units are active at initialization, a large learning rate kills some for good, and the
leaky ReLU keeps them all learning ("Rien ne sert de courir", annexe: le problème du ReLU mourant).

An MLP 40-256-256-256-10 with He initialization (zero biases) on MNIST-1D. A unit is *dead* when its
pre-activation is ≤ 0 on every training signal: its ReLU then outputs 0 and passes no gradient, so no later step
can revive it. Claims:

- ``002.dying-relu.half``: at initialization each pre-activation is symmetric around 0 (Gaussian weights, zero
  biases), so the fraction of (unit, signal) pairs with a positive pre-activation is ½ (mean over networks, within
  3 standard errors; tol 0);
- ``002.dying-relu.leaky``: trained by SGD with a large step (lr 0.5, batches of 100), the ReLU network ends with
  a measurable fraction of dead units (≥ 1%), while in the same network with leaky ReLU (slope 0.01) every unit
  keeps receiving gradient (the fraction of hidden units whose incoming weights get an exactly zero gradient on the
  training set is 0). Measured: the ReLU's dead fraction, with the leaky network's zero-gradient fraction in the
  statement (the verdict also requires it to be 0).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

import neurones as nr
import neurones.functional as F
from neurones import nn, optim
from neurones.data.mnist1d import load_mnist1d
from neurones.lab.claims import at_least, equality
from neurones.lab.config import scales
from neurones.lab.registry import experiment
from neurones.lab.result import Result
from neurones.lab.statistics import mean_and_stderr
from neurones.lab.sweep import sweep

SOURCE = "lopes-quintas-2025, annexe, ReLU mourant"
WIDTHS = (40, 256, 256, 256, 10)
DEAD_THRESHOLD = 0.01


@scales(quick=dict(seeds=3, steps=300), smoke=dict(seeds=2, steps=20))
@dataclass(frozen=True)
class DyingReluConfig:
    seeds: int = 5
    steps: int = 1000
    lr: float = 0.5

    def __post_init__(self) -> None:
        if self.seeds < 2 or self.steps < 1 or not self.lr > 0:
            raise ValueError("seeds ≥ 2, steps ≥ 1 and lr > 0 are required")


def _network(activation: str, rng: np.random.Generator) -> nn.Sequential:
    layers: list[nn.Module] = []
    for index, (fan_in, fan_out) in enumerate(itertools.pairwise(WIDTHS)):
        layer = nn.Linear(fan_in, fan_out, rng=rng)
        nn.init.kaiming_normal_(layer.weight, nonlinearity="relu", rng=rng)
        nn.init.zeros_(layer.bias)
        layers.append(layer)
        if index < len(WIDTHS) - 2:
            layers.append(nn.ReLU() if activation == "relu" else nn.LeakyReLU(0.01))
    return nn.Sequential(*layers)


def _hidden_preactivations(model, x) -> list[np.ndarray]:
    outputs, h = [], x
    with nr.no_grad():
        for module in model:
            h = module(h)
            if isinstance(module, nn.Linear) and module is not model[-1]:
                outputs.append(h.data)
    return outputs


def _run(point: Mapping[str, Any], rng: np.random.Generator) -> dict[str, Any]:
    train, _ = load_mnist1d()
    x, y = train.tensors
    model = _network(point["activation"], rng)
    active = float(np.mean(np.concatenate([(z > 0).ravel() for z in _hidden_preactivations(model, x)])))
    optimizer = optim.SGD(model.parameters(), lr=point["lr"])
    for _ in range(point["steps"]):
        batch = rng.integers(0, x.shape[0], 100)
        optimizer.zero_grad()
        F.cross_entropy(model(x[batch]), y[batch]).backward()
        optimizer.step()
    dead = float(np.mean(np.concatenate([np.all(z <= 0, axis=0) for z in _hidden_preactivations(model, x)])))
    model.zero_grad()
    F.cross_entropy(model(x), y).backward()
    hidden = [m for m in model if isinstance(m, nn.Linear)][:-1]
    silent = float(np.mean(np.concatenate([np.all(m.weight.grad.data == 0, axis=1) for m in hidden])))
    return {"activation": point["activation"], "active_at_init": active, "dead": dead, "zero_gradient": silent}


@experiment(
    "dying-relu",
    config=DyingReluConfig,
    title="Half the ReLU units are active at initialization; a large step kills some, leaky ReLU keeps them alive",
    source=SOURCE,
)
def run(config: DyingReluConfig, rng: np.random.Generator) -> Result:
    result = Result(config)
    load_mnist1d()
    runs = sweep(_run, [{"activation": a, "steps": config.steps, "lr": config.lr} for a in ("relu", "leaky")
                        for _ in range(config.seeds)], rng, desc="ReLU and leaky ReLU networks")
    relu = [r for r in runs if r["activation"] == "relu"]
    leaky = [r for r in runs if r["activation"] == "leaky"]
    mean, stderr = mean_and_stderr([r["active_at_init"] for r in runs])
    result.claim(equality(
        "002.dying-relu.half",
        f"At He initialization with zero biases, each pre-activation is symmetric around 0, so half of the "
        f"(unit, signal) pairs are active: fraction = ½ over the 768 hidden units and 4000 MNIST-1D signals "
        f"({len(runs)} networks).",
        SOURCE,
        predicted=0.5, measured=mean, stderr=stderr, tol=0.0,
    ))
    dead, dead_se = mean_and_stderr([r["dead"] for r in relu])
    silent = max(r["zero_gradient"] for r in leaky)
    result.claim(at_least(
        "002.dying-relu.leaky",
        f"Trained by SGD with lr {config.lr:g} ({config.steps} steps of 100 signals), the ReLU network ends with a "
        f"measurable fraction of dead units (≥ {DEAD_THRESHOLD:.0%}: never positive on the training set), while "
        f"with leaky ReLU the largest fraction of hidden units receiving an exactly zero gradient is {silent:g} "
        f"(must be 0). Measured: the ReLU's dead fraction{'' if silent == 0 else ' (set to 0: a leaky unit died)'}.",
        SOURCE,
        low=DEAD_THRESHOLD, measured=dead if silent == 0 else 0.0, stderr=dead_se,
    ))
    result.table("runs", runs)
    fig = result.figure(
        "dead-units",
        "Fraction of hidden units that are dead after training (never positive on the training set), ReLU against "
        "leaky ReLU, and the fraction of active pairs at initialization (dashed: ½).",
    )
    ax = fig.subplots()
    ax.scatter(np.zeros(len(relu)), [r["dead"] for r in relu], label="ReLU: dead after training")
    ax.scatter(np.ones(len(leaky)), [r["zero_gradient"] for r in leaky], label="leaky: zero gradient after training")
    ax.scatter(np.full(len(runs), 2), [r["active_at_init"] for r in runs], label="active pairs at initialization")
    ax.axhline(0.5, color="#555555", linestyle="--")
    ax.set(xticks=[0, 1, 2], xticklabels=["ReLU", "leaky", "init"], ylabel="fraction")
    ax.legend(fontsize=7)
    return result
