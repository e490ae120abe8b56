r"""Kernels as classifiers: kernel regression with the analytic tangent kernel on MNIST-1D (seed 000 §6, "ces noyaux
ont effectivement été utilisés pour entraîner des modèles et obtenir de bonnes performances sur des tâches de
classification [7]"; Arora et al. 2019).

An infinitely wide network trained by gradient flow to convergence on the squared loss, from outputs centred at 0,
predicts f(x) = Θ(x, X) Θ(X, X)⁻¹ Y: kernel regression with its tangent kernel
(:func:`~neurones.analysis.ntk.kernel_regression`, ridge 0). We use the fully connected ReLU kernel with two hidden
layers — the depth of the reference MLP (40 → 100 → residual 100 → 10) — σ_w = 1 and σ_b = 0.1 (the bias of
Jacot et al.'s figure, used throughout the lab), on the standardized signals of the canonical 4000/1000 split,
with one-hot targets centred by 1/10. These choices are fixed here, not tuned on the test set; at full scale the
table ``kernel_choices`` reports the other depths and biases for reference.

``000.ntk.kernel-accuracy``: the kernel's test accuracy lies between the reference MLP's (trained in this run with
the reference protocol, :func:`neurones.train.mnist1d.train_reference`) minus 3 points and the reference CNN's:
a wide network in the kernel regime is a fair fully connected classifier but cannot use the translation structure
that the convolution does. The band's ends are themselves measured (mean over seeds); the rule allows 3 standard
errors of the kernel's (binomial) accuracy.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from neurones.analysis.ntk import infinite_width_kernels, kernel_regression
from neurones.data.mnist1d import load_mnist1d
from neurones.lab.claims import band
from neurones.lab.config import scales
from neurones.lab.registry import experiment
from neurones.lab.result import Result
from neurones.lab.statistics import accuracy_and_stderr, mean_and_stderr
from neurones.lab.sweep import sweep
from neurones.train.mnist1d import STEPS, train_reference

SOURCE = "merad-2020, §6, noyaux utilisés en classification [7]"
SOURCE_ARORA = "arora-2019, §6 (CNTK against the networks)"
DEPTH = 2
BIAS_STD = 0.1
MLP_MARGIN = 0.03
CLASSES = 10
TEST_SIZE = 1000


@scales(quick=dict(seeds=1, kernel_choices=False), smoke=dict(seeds=1, steps=30, train_size=300, test_size=200,
                                                              kernel_choices=False))
@dataclass(frozen=True)
class NTKMnist1dConfig:
    seeds: int = 3
    steps: int = STEPS
    train_size: int = 4000
    test_size: int = TEST_SIZE
    kernel_choices: bool = True

    def __post_init__(self) -> None:
        if self.seeds < 1 or self.steps < 1 or self.train_size < CLASSES or self.test_size < 1:
            raise ValueError("seeds, steps and sizes must be positive (train_size ≥ 10)")


def _standardized(train_size: int, test_size: int) -> tuple[np.ndarray, ...]:
    train, test = load_mnist1d(dtype=np.float64)
    x, y = train.tensors[0].data[:train_size], train.tensors[1].data[:train_size]
    x_test, y_test = test.tensors[0].data[:test_size], test.tensors[1].data[:test_size]
    mean, std = x.mean(axis=0), x.std(axis=0)
    return (x - mean) / std, y, (x_test - mean) / std, y_test


def _kernel_accuracy(x, y, x_test, y_test, depth: int, bias_std: float) -> float:
    ntk = infinite_width_kernels(x, depth=depth, bias_std=bias_std)[1]
    cross = infinite_width_kernels(x_test, x, depth=depth, bias_std=bias_std)[1]
    targets = np.eye(CLASSES)[y] - 1.0 / CLASSES
    prediction = kernel_regression(ntk, targets, cross)
    return float(np.mean(prediction.argmax(axis=1) == y_test))


def _reference(point: Mapping[str, Any], rng: np.random.Generator) -> dict[str, Any]:
    seed = int(rng.integers(2**31))
    outcome = train_reference(point["model"], steps=point["steps"], seed=seed)
    return {"model": point["model"], "seed": seed, "test_accuracy": outcome.accuracy}


@experiment(
    "ntk-mnist1d",
    config=NTKMnist1dConfig,
    title="Kernel regression with the analytic tangent kernel on MNIST-1D, against the reference networks",
    source=SOURCE,
)
def run(config: NTKMnist1dConfig, rng: np.random.Generator) -> Result:
    result = Result(config)
    x, y, x_test, y_test = _standardized(config.train_size, config.test_size)
    accuracy = _kernel_accuracy(x, y, x_test, y_test, DEPTH, BIAS_STD)
    _, stderr = accuracy_and_stderr([accuracy], len(y_test))
    points = [{"model": model, "steps": config.steps} for model in ("mlp", "cnn") for _ in range(config.seeds)]
    references = sweep(_reference, points, rng, desc="MNIST-1D reference networks")
    mlp, _ = mean_and_stderr([r["test_accuracy"] for r in references if r["model"] == "mlp"])
    cnn, _ = mean_and_stderr([r["test_accuracy"] for r in references if r["model"] == "cnn"])
    result.claim(band(
        "000.ntk.kernel-accuracy",
        f"Kernel regression with the analytic ReLU tangent kernel ({DEPTH} hidden layers, σ_b = {BIAS_STD}, ridge 0) "
        f"on MNIST-1D ({len(y)}/{len(y_test)} split) classifies between the reference MLP's accuracy minus "
        f"{MLP_MARGIN:.0%} ({mlp:.3f} measured, {config.seeds} seed(s)) and the reference CNN's ({cnn:.3f}).",
        SOURCE,
        low=mlp - MLP_MARGIN, high=cnn, measured=accuracy, stderr=stderr,
    ))
    rows = [{"model": f"NTK (depth {DEPTH}, σ_b = {BIAS_STD})", "test_accuracy": accuracy}]
    rows += [{"model": f"{r['model'].upper()} (seed {r['seed']})", "test_accuracy": r["test_accuracy"]}
             for r in references]
    result.table("accuracies", rows)
    if config.kernel_choices:
        result.table("kernel_choices", [
            {"depth": depth, "bias_std": bias_std,
             "test_accuracy": _kernel_accuracy(x, y, x_test, y_test, depth, bias_std)}
            for depth in (1, 2, 3, 5) for bias_std in (0.0, 0.1)
        ])
    fig = result.figure(
        "accuracies",
        "Test accuracy on MNIST-1D: kernel regression with the analytic tangent kernel against the reference "
        "networks trained with Adam (the claim's band: from the MLP's accuracy minus 3 points to the CNN's).",
    )
    ax = fig.subplots()
    names = ["NTK regression", "MLP", "CNN"]
    values = [accuracy, mlp, cnn]
    ax.bar(names, values, color=["C0", "C1", "C2"])
    ax.axhspan(mlp - MLP_MARGIN, cnn, color="#dddddd", zorder=0)
    ax.set(ylabel="test accuracy", ylim=(0, 1))
    return result
