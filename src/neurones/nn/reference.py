"""The reference models of MNIST-1D (Greydanus 2020), with which the dataset's baseline accuracies were measured.

Both take signals of shape ``(N, 40)`` and return scores ``(N, 10)``, and start from PyTorch's default
initialization, as the reference code (``mnist1d/models.py``) does. With its protocol (Adam, learning rate 1e-2,
batches of 100, 6000 steps, the default 4000/1000 split) the MLP reaches about 68% test accuracy and the CNN about
94%; ``python -m benchmarks.mnist1d_reference`` measures ours.
"""

from __future__ import annotations

from neurones.backend import Seed, as_generator
from neurones.nn.activation import ReLU
from neurones.nn.containers import Sequential
from neurones.nn.conv import Conv1d
from neurones.nn.linear import Flatten, Linear
from neurones.nn.module import Module
from neurones.nn.residual import Residual

SIGNAL_LENGTH = 40
NUM_CLASSES = 10


class AddChannelDim(Module):
    """``(N, L) → (N, 1, L)``: a batch of signals seen as one-channel sequences, the input layout of ``Conv1d``."""

    def forward(self, x):
        return x.unsqueeze(1)


def mnist1d_mlp(rng: Seed = None, hidden: int = 100) -> Sequential:
    """40 → ``hidden`` → ReLU → one residual layer h + ReLU(W h + b) → 10."""
    rng = as_generator(rng)
    return Sequential(
        Linear(SIGNAL_LENGTH, hidden, rng=rng),
        ReLU(),
        Residual(Sequential(Linear(hidden, hidden, rng=rng), ReLU())),
        Linear(hidden, NUM_CLASSES, rng=rng),
    )


def mnist1d_cnn(rng: Seed = None, channels: int = 25) -> Sequential:
    """Three strided convolutions with ReLU, then a linear layer: ``Conv1d(1, 25, 5, stride 2, padding 1)`` (length
    40 → 19), ``Conv1d(25, 25, 3, stride 2, padding 1)`` (→ 10), the same again (→ 5), flatten (125) → 10."""
    rng = as_generator(rng)
    return Sequential(
        AddChannelDim(),
        Conv1d(1, channels, 5, stride=2, padding=1, rng=rng),
        ReLU(),
        Conv1d(channels, channels, 3, stride=2, padding=1, rng=rng),
        ReLU(),
        Conv1d(channels, channels, 3, stride=2, padding=1, rng=rng),
        ReLU(),
        Flatten(),
        Linear(channels * 5, NUM_CLASSES, rng=rng),
    )
