"""The demo of ``neurones demo``: a small MLP learns two interleaved spirals, written as one would in PyTorch.

Two spirals are the classic data set that no linear model separates (each class winds around the other), so a
high accuracy shows the whole engine at work: affine layers, ReLU, softmax cross-entropy, backpropagation, Adam.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

import neurones as nr
from neurones import functional as F
from neurones import nn, optim
from neurones.lab.progress import progress

TURNS = 1.25


@dataclass(frozen=True)
class DemoOutcome:
    parameters: int
    seconds: float
    initial_loss: float
    final_loss: float
    train_accuracy: float
    test_accuracy: float


def two_spirals(count: int, rng: np.random.Generator, noise: float = 0.04) -> tuple[np.ndarray, np.ndarray]:
    """``count`` points (float32, shape (count, 2)) on two interleaved spiral arms and their labels 0/1.

    Arm k is r(t) = t, angle 2π·TURNS·t + kπ for t in (0, 1], with Gaussian noise of standard deviation ``noise``;
    t is drawn as √u so that points are spread evenly along the arm rather than crowded at the centre."""
    labels = rng.integers(0, 2, size=count)
    t = np.sqrt(rng.random(count))
    angle = 2.0 * math.pi * TURNS * t + math.pi * labels
    points = np.stack([t * np.cos(angle), t * np.sin(angle)], axis=1)
    points += noise * rng.standard_normal(points.shape)
    return points.astype(np.float32), labels


def train_spirals(steps: int = 400, seed: int = 0, hidden: int = 64, train_size: int = 1000) -> DemoOutcome:
    """Train a 2 → hidden → hidden → 2 ReLU MLP with Adam on full batches of two spirals; report its accuracy on
    the training set and on fresh points."""
    rng = np.random.default_rng(seed)
    nr.manual_seed(seed)
    train_x, train_y = two_spirals(train_size, rng)
    test_x, test_y = two_spirals(train_size, rng)
    inputs, targets = nr.tensor(train_x), nr.tensor(train_y)
    model = nn.Sequential(nn.Linear(2, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, 2))
    optimizer = optim.Adam(model.parameters(), lr=0.01)

    started = time.perf_counter()
    losses = []
    bar = progress(range(steps), desc="two spirals")
    for _ in bar:
        optimizer.zero_grad()
        loss = F.cross_entropy(model(inputs), targets)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        bar.set_postfix(loss=f"{losses[-1]:.3f}", refresh=False)
    seconds = time.perf_counter() - started

    with nr.no_grad():
        train_accuracy = _accuracy(model(inputs).numpy(), train_y)
        test_accuracy = _accuracy(model(nr.tensor(test_x)).numpy(), test_y)
    return DemoOutcome(
        parameters=sum(parameter.numel() for parameter in model.parameters()),
        seconds=seconds,
        initial_loss=losses[0],
        final_loss=losses[-1],
        train_accuracy=train_accuracy,
        test_accuracy=test_accuracy,
    )


def _accuracy(logits: np.ndarray, labels: np.ndarray) -> float:
    return float(np.mean(logits.argmax(axis=1) == labels))
