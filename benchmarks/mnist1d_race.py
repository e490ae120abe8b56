"""The MNIST-1D reference CNN trained to the end in both libraries: wall time and final test accuracy.

Protocol of the reference (Adam, lr 1e-2, batch 100, 6000 steps, the default 4000/1000 split). For each seed both
libraries start from the same weights (drawn by neurones, copied into PyTorch) and see the same batches (one
NumPy permutation stream), so accuracy differences come only from floating-point summation order.
"""

from __future__ import annotations

import time

import numpy as np

import neurones as nr
import neurones.functional as F
from benchmarks.machine import blas_canary
from benchmarks.threads import SETTINGS, label, thread_limits
from neurones import optim
from neurones.data.mnist1d import load_mnist1d
from neurones.nn.reference import mnist1d_cnn

STEPS, BATCH, LR = 6000, 100, 1e-2


def _batches(n: int, steps: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    per_epoch = n // BATCH
    epochs = -(-steps // per_epoch)
    order = np.concatenate([rng.permutation(n)[: per_epoch * BATCH] for _ in range(epochs)])
    return order.reshape(-1, BATCH)[:steps]


def _data():
    train, test = load_mnist1d()
    x_train, y_train = (t.data for t in train.tensors)
    x_test, y_test = (t.data for t in test.tensors)
    return x_train, y_train, x_test, y_test


def train_neurones(seed: int, steps: int = STEPS) -> tuple[float, float]:
    x_train, y_train, x_test, y_test = _data()
    model = mnist1d_cnn(rng=seed)
    opt = optim.Adam(model.parameters(), lr=LR)
    batches = _batches(len(x_train), steps, seed)
    start = time.perf_counter()
    for index in batches:
        opt.zero_grad()
        F.cross_entropy(model(nr.tensor(x_train[index])), nr.tensor(y_train[index])).backward()
        opt.step()
    elapsed = time.perf_counter() - start
    with nr.no_grad():
        accuracy = float(np.mean(np.argmax(model(nr.tensor(x_test)).data, axis=1) == y_test))
    return elapsed, accuracy


def train_torch(seed: int, steps: int = STEPS) -> tuple[float, float]:
    import torch

    x_train, y_train, x_test, y_test = _data()
    reference = mnist1d_cnn(rng=seed)
    channels = reference[1].out_channels
    tnn = torch.nn
    model = tnn.Sequential(
        tnn.Unflatten(1, (1, x_train.shape[1])),
        tnn.Conv1d(1, channels, 5, stride=2, padding=1), tnn.ReLU(),
        tnn.Conv1d(channels, channels, 3, stride=2, padding=1), tnn.ReLU(),
        tnn.Conv1d(channels, channels, 3, stride=2, padding=1), tnn.ReLU(),
        tnn.Flatten(), tnn.Linear(channels * 5, 10),
    )
    with torch.no_grad():
        for theirs, ours in zip(model.parameters(), reference.parameters()):
            theirs.copy_(torch.from_numpy(ours.data))
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    batches = _batches(len(x_train), steps, seed)
    x_all, y_all = torch.from_numpy(x_train), torch.from_numpy(y_train)
    start = time.perf_counter()
    for index in batches:
        index = torch.from_numpy(index)
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x_all[index]), y_all[index]).backward()
        opt.step()
    elapsed = time.perf_counter() - start
    with torch.no_grad():
        accuracy = float((model(torch.from_numpy(x_test)).argmax(1).numpy() == y_test).mean())
    return elapsed, accuracy


def race(seeds=(0, 1, 2), steps: int = STEPS) -> list[dict]:
    """One record per seed, thread setting and library; for each seed and setting the two libraries run one after
    the other, with the BLAS canary (see ``machine.blas_canary``) measured before and after the pair."""
    records = []
    for seed in seeds:
        for threads in SETTINGS:
            before = blas_canary()
            pair = []
            with thread_limits(threads):
                for library, train in (("neurones", train_neurones), ("torch", train_torch)):
                    elapsed, accuracy = train(seed, steps)
                    pair.append({"seed": seed, "library": library, "threads": label(threads), "seconds": elapsed,
                                 "accuracy": accuracy})
            after = blas_canary()
            records += [{**record, "canary before": before, "canary after": after} for record in pair]
    return records


if __name__ == "__main__":
    for record in race():
        print(record)
