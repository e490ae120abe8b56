r"""Training with stochastic depth: faster steps, less overfitting, and the evaluation-time rescaling ("Rien ne sert
de courir", stochastic depth; Huang, Sun, Liu, Sedra & Weinberger 2016).

A residual MLP on MNIST-1D: Linear(40, w), then L blocks h ↦ h + b_l·ReLU(W_l h) (``nn.StochasticDepth``, W_l
He-initialized and scaled by 1/√L so that the unnormalized stack trains) with
Huang et al.'s linear decay p_l = 1 − (l/L)(1 − p_L), p_L = ½, then Linear(w, 10); the same network with every
p_l = 1 is the baseline. Claims:

- ``002.sd.speedup``: a dropped block is not computed at all, forward or backward, so a training step costs in
  proportion to the blocks that run: the step-time ratio (stochastic depth over baseline, medians of alternating
  timed steps) is E[depth]/L = 1 − (1 − p_L)(L + 1)/(2L) within 10% (the input and output layers and the optimizer
  add a fixed cost that keeps the ratio slightly above);
- ``002.sd.overfit``: trained on 1000 signals, the network with stochastic depth overfits less: its train-minus-
  test accuracy gap is smaller than the baseline's (difference ≥ 0, standard error over seeds);
- ``002.sd.eval-scaling``: in evaluation a block returns h + p_l·f(h), the expectation of its training output
  h + b·f(h) over b ~ Bernoulli(p_l): the mean of many training outputs of one block equals its evaluation output
  (the largest relative deviation over the block's outputs, within 3 standard errors; tol 1e-12 for rounding).
"""

from __future__ import annotations

import time
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
from neurones.nn.residual import StochasticDepth, expected_depth, linear_decay_survival
from neurones.train import evaluate

SOURCE = "lopes-quintas-2025, Stochastic depth (Huang et al. 2016)"
FINAL_SURVIVAL = 0.5
SPEEDUP_TOLERANCE = 0.10
ROUNDING = 1e-12  # relative: the float64 rounding of a mean of many outputs
TRAIN_SIZE = 1000


@scales(quick=dict(seeds=3, epochs=15, timed_steps=60), smoke=dict(blocks=6, width=32, seeds=2, epochs=2,
                                                                  timed_steps=10, eval_draws=200))
@dataclass(frozen=True)
class SDTrainingConfig:
    blocks: int = 50
    width: int = 256
    seeds: int = 5
    epochs: int = 100
    timed_steps: int = 200
    eval_draws: int = 20_000

    def __post_init__(self) -> None:
        if self.blocks < 2 or self.width < 1 or self.seeds < 2 or self.epochs < 1 or self.timed_steps < 2:
            raise ValueError("blocks ≥ 2, seeds ≥ 2, timed_steps ≥ 2 and positive sizes are required")


def _network(blocks: int, width: int, survival: list[float], rng: np.random.Generator) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Linear(40, width, rng=rng)]
    for p in survival:
        branch = nn.Linear(width, width, rng=rng)
        # He initialization scaled by 1/√L (seed 004's β = ½): without it the 50 unnormalized blocks blow the
        # forward pass up and neither network trains (measured: about 25% accuracy after 15 epochs, against 98%).
        nn.init.kaiming_normal_(branch.weight, nonlinearity="relu", rng=rng)
        branch.weight.data *= 1 / np.sqrt(blocks)
        layers.append(StochasticDepth(nn.Sequential(branch, nn.ReLU()), p, rng=rng))
    layers.append(nn.Linear(width, 10, rng=rng))
    return nn.Sequential(*layers)


def _train(point: Mapping[str, Any], rng: np.random.Generator) -> dict[str, Any]:
    train, test = load_mnist1d()
    x, y = train.tensors[0][:TRAIN_SIZE], train.tensors[1][:TRAIN_SIZE]
    survival = (linear_decay_survival(point["blocks"], FINAL_SURVIVAL) if point["stochastic"]
                else [1.0] * point["blocks"])
    model = _network(point["blocks"], point["width"], survival, rng)
    optimizer = optim.Adam(model.parameters(), lr=1e-3)
    for _ in range(point["epochs"]):
        for batch in np.array_split(rng.permutation(TRAIN_SIZE), TRAIN_SIZE // 100):
            optimizer.zero_grad()
            F.cross_entropy(model(x[batch]), y[batch]).backward()
            optimizer.step()
    train_accuracy = evaluate(model, [(x, y)])["accuracy"]
    test_accuracy = evaluate(model, [test.tensors])["accuracy"]
    return {"stochastic": point["stochastic"], "train_accuracy": train_accuracy, "test_accuracy": test_accuracy,
            "gap": train_accuracy - test_accuracy}


def _step_times(config: SDTrainingConfig, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Seconds per training step of the two networks, timed alternately in this process."""
    train, _ = load_mnist1d()
    x, y = train.tensors[0][:256], train.tensors[1][:256]
    models = {
        stochastic: _network(config.blocks, config.width, linear_decay_survival(config.blocks, FINAL_SURVIVAL)
                             if stochastic else [1.0] * config.blocks, rng)
        for stochastic in (True, False)
    }
    optimizers = {key: optim.SGD(model.parameters(), lr=1e-3) for key, model in models.items()}
    times: dict[bool, list[float]] = {True: [], False: []}
    for step in range(config.timed_steps + 2):
        for key in (True, False):
            start = time.perf_counter()
            optimizers[key].zero_grad()
            F.cross_entropy(models[key](x), y).backward()
            optimizers[key].step()
            if step >= 2:  # two warm-up steps
                times[key].append(time.perf_counter() - start)
    return np.array(times[True]), np.array(times[False])


def _eval_scaling(config: SDTrainingConfig, rng: np.random.Generator) -> tuple[float, float]:
    """(the largest relative deviation of the mean training output of one block from its evaluation output, its
    standard error)."""
    block = StochasticDepth(nn.Sequential(nn.Linear(8, 8, dtype=np.float64, rng=rng), nn.ReLU()), 0.6, rng=rng)
    h = nr.tensor(rng.standard_normal((4, 8)))
    with nr.no_grad():
        block.train()
        outputs = np.array([block(h).data for _ in range(config.eval_draws)])
        block.eval()
        expected = block(h).data
    mean = outputs.mean(axis=0)
    stderr = outputs.std(axis=0, ddof=1) / np.sqrt(config.eval_draws)
    deviation = (mean - expected) / np.abs(expected).clip(1e-12)
    allowance = 3 * stderr / np.abs(expected).clip(1e-12) + ROUNDING
    worst = np.unravel_index(np.argmax(np.abs(deviation) / allowance), mean.shape)
    return float(deviation[worst]), float(stderr[worst] / abs(expected[worst]))


@experiment(
    "stochastic-depth-training",
    config=SDTrainingConfig,
    title="Stochastic depth in training: steps cost the expected depth, overfitting drops, evaluation rescales",
    source=SOURCE,
)
def run(config: SDTrainingConfig, rng: np.random.Generator) -> Result:
    result = Result(config)
    load_mnist1d()
    predicted = expected_depth(config.blocks, FINAL_SURVIVAL) / config.blocks
    stochastic_times, plain_times = _step_times(config, rng)
    ratio = float(np.median(stochastic_times) / np.median(plain_times))
    halves = [float(np.median(s) / np.median(p)) for s, p in zip(np.array_split(stochastic_times, 4),
                                                                  np.array_split(plain_times, 4))]
    _, spread = mean_and_stderr(halves)
    result.claim(equality(
        "002.sd.speedup",
        f"A dropped block costs nothing forward or backward, so a training step of the residual MLP ({config.blocks} "
        f"blocks of width {config.width}, p_L = ½) takes E[depth]/L = {predicted:.4g} of the baseline's time, within "
        f"{SPEEDUP_TOLERANCE:.0%}: measured, the ratio of median step times ({config.timed_steps} alternating steps; "
        f"standard error from four quarters of them).",
        SOURCE,
        predicted=predicted, measured=ratio, stderr=spread, tol=SPEEDUP_TOLERANCE * predicted,
    ))
    runs = sweep(_train, [{"stochastic": s, "blocks": config.blocks, "width": config.width, "epochs": config.epochs}
                          for _ in range(config.seeds) for s in (False, True)], rng, desc="training")
    differences = [plain["gap"] - stochastic["gap"] for plain, stochastic in zip(runs[::2], runs[1::2])]
    mean, stderr = mean_and_stderr(differences)
    result.claim(at_least(
        "002.sd.overfit",
        f"Trained on {TRAIN_SIZE} MNIST-1D signals for {config.epochs} epochs (Adam, {config.seeds} seeds), the "
        f"network with stochastic depth overfits less: baseline gap (train − test accuracy) minus its gap ≥ 0.",
        SOURCE,
        low=0.0, measured=mean, stderr=stderr,
    ))
    deviation, deviation_se = _eval_scaling(config, rng)
    result.claim(equality(
        "002.sd.eval-scaling",
        f"In evaluation a block returns h + p·f(h), the expectation of its training output h + b·f(h), "
        f"b ~ Bernoulli(p): the mean of {config.eval_draws} training outputs of one block (p = 0.6) equals its "
        f"evaluation output (the largest relative deviation, in standard errors, over its outputs; tol {ROUNDING:g} "
        f"for rounding, where a zero branch output makes every draw identical).",
        SOURCE,
        predicted=0.0, measured=deviation, stderr=deviation_se, tol=ROUNDING,
    ))
    result.table("training", runs)
    result.table("step_times", [{"stochastic_ms": 1e3 * s, "baseline_ms": 1e3 * p}
                                for s, p in zip(stochastic_times, plain_times)])
    fig = result.figure(
        "step-times-and-gaps",
        f"Left: training step times with stochastic depth and without (the dashed line is E[depth]/L times the "
        f"baseline's median). Right: train − test accuracy gap after {config.epochs} epochs, per seed.",
    )
    left, right = fig.subplots(1, 2)
    left.hist(1e3 * plain_times, bins=30, alpha=0.6, label="baseline")
    left.hist(1e3 * stochastic_times, bins=30, alpha=0.6, label="stochastic depth")
    left.axvline(1e3 * predicted * np.median(plain_times), color="black", linestyle="--")
    left.set(xlabel="ms per step", ylabel="steps")
    left.legend(fontsize=7)
    right.scatter(np.zeros(config.seeds), [r["gap"] for r in runs[::2]], label="baseline")
    right.scatter(np.ones(config.seeds), [r["gap"] for r in runs[1::2]], label="stochastic depth")
    right.set(xticks=[0, 1], xticklabels=["baseline", "stochastic depth"], ylabel="train − test accuracy")
    return result
