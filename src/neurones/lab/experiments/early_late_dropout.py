r"""Early dropout against underfitting, late dropout against overfitting ("Rien ne sert de courir", dropout; Liu,
Xu, Zhou, Wu, Jiang & Darrell 2023, "Dropout reduces underfitting", §4–5; :class:`neurones.train.DropoutSchedule`).

Liu et al. schedule the dropout rate over training (``drop_scheduler.py`` of facebookresearch/dropout): *standard*
keeps p, *early* decays it linearly from p to 0 over the first 20% of the steps and then trains without it,
*late* trains without dropout for 20% of the steps and with p after. Their finding: a model that underfits ends with
a *lower* training loss and no worse test accuracy with early dropout than without any; a model that overfits
generalizes better with standard or late dropout. Two regimes on MNIST-1D, each an MLP with four hidden ReLU layers
and a dropout module (p = 0.1) after each, trained by AdamW (lr 1e-3 with a cosine decay to 0, weight decay 0.01,
batches of 128), from the same initialization and the same minibatch order under the four schedules:

- *underfitting*: width 64 on 40,000 generated signals (``num_samples = 50,000``, tested on the other 10,000);
- *overfitting*: a wide MLP (512 at full scale, 256 at quick) on the canonical 4000 training signals.

Claims (paired differences over seeds, each up to three standard errors):

- ``002.early-dropout.underfit[train-loss]``: final training loss (evaluation mode, the whole training set) none −
  early ≥ 0;
- ``002.early-dropout.underfit[test-accuracy]``: test accuracy early − none ≥ 0;
- ``002.late-dropout.overfit[late]`` and ``[standard]``: test accuracy with the schedule − none ≥ 0 in the
  overfitting regime;
- ``002.dropout.regularizes``: the train − test accuracy gap with standard dropout is at most 0.8 of the gap
  without (mean of the per-seed ratios).
"""

from __future__ import annotations

import operator
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

import neurones.functional as F
from neurones import nn, optim
from neurones.data import DataLoader
from neurones.data.mnist1d import load_mnist1d
from neurones.lab.claims import at_least, at_most
from neurones.lab.config import scales
from neurones.lab.registry import experiment
from neurones.lab.result import Result
from neurones.lab.statistics import mean_and_stderr
from neurones.lab.sweep import sweep
from neurones.train import DropoutSchedule, evaluate, fit

SOURCE = "lopes-quintas-2025, dropout (Liu et al. 2023)"
RATE = 0.1
CUTOFF_FRACTION = 0.2  # drop_scheduler.py's cutoff, as a fraction of the steps
DEPTH = 4
BATCH = 128
CANONICAL_SAMPLES = 5000  # the canonical MNIST-1D: 4000 training and 1000 test signals
SCHEDULES = ("none", "standard", "early", "late")
GAP_RATIO = 0.8


@scales(quick=dict(seeds=3, steps=1500, overfit_width=256),
        smoke=dict(seeds=2, steps=20, underfit_width=16, overfit_width=32, underfit_samples=CANONICAL_SAMPLES))
@dataclass(frozen=True)
class EarlyLateDropoutConfig:
    seeds: int = 3
    steps: int = 3000
    underfit_width: int = 64
    overfit_width: int = 512
    underfit_samples: int = 50_000

    def __post_init__(self) -> None:
        if self.seeds < 2 or self.steps < 5 or min(self.underfit_width, self.overfit_width) < 1:
            raise ValueError("seeds ≥ 2, steps ≥ 5 and positive widths are required")
        if self.underfit_samples < 100:
            raise ValueError("underfit_samples must be at least 100")


def _data(samples: int):
    return load_mnist1d() if samples == CANONICAL_SAMPLES else load_mnist1d(num_samples=samples)


def _network(width: int, rng: np.random.Generator) -> nn.Sequential:
    layers: list[nn.Module] = []
    for index in range(DEPTH):
        layers += [nn.Linear(40 if index == 0 else width, width, rng=rng), nn.ReLU(), nn.Dropout(RATE, rng=rng)]
    return nn.Sequential(*layers, nn.Linear(width, 10, rng=rng))


def _train(point: Mapping[str, Any], rng: np.random.Generator) -> dict[str, Any]:
    train, test = _data(point["samples"])
    model = _network(point["width"], np.random.default_rng(point["init_seed"]))  # same start for every schedule
    optimizer = optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)
    steps = point["steps"]
    schedule = DropoutSchedule(0.0 if point["schedule"] == "none" else RATE, steps,
                               "standard" if point["schedule"] == "none" else point["schedule"],
                               cutoff=int(CUTOFF_FRACTION * steps))
    loader = DataLoader(train, batch_size=BATCH, shuffle=True, rng=point["order_seed"])  # same minibatch order
    fit(model, F.cross_entropy, optimizer, loader, steps=steps, callbacks=[schedule], metrics=(),
        scheduler=optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps), scheduler_interval="step")
    on_train = evaluate(model, [train.tensors], loss_fn=F.cross_entropy)
    on_test = evaluate(model, [test.tensors], loss_fn=F.cross_entropy)
    return {**{k: point[k] for k in ("regime", "schedule", "init_seed")}, "train_loss": on_train["loss"],
            "train_accuracy": on_train["accuracy"], "test_loss": on_test["loss"],
            "test_accuracy": on_test["accuracy"], "gap": on_train["accuracy"] - on_test["accuracy"]}


def _paired(runs: list[dict], regime: str, key: str, schedule: str, combine=operator.sub) -> list[float]:
    """Per initialization: ``combine(key under schedule, key without dropout)`` (the difference by default)."""
    by = {(r["init_seed"], r["schedule"]): r[key] for r in runs if r["regime"] == regime}
    return [combine(by[seed, schedule], by[seed, "none"]) for seed, name in by if name == "none"]


@experiment(
    "early-late-dropout",
    config=EarlyLateDropoutConfig,
    title="Early dropout helps a model that underfits, late dropout one that overfits",
    source=SOURCE,
)
def run(config: EarlyLateDropoutConfig, rng: np.random.Generator) -> Result:
    result = Result(config)
    regimes = {"underfit": (config.underfit_width, config.underfit_samples),
               "overfit": (config.overfit_width, CANONICAL_SAMPLES)}
    for _, samples in regimes.values():
        _data(samples)  # generate (or read) once, before the workers start
    points = []
    for regime, (width, samples) in regimes.items():
        for init_seed, order_seed in rng.integers(2**31, size=(config.seeds, 2)):
            points += [{"regime": regime, "schedule": schedule, "width": width, "samples": samples,
                        "steps": config.steps, "init_seed": int(init_seed), "order_seed": int(order_seed)}
                       for schedule in SCHEDULES]
    runs = sweep(_train, points, rng, desc="dropout schedules")
    setting = (f"MNIST-1D, MLP with {DEPTH} hidden ReLU layers, dropout {RATE} (early: decayed to 0 by "
               f"{CUTOFF_FRACTION:.0%} of the steps; late: from {CUTOFF_FRACTION:.0%} on), AdamW with cosine decay, "
               f"{config.steps} steps, {config.seeds} initializations, paired")
    underfit = (f"In the underfitting regime (width {config.underfit_width}, "
                f"{int(0.8 * config.underfit_samples)} training signals; {setting})")
    overfit = f"In the overfitting regime (width {config.overfit_width}, 4000 training signals; {setting})"
    mean, stderr = mean_and_stderr([-d for d in _paired(runs, "underfit", "train_loss", "early")])
    result.claim(at_least(
        "002.early-dropout.underfit[train-loss]",
        f"{underfit}, early dropout ends with a lower training loss than none: loss(none) − loss(early) ≥ 0.",
        SOURCE, low=0.0, measured=mean, stderr=stderr,
    ))
    mean, stderr = mean_and_stderr(_paired(runs, "underfit", "test_accuracy", "early"))
    result.claim(at_least(
        "002.early-dropout.underfit[test-accuracy]",
        f"{underfit}, early dropout's test accuracy is no worse than none's: acc(early) − acc(none) ≥ 0.",
        SOURCE, low=0.0, measured=mean, stderr=stderr,
    ))
    for schedule in ("late", "standard"):
        mean, stderr = mean_and_stderr(_paired(runs, "overfit", "test_accuracy", schedule))
        result.claim(at_least(
            f"002.late-dropout.overfit[{schedule}]",
            f"{overfit}, {schedule} dropout improves the test accuracy over none: acc({schedule}) − acc(none) ≥ 0.",
            SOURCE, low=0.0, measured=mean, stderr=stderr,
        ))
    mean, stderr = mean_and_stderr(_paired(runs, "overfit", "gap", "standard", combine=operator.truediv))
    result.claim(at_most(
        "002.dropout.regularizes",
        f"{overfit}, standard dropout narrows the train − test accuracy gap: gap(standard) / gap(none) ≤ "
        f"{GAP_RATIO} (mean of the per-initialization ratios).",
        SOURCE, high=GAP_RATIO, measured=mean, stderr=stderr,
    ))
    result.table("runs", runs)
    fig = result.figure(
        "schedules",
        "Final training loss in the underfitting regime (left), test accuracy (middle) and train − test accuracy gap "
        "(right) in the overfitting regime, for each dropout schedule: one point per initialization, the bar is "
        "the mean.",
    )
    axes = fig.subplots(1, 3)
    for ax, regime, key, label in zip(axes, ("underfit", "overfit", "overfit"),
                                      ("train_loss", "test_accuracy", "gap"),
                                      ("training loss (underfit)", "test accuracy (overfit)", "gap (overfit)")):
        for index, schedule in enumerate(SCHEDULES):
            values = [r[key] for r in runs if r["regime"] == regime and r["schedule"] == schedule]
            ax.scatter(np.full(len(values), index), values, s=12, color=f"C{index}")
            ax.hlines(np.mean(values), index - 0.3, index + 0.3, color=f"C{index}")
        ax.set(xticks=range(len(SCHEDULES)), xticklabels=SCHEDULES, ylabel=label)
    return result
