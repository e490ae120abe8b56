"""Dropout layers: ``Dropout`` (each unit independently) and ``Dropout2d`` (whole channels of ``(N, C, H, W)``).

In training each unit is zeroed with probability ``p`` and the survivors are scaled by ``1/(1 − p)``, so that the
expected activation is unchanged and evaluation is the identity ("Rien ne sert de courir...", § Dropout).
Randomness: ``rng`` (a Generator or an integer seed, turned into a Generator once at construction) draws a new
mask at every training forward; with ``rng=None`` masks come from the process-wide default Generator at call time
(re-seeded by ``neurones.manual_seed``).
"""

from __future__ import annotations

from neurones import functional as F
from neurones.backend import Seed, as_generator
from neurones.nn.module import Module


class _DropoutNd(Module):
    def __init__(self, p: float = 0.5, inplace: bool = False, *, rng: Seed = None) -> None:
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p = p
        self.inplace = inplace
        self.rng = None if rng is None else as_generator(rng)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Dropout(_DropoutNd):
    """Zero each element with probability ``p`` in training (scaling the rest by ``1/(1 − p)``); identity in eval.

    ``inplace`` is accepted for ported code; the mask is applied out of place.
    """

    def forward(self, x):
        return F.dropout(x, self.p, self.training, rng=self.rng)


class Dropout2d(_DropoutNd):
    """Zero whole channels ``x[n, c]`` of ``(N, C, H, W)`` inputs with probability ``p`` in training."""

    def forward(self, x):
        return F.dropout2d(x, self.p, self.training, rng=self.rng)
