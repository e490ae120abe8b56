"""CIFAR-10 with the convolutional ODE-ResNet of Marion, Wu, Sander & Biau (ICLR 2024; seed 003): smooth against
i.i.d. initialization of the residual blocks.

The network (:class:`~neurones.nn.ODEConvResNet`) is a stem convolution, L residual blocks
x ↦ x + (1/L)·BN(conv3×3(σ(BN(conv3×3 x)))) and a linear head. As in the authors' code, the convolutions keep
their biases and each block's second batch normalization starts at 0 (the branch is 0 at initialization, the
convolutional V = 0). Its blocks' kernels and biases start either as samples Z_k = 𝒵(k/L) of one function of
depth (smooth: every block a copy of one, or a Gaussian process in depth) or as independent draws (i.i.d.); both
are trained with the paper's protocol: SGD with momentum 0.9, weight decay 5·10⁻⁴, batches of 64,
learning rate 0.04 on a cosine schedule over 180 epochs, random crops (padding 4) and horizontal flips,
cross-entropy. The paper reports 81.28% test accuracy for BN + GELU + smooth initialization at L = 256, and
(Figure 1) that the trained smooth-init weights still discretize a smooth function of depth while i.i.d.-init
weights stay rough.

Measured here: the roughness max_k ‖Z_{k+1} − Z_k‖_F of the trained kernels (the larger of the two convolutions of
the blocks), the test accuracy along training, and a few kernel coefficients against k/L. The one claim,
``003.cifar10-smooth``, compares the two roughnesses: smooth init is at least 5× smoother after training. Its rule
means the same thing after any amount of training, so it holds at every scale. The test accuracy is reported
without a claim: the paper's 81.28% is a number for 180 epochs at L = 256, and a rule checked on shorter runs would
not be the same rule.

CIFAR-10 is not downloaded: the experiment reads the "python version" batches from ``data_dir`` (default: the
environment variable ``NEURONES_CIFAR10``). When no folder is configured the run is *skipped* — no claims, and the
report says how to point it at the data; a configured folder that does not hold the data is an error.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

import neurones as nr
from neurones import functional as F
from neurones import optim
from neurones.analysis.neural_ode import roughness
from neurones.data.readers import load_cifar10
from neurones.data.transforms import Compose, Normalize, RandomCrop, RandomHorizontalFlip
from neurones.errors import ConfigError
from neurones.lab.claims import at_least
from neurones.lab.config import scales
from neurones.lab.registry import experiment
from neurones.lab.result import Result
from neurones.lab.statistics import mean_and_stderr
from neurones.lab.sweep import grid, sweep
from neurones.nn.depth_functions import depth_grid
from neurones.nn.ode_conv_resnet import ODEConvResNet

SOURCE = "marion-2024, CIFAR-10 experiment and Figure 1"
DATA_ENVIRONMENT_VARIABLE = "NEURONES_CIFAR10"
PAPER_TEST_ACCURACY = 0.8128
RATIO_FLOOR = 5.0
CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR10_STD = (0.2470, 0.2435, 0.2616)
EVAL_BATCH = 500
TRACKED_COEFFICIENTS = 3


def default_data_dir() -> str | None:
    """The CIFAR-10 folder named by ``NEURONES_CIFAR10``, or ``None``."""
    return os.environ.get(DATA_ENVIRONMENT_VARIABLE) or None


@scales(
    quick=dict(depth=16, epochs=3, train_size=4000, test_size=1000),
    smoke=dict(depth=3, epochs=1, train_size=128, test_size=64),
)
@dataclass(frozen=True)
class Cifar10Config:
    """The paper's protocol. ``train_size``/``test_size`` keep the first images of each split (the batches are
    already shuffled; ``None``: all 50,000 / 10,000); ``seeds`` repeats the pair (smooth, i.i.d.)."""

    data_dir: str | None = field(default_factory=default_data_dir)
    depth: int = 256
    smooth_init: Literal["constant", "gp"] = "constant"
    activation: Literal["gelu", "relu", "tanh", "identity"] = "gelu"
    weight_scale: Literal["default", "he"] = "default"
    bandwidth: float = 0.25
    epochs: int = 180
    batch_size: int = 64
    lr: float = 0.04
    momentum: float = 0.9
    weight_decay: float = 5e-4
    train_size: int | None = None
    test_size: int | None = None
    seeds: int = 1

    def __post_init__(self) -> None:
        if self.depth < 2 or self.epochs < 1 or self.batch_size < 1 or self.seeds < 1:
            raise ValueError("depth ≥ 2 (roughness compares neighbouring blocks), epochs, batch_size, seeds ≥ 1")
        if any(size is not None and size < 1 for size in (self.train_size, self.test_size)):
            raise ValueError("train_size and test_size must be ≥ 1 (or none for the whole split)")
        # A folder that was named but is not there is a mistake to report at once, not a reason to skip.
        if self.data_dir is not None and not os.path.isdir(os.path.expanduser(self.data_dir)):
            raise ValueError(missing_data_message(self.data_dir, "no such folder"))


def missing_data_message(data_dir: str | None, error: FileNotFoundError | str | None = None) -> str:
    """Where CIFAR-10 was looked for (``error`` says what is missing) and how to point the experiment at it: the
    reason for a skip when no folder is configured, the error message when a configured folder lacks the data."""
    how = (f"set {DATA_ENVIRONMENT_VARIABLE}=/path/to/cifar-10-batches-py or pass --set data_dir=/path/to/it "
           f"(the python version of CIFAR-10, as extracted from cifar-10-python.tar.gz)")
    if data_dir is None:
        return f"CIFAR-10 folder not given: {how}."
    return f"CIFAR-10 not found at {data_dir} ({error}): {how}."


def load_images(config: Cifar10Config) -> dict[str, np.ndarray]:
    """The training and test (sub)sets: uint8 images (N, 3, 32, 32) and int64 labels. ``FileNotFoundError`` when
    ``config.data_dir`` lacks a batch."""
    folder = os.path.expanduser(config.data_dir)
    x_train, y_train = load_cifar10(folder, train=True)
    x_test, y_test = load_cifar10(folder, train=False)
    return {
        "x_train": x_train[: config.train_size], "y_train": y_train[: config.train_size],
        "x_test": x_test[: config.test_size], "y_test": y_test[: config.test_size],
    }


def pixels(images: np.ndarray) -> np.ndarray:
    """uint8 images as float32 in [0, 1] (converted batch by batch: the whole training set in float32 is 600 MB)."""
    return images.astype(np.float32) / 255


def kernel_roughness(model: ODEConvResNet) -> float:
    """max over the blocks' two convolutions of max_k ‖Z_{k+1} − Z_k‖_F."""
    return max(roughness(kernels) for kernels in model.stacked_kernels())


def _evaluate(model: ODEConvResNet, x: np.ndarray, y: np.ndarray, normalize: Normalize) -> tuple[float, float]:
    """(mean cross-entropy, accuracy) in evaluation mode (batch normalization on its running statistics)."""
    model.eval()
    loss_sum, correct = 0.0, 0
    with nr.no_grad():
        for start in range(0, len(y), EVAL_BATCH):
            logits = model(nr.from_numpy(normalize(pixels(x[start : start + EVAL_BATCH]))))
            target = nr.from_numpy(y[start : start + EVAL_BATCH])
            loss_sum += float(F.cross_entropy(logits, target, reduction="sum").item())
            correct += int(np.sum(logits.data.argmax(axis=1) == target.data))
    model.train()
    return loss_sum / len(y), correct / len(y)


def _train(point: Mapping[str, Any], rng: np.random.Generator) -> dict[str, Any]:
    """Train one network with the protocol; per-epoch curves, roughness and the tracked kernel coefficients."""
    config: Cifar10Config = point["config"]
    data = point["data"]
    model = ODEConvResNet(config.depth, point["init"], config.activation, weight_scale=config.weight_scale,
                          bandwidth=config.bandwidth, rng=rng)
    optimizer = optim.SGD(model.parameters(), lr=config.lr, momentum=config.momentum,
                          weight_decay=config.weight_decay)
    scheduler = optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=config.epochs)
    augment = Compose([RandomCrop(32, padding=4, rng=rng), RandomHorizontalFlip(rng=rng)])
    normalize = Normalize(CIFAR10_MEAN, CIFAR10_STD)
    x_train, y_train = data["x_train"], data["y_train"]
    initial_roughness = kernel_roughness(model)
    epochs = []
    model.train()
    for epoch in range(1, config.epochs + 1):
        lr = optimizer.param_groups[0]["lr"]
        order = rng.permutation(len(y_train))
        loss_sum, correct = 0.0, 0
        for start in range(0, len(order), config.batch_size):
            batch = order[start : start + config.batch_size]
            x = nr.from_numpy(normalize(augment(pixels(x_train[batch]))))
            target = nr.from_numpy(y_train[batch])
            optimizer.zero_grad()
            logits = model(x)
            loss = F.cross_entropy(logits, target)
            loss.backward()
            optimizer.step()
            loss_sum += float(loss.item()) * len(batch)
            correct += int(np.sum(logits.data.argmax(axis=1) == target.data))
        scheduler.step()
        test_loss, test_accuracy = _evaluate(model, data["x_test"], data["y_test"], normalize)
        epochs.append({
            "init": point["init"], "seed": point["seed"], "epoch": epoch, "lr": lr,
            "train_loss": loss_sum / len(order), "train_accuracy": correct / len(order),
            "test_loss": test_loss, "test_accuracy": test_accuracy, "roughness": kernel_roughness(model),
        })
    first, _ = model.stacked_kernels()
    flat = first.reshape(config.depth, -1).astype(np.float64)
    return {
        "init": point["init"],
        "seed": point["seed"],
        "epochs": epochs,
        "initial_roughness": initial_roughness,
        "final_roughness": epochs[-1]["roughness"],
        "test_accuracy": epochs[-1]["test_accuracy"],
        "test_size": len(data["y_test"]),
        "train_size": len(y_train),
        "coefficients": flat[:, list(point["coefficients"])],
    }


@experiment("ode-cifar10", config=Cifar10Config, source=SOURCE,
            title="CIFAR-10 with a convolutional ODE-ResNet: smooth vs i.i.d. initialization (trained weights)")
def run(config: Cifar10Config, rng: np.random.Generator) -> Result:
    result = Result(config)
    if config.data_dir is None:
        result.skip(missing_data_message(None))
        return result
    try:
        data = load_images(config)
    except FileNotFoundError as exc:
        raise ConfigError(missing_data_message(config.data_dir, exc)) from None
    inits = (config.smooth_init, "iid")
    channels = 16
    coefficients = tuple(int(i) for i in rng.choice(channels * channels * 9, TRACKED_COEFFICIENTS, replace=False))
    points = [{**p, "config": config, "data": data, "coefficients": coefficients}
              for p in grid(seed=range(config.seeds), init=inits)]
    runs = sweep(_train, points, rng, desc="CIFAR-10 ODE-ResNet")
    result.table("runs", [_run_record(r) for r in runs])
    result.table("epochs", [row for r in runs for row in r["epochs"]])
    result.table("coefficients", [
        {"init": r["init"], "seed": r["seed"], "coefficient": c, "k": k + 1, "s": s, "value": float(value)}
        for r in runs for j, c in enumerate(coefficients)
        for k, (s, value) in enumerate(zip(depth_grid(config.depth), r["coefficients"][:, j]))
    ])
    _smoothness_claim(result, config, runs)
    _figures(result, config, runs, coefficients)
    return result


def _run_record(r: Mapping[str, Any]) -> dict[str, Any]:
    accuracy = r["test_accuracy"]
    return {
        "init": r["init"], "seed": r["seed"], "test_accuracy": accuracy,
        "test_accuracy_stderr": math.sqrt(accuracy * (1 - accuracy) / r["test_size"]),
        "paper_test_accuracy": PAPER_TEST_ACCURACY, "initial_roughness": r["initial_roughness"],
        "final_roughness": r["final_roughness"],
    }


def _smoothness_claim(result: Result, config: Cifar10Config, runs: list[dict]) -> None:
    final = {(r["init"], r["seed"]): r["final_roughness"] for r in runs}
    ratios = np.array([final[("iid", seed)] / final[(config.smooth_init, seed)] for seed in range(config.seeds)])
    if ratios.size > 1:
        measured, stderr = mean_and_stderr(ratios)
        spread = f"mean over {ratios.size} seeds ± its standard error"
    else:  # one training run per init: no Monte Carlo error is estimated, the ratio is taken as measured
        measured, stderr = float(ratios[0]), 0.0
        spread = "one training run per initialization, so no standard error"
    result.claim(at_least(
        "003.cifar10-smooth",
        f"After training on CIFAR-10 (L = {config.depth}, {config.epochs} epoch{'s' if config.epochs > 1 else ''}, "
        f"σ = {config.activation}), the "
        f"blocks' kernels of the {config.smooth_init}-in-depth initialization are much smoother in depth than "
        f"those of the i.i.d. initialization: roughness max_k ‖Z_(k+1) − Z_k‖_F (i.i.d.) / (smooth) ≥ "
        f"{RATIO_FLOOR:g} ({spread}).",
        SOURCE,
        low=RATIO_FLOOR, measured=measured, stderr=stderr,
    ))


def _figures(result: Result, config: Cifar10Config, runs: list[dict], coefficients: tuple[int, ...]) -> None:
    colors = {config.smooth_init: "#2c7fb8", "iid": "#c0392b"}
    fig = result.figure(
        "test-accuracy",
        f"Test accuracy after each epoch on {runs[0]['test_size']} test images (L = {config.depth}, "
        f"{runs[0]['train_size']} training images), smooth ({config.smooth_init}) and i.i.d. initialization; "
        f"dashed: the paper's {PAPER_TEST_ACCURACY:.2%} for "
        f"BN + GELU + smooth initialization at L = 256 after 180 epochs on the full data set.",
    )
    ax = fig.subplots()
    for r in runs:
        ax.plot([e["epoch"] for e in r["epochs"]], [e["test_accuracy"] for e in r["epochs"]], marker="o",
                color=colors[r["init"]], label=f"{r['init']} (seed {r['seed']})")
    ax.axhline(PAPER_TEST_ACCURACY, linestyle="--", color="#555555", label="paper, L = 256")
    ax.set(xlabel="epoch", ylabel="test accuracy", ylim=(0, 1))
    ax.legend()

    fig = result.figure(
        "roughness",
        f"Roughness max_k ‖Z_(k+1) − Z_k‖_F of the blocks' kernels (larger of the two convolutions) at "
        f"initialization (epoch 0) and after each epoch, per initialization, L = {config.depth}; log scale, so "
        f"the zero roughness of the constant initialization at epoch 0 is not drawn.",
    )
    ax = fig.subplots()
    for r in runs:
        epochs = np.array([0] + [e["epoch"] for e in r["epochs"]])
        values = np.array([r["initial_roughness"]] + [e["roughness"] for e in r["epochs"]])
        drawn = values > 0
        ax.plot(epochs[drawn], values[drawn], marker="o", color=colors[r["init"]],
                label=f"{r['init']} (seed {r['seed']})")
    ax.set(xlabel="epoch", ylabel="roughness", yscale="log")
    ax.legend()

    fig = result.figure(
        "coefficients-vs-depth",
        f"{len(coefficients)} entries of the first convolution's kernel of every block against depth k/L after "
        f"training (seed 0), smooth ({config.smooth_init}) and i.i.d. initialization, L = {config.depth}: "
        f"the paper's Figure 1.",
        figsize=(9.0, 3.6),
    )
    axes = fig.subplots(1, 2, sharey=True)
    s = depth_grid(config.depth)
    for ax, init in zip(axes, (config.smooth_init, "iid")):
        r = next(r for r in runs if r["init"] == init and r["seed"] == 0)
        for j, c in enumerate(coefficients):
            ax.plot(s, r["coefficients"][:, j], marker=".", label=f"entry {c}")
        ax.set(xlabel="depth k/L", title=f"{init} initialization")
        ax.legend(fontsize="small")
    axes[0].set_ylabel("trained kernel entry")
