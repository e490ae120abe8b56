"""Training deep ResNets at the three depth scalings ("Facteur de régulation des ResNets profonds", Shen & Vin, §2.4).

The seed's conclusion (§2.4): with α_L = L^{−β}, β < ½ makes the hidden states and gradients explode at
initialization, "which prevents training"; β > ½ makes the network an identity map, "which lowers its
performance"; β = ½ is "a favourable non-degenerate limit". We train res-3 networks (V ReLU(W h), Gaussian
unit-variance √d·V, √d·W) of L = ``depth`` blocks and width ``width`` on MNIST-1D (the 40-sample signals embedded by
A, read out by B) with Adam at learning rate ``lr``, batches of ``batch_size``, for each β ∈ {¼, ½, 1} and
``seeds`` seeds (a seed draws the network and the batch order, shared by the three β), and compare the final test
accuracies. A run whose loss becomes non-finite is stopped and counts as accuracy 0 (diverged).

Claims ``004.training.beta[…]``, on the seed-paired differences of final test accuracy (mean ± standard error over
seeds), each holding up to three standard errors:

- ``[quarter-below-half]``: acc(β = ½) − acc(β = ¼) ≥ 0 — explosion hinders training;
- ``[half-not-below-one]``: acc(β = ½) − acc(β = 1) ≥ 0 — the identity regime is no better.

The seed states these qualitatively; a difference of 0 is the boundary where the claim would fail.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from neurones import functional as F
from neurones.data.loader import DataLoader
from neurones.data.mnist1d import load_mnist1d
from neurones.lab.claims import at_least
from neurones.lab.config import scales
from neurones.lab.registry import experiment
from neurones.lab.result import Result
from neurones.lab.statistics import mean_and_stderr
from neurones.lab.sweep import grid, sweep
from neurones.nn.scaled_resnet import ScaledResNet
from neurones.optim.adam import Adam
from neurones.train.callbacks import LambdaCallback
from neurones.train.loop import evaluate, fit

SOURCE = "shen-vin-2023"
BETAS = (0.25, 0.5, 1.0)
IN_FEATURES, CLASSES = 40, 10


@scales(quick=dict(steps=200, seeds=3), smoke=dict(depth=8, width=8, steps=10, seeds=2, batch_size=20))
@dataclass(frozen=True)
class DepthTrainingConfig:
    """res-3 networks of ``depth`` blocks and ``width`` units, Adam(``lr``) for ``steps`` steps of ``batch_size``."""

    depth: int = 256
    width: int = 32
    lr: float = 1e-3
    steps: int = 3000
    batch_size: int = 100
    seeds: int = 5

    def __post_init__(self) -> None:
        if min(self.depth, self.width, self.steps, self.batch_size) < 1 or self.seeds < 2 or self.lr <= 0:
            raise ValueError("positive sizes, a positive learning rate and at least 2 seeds are required")


def _train(point: Mapping[str, Any], rng: np.random.Generator) -> dict[str, Any]:
    """One network at one β; the point's ``seed`` draws the weights and the batch order, so the three β of a seed
    see the same data in the same order."""
    config, beta, seed = point["config"], point["beta"], point["seed"]
    train_set, test_set = load_mnist1d()
    model = ScaledResNet(IN_FEATURES, config.width, CLASSES, config.depth, block="res-3", beta=beta, rng=seed)
    optimizer = Adam(model.parameters(), lr=config.lr)
    loader = DataLoader(train_set, batch_size=config.batch_size, shuffle=True, rng=seed)
    diverged = []

    def after_step(state) -> None:
        if not math.isfinite(state.loss):
            diverged.append(state.step)
            state.stop = True

    initial = evaluate(model, DataLoader(test_set, batch_size=len(test_set)), loss_fn=F.cross_entropy)
    fit(model, F.cross_entropy, optimizer, loader, steps=config.steps,
        callbacks=[LambdaCallback(on_step_end=after_step)])
    test = evaluate(model, DataLoader(test_set, batch_size=len(test_set)), loss_fn=F.cross_entropy)
    accuracy = 0.0 if diverged or not math.isfinite(test["loss"]) else test["accuracy"]
    return {
        "beta": beta, "seed": seed, "initial_test_loss": initial["loss"], "test_loss": test["loss"],
        "test_accuracy": accuracy, "diverged_at": diverged[0] if diverged else None,
    }  # fmt: skip


@experiment(
    "resnet-depth-training",
    config=DepthTrainingConfig,
    title="Training res-3 ResNets on MNIST-1D at β = ¼, ½, 1: explosion, identity and the critical scaling",
    source=f"{SOURCE}, §2.4",
)
def run(config: DepthTrainingConfig, rng: np.random.Generator) -> Result:
    result = Result(config)
    load_mnist1d()  # generate and cache the data set once, before any worker process needs it
    seeds = [int(seed) for seed in rng.integers(2**31, size=config.seeds)]
    runs = sweep(_train, [{**p, "config": config} for p in grid(seed=seeds, beta=BETAS)], rng,
                 desc="ResNet depth scaling, training")  # fmt: skip
    result.table("runs", runs)
    accuracy = {(r["seed"], r["beta"]): r["test_accuracy"] for r in runs}
    protocol = (f"res-3, L = {config.depth}, width {config.width}, MNIST-1D, Adam lr {config.lr:g}, "
                f"{config.steps} steps of {config.batch_size}, {config.seeds} seeds")
    for claim_id, other, what in (
        ("quarter-below-half", 0.25, "explosion at β = ¼ hinders training"),
        ("half-not-below-one", 1.0, "the near-identity network at β = 1 does no better"),
    ):
        differences = [accuracy[(seed, 0.5)] - accuracy[(seed, other)] for seed in seeds]
        measured, stderr = mean_and_stderr(differences)
        result.claim(at_least(
            f"004.training.beta[{claim_id}]",
            f"After training ({protocol}), the final test accuracy at β = ½ is at least that at β = {other:g}, "
            f"seed by seed on average: {what} (a diverged run counts as 0).",
            f"{SOURCE}, §2.4 Conclusion",
            low=0.0, measured=measured, stderr=stderr,
        ))
    fig = result.figure(
        "test-accuracy",
        f"Final test accuracy of each seed at β = ¼, ½, 1 ({protocol}); lines join the runs of one seed, which share "
        f"their batches.",
    )
    ax = fig.subplots()
    for seed in seeds:
        ax.plot(range(len(BETAS)), [accuracy[(seed, beta)] for beta in BETAS], marker="o", color="#8fb3d9")
    means = [np.mean([accuracy[(seed, beta)] for seed in seeds]) for beta in BETAS]
    ax.plot(range(len(BETAS)), means, marker="s", color="#c0392b", linewidth=2, label="mean over seeds")
    ax.set(xticks=range(len(BETAS)), xticklabels=[f"β = {beta:g}" for beta in BETAS], ylabel="test accuracy",
           ylim=(0, 1))
    ax.legend()
    return result
