"""A tiny classification problem and a factory of training runs, shared by the training-loop tests.

Two well-separated Gaussian classes in 4 dimensions (64 samples), and a small MLP with dropout. ``make_run``
builds every object of a run from seeds only, so that calling it twice gives two identical, independent runs:
the resume tests build "fresh objects" this way.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import neurones as nr
from neurones import nn, optim
from neurones.data.dataset import TensorDataset
from neurones.data.loader import DataLoader

NUM_SAMPLES = 64
BATCH_SIZE = 16  # 4 batches per epoch


def make_data(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = np.arange(NUM_SAMPLES) % 2
    x = rng.standard_normal((NUM_SAMPLES, 4)) + 1.5 * (2 * y[:, None] - 1)
    return x.astype(np.float32), y.astype(np.int64)


def make_model(seed: int = 1, dropout: bool = False) -> nn.Module:
    layers = [nn.Linear(4, 8, rng=seed), nn.ReLU()]
    if dropout:
        # One Dropout with its own Generator, one drawing from the process-wide default Generator.
        layers += [nn.Dropout(0.25, rng=seed + 100), nn.Linear(8, 8, rng=seed + 1), nn.ReLU(), nn.Dropout(0.25)]
    layers.append(nn.Linear(8, 2, rng=seed + 2))
    return nn.Sequential(*layers)


@dataclass
class Run:
    model: nn.Module
    optimizer: optim.Optimizer
    scheduler: object
    loader: DataLoader


def make_run(dropout: bool = True, shuffle: bool = True, lr: float = 0.05, sampler_seed: int | None = 3) -> Run:
    """Model, Adam, a StepLR and a shuffling loader, all from fixed seeds; also re-seeds the default Generator
    (which the seedless Dropout and, with ``sampler_seed=None``, the loader draw from)."""
    nr.manual_seed(1234)
    x, y = make_data()
    model = make_model(dropout=dropout)
    optimizer = optim.Adam(model.parameters(), lr=lr)
    scheduler = optim.lr_scheduler.StepLR(optimizer, step_size=3, gamma=0.5)
    loader = DataLoader(TensorDataset(x, y), batch_size=BATCH_SIZE, shuffle=shuffle, rng=sampler_seed)
    return Run(model, optimizer, scheduler, loader)


def parameters_of(model: nn.Module) -> list[np.ndarray]:
    return [p.data.copy() for p in model.parameters()]
