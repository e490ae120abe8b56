"""MNIST-1D with the reference protocol: the whole engine, trained end to end, against published accuracies.

Greydanus (2020) introduced MNIST-1D as a small data set on which architectures still differ clearly: with Adam
(learning rate 1e-2, batches of 100 in order, 6000 steps) on the default 4000/1000 split, its MLP reaches about
68% test accuracy and its CNN about 94%. Reaching these numbers exercises everything below the lab at once:
convolutions, affine layers, ReLU, the fused softmax cross-entropy, backpropagation and Adam. The claims are the
project's acceptance thresholds for the reference models: a mean test accuracy ≥ 63% (MLP) and ≥ 90% (CNN).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from neurones.data.mnist1d import load_mnist1d
from neurones.lab.claims import at_least
from neurones.lab.config import scales
from neurones.lab.registry import experiment
from neurones.lab.result import Result
from neurones.lab.statistics import accuracy_and_stderr
from neurones.lab.sweep import sweep
from neurones.train.mnist1d import STEPS, train_reference

SOURCE = "greydanus-2020, reference protocol: Adam lr 1e-2, batch 100, 6000 steps, 4000/1000 split"
THRESHOLDS = {"mlp": 0.63, "cnn": 0.90}
TEST_SIZE = 1000  # the canonical MNIST-1D split: 4000 training and 1000 test signals


@scales(quick=dict(seeds=2), smoke=dict(seeds=1, steps=50))
@dataclass(frozen=True)
class Mnist1dConfig:
    seeds: int = 3
    steps: int = STEPS

    def __post_init__(self) -> None:
        if self.seeds < 1 or self.steps < 1:
            raise ValueError("seeds and steps must be ≥ 1")


def _train(point: Mapping[str, Any], rng: np.random.Generator) -> dict[str, Any]:
    seed = int(rng.integers(2**31))
    outcome = train_reference(point["model"], steps=point["steps"], seed=seed)
    return {"model": point["model"], "seed": seed, "test_accuracy": outcome.accuracy,
            "train_accuracy": outcome.train_accuracy, "test_loss": outcome.loss, "seconds": outcome.seconds}


@experiment("mnist1d-reference", config=Mnist1dConfig, title="MNIST-1D reference models trained end to end",
            source=SOURCE)
def run(config: Mnist1dConfig, rng: np.random.Generator) -> Result:
    result = Result(config)
    load_mnist1d()  # generate and cache the data set once, before any worker process needs it
    points = [{"model": model, "steps": config.steps} for model in THRESHOLDS for _ in range(config.seeds)]
    runs = sweep(_train, points, rng, desc="MNIST-1D")
    result.table("runs", runs)
    for model, threshold in THRESHOLDS.items():
        mean, stderr = accuracy_and_stderr([r["test_accuracy"] for r in runs if r["model"] == model], TEST_SIZE)
        result.claim(at_least(
            f"mnist1d.{model}",
            f"The reference {model.upper()} trained with the protocol ({config.steps} steps, {config.seeds} seeds) "
            f"reaches a mean test accuracy ≥ {threshold:.0%} (published: "
            f"{'≈ 68%' if model == 'mlp' else '≈ 94%'}).",
            SOURCE,
            low=threshold, measured=mean, stderr=stderr,
        ))
    fig = result.figure(
        "test-accuracy",
        f"Final test accuracy of each run ({config.steps} Adam steps) with the acceptance thresholds (dashed).",
    )
    ax = fig.subplots()
    for position, (model, threshold) in enumerate(THRESHOLDS.items()):
        accuracies = [r["test_accuracy"] for r in runs if r["model"] == model]
        ax.scatter([position] * len(accuracies), accuracies, label=model.upper(), zorder=3)
        ax.hlines(threshold, position - 0.3, position + 0.3, linestyles="--", colors="#555555")
    ax.set(xticks=range(len(THRESHOLDS)), xticklabels=[m.upper() for m in THRESHOLDS], ylabel="test accuracy",
           ylim=(0, 1))
    ax.legend()
    return result
