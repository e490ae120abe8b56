"""The MNIST-1D reference protocol, as one function: train a reference model and measure its test accuracy.

Greydanus (2020) trains on the default MNIST-1D split (4000 training and 1000 test signals) with Adam, learning
rate 1e-2, batches of 100 taken in order (the data are already shuffled), for 6000 steps, and reports the final
test accuracy: about 68% for the MLP and 94% for the CNN (the models are in :mod:`neurones.nn.reference`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from neurones import functional as F
from neurones import optim
from neurones.data.loader import DataLoader
from neurones.data.mnist1d import load_mnist1d
from neurones.nn.reference import mnist1d_cnn, mnist1d_mlp
from neurones.train.callbacks import ProgressBar
from neurones.train.loop import evaluate, fit

MODELS = {"mlp": mnist1d_mlp, "cnn": mnist1d_cnn}
LEARNING_RATE = 1e-2
BATCH_SIZE = 100
STEPS = 6000


@dataclass(frozen=True)
class Mnist1dOutcome:
    accuracy: float
    loss: float
    train_accuracy: float
    final_batch_loss: float
    seconds: float


def train_reference(model: str = "cnn", steps: int = STEPS, seed: int = 0, shuffle: bool = False,
                    progress_bar: bool = False, datasets=None) -> Mnist1dOutcome:
    """One run of the protocol for ``model`` (``"cnn"`` or ``"mlp"``); ``seed`` draws the initial weights (and the
    batch order with ``shuffle``). ``datasets`` = (train, test) avoids reloading the cached data set."""
    if model not in MODELS:
        raise ValueError(f"unknown MNIST-1D model {model!r} (choose one of {', '.join(MODELS)})")
    train_set, test_set = datasets if datasets is not None else load_mnist1d()
    network = MODELS[model](rng=seed)
    optimizer = optim.Adam(network.parameters(), lr=LEARNING_RATE)
    loader = DataLoader(train_set, batch_size=BATCH_SIZE, shuffle=shuffle, rng=seed)
    callbacks = [ProgressBar(desc=f"MNIST-1D {model}")] if progress_bar else []
    start = time.perf_counter()
    history = fit(network, F.cross_entropy, optimizer, loader, steps=steps, callbacks=callbacks)
    seconds = time.perf_counter() - start
    test = evaluate(network, DataLoader(test_set, batch_size=1000), loss_fn=F.cross_entropy)
    train = evaluate(network, DataLoader(train_set, batch_size=1000), loss_fn=F.cross_entropy)
    return Mnist1dOutcome(
        accuracy=test["accuracy"],
        loss=test["loss"],
        train_accuracy=train["accuracy"],
        final_batch_loss=history.steps["loss"][-1],
        seconds=seconds,
    )
