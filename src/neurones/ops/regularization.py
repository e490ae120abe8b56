"""Dropout: random masks that regularize by zeroing units during training (value clipping is ``clamp``).

Inverted dropout keeps each unit with probability 1 − p and rescales the kept ones, so that the expectation is
unchanged and evaluation needs no correction:

    y = x ⊙ m / (1 − p),  m ~ Bernoulli(1 − p) entrywise;   ∂L/∂x = g ⊙ m / (1 − p).

``dropout2d`` draws one m per (sample, channel) and broadcasts it over the spatial axes, dropping whole feature
maps (neighbouring pixels are correlated, so dropping them one by one regularizes little). The mask is drawn as
float32 uniforms u from the Generator given as ``rng`` (a Generator, an int seed, or ``None`` for the process-wide
default one), and a unit is kept where u ≥ p. With p = 0 or outside training, dropout is the identity and returns
its input; with p = 1 every unit is dropped (y = 0, ∂L/∂x = 0).
"""

from __future__ import annotations

import numpy as np

from neurones.autodiff.function import Function
from neurones.backend import as_generator
from neurones.errors import ShapeError


class Dropout(Function):
    """y = x ⊙ m · scale for a fixed boolean mask m (broadcast to x) and scale = 1/(1 − p);  ∂L/∂x = g ⊙ m · scale."""

    def forward(self, x, *, keep, scale):
        y = np.multiply(x, keep, dtype=x.dtype)
        y *= scale
        if self.parents is not None:
            self.scale = scale
        self.save_for_backward(keep)
        return y

    def backward(self, g):
        (keep,) = self.saved
        gx = np.multiply(g, keep, dtype=g.dtype)
        gx *= self.scale
        return (gx,)


def _check_p(op: str, p) -> float:
    if not 0 <= p <= 1:
        raise ValueError(f"{op}: dropout probability has to be between 0 and 1, but got {p}")
    return float(p)


def _drop(input, p: float, mask_shape: tuple, inplace: bool, rng):
    keep = as_generator(rng).random(mask_shape, dtype=np.float32) >= p
    scale = 1.0 / (1.0 - p) if p < 1 else 0.0
    if inplace:
        return input.mul_(np.multiply(keep, scale, dtype=input.dtype))
    return Dropout.apply(input, keep=keep, scale=scale)


def dropout(input, p=0.5, training=True, inplace=False, rng=None):
    """Inverted dropout, as ``torch.nn.functional.dropout``: each entry is zeroed with probability ``p`` and the
    kept ones are scaled by 1/(1 − p). The identity (the input itself) when ``p == 0`` or not ``training``.

    ``rng``: a ``numpy.random.Generator``, an int seed, or ``None`` for the process-wide default Generator.
    ``inplace=True`` multiplies ``input`` in place (refused, like every in-place op, on a tensor that requires
    grad while recording).
    """
    p = _check_p("dropout", p)
    if not training or p == 0:
        return input
    return _drop(input, p, tuple(input.shape), inplace, rng)


def dropout2d(input, p=0.5, training=True, inplace=False, rng=None):
    """Channel dropout of (N, C, H, W) or (N, C, L), as ``torch.nn.functional.dropout2d``: each (sample, channel)
    feature map is zeroed with probability ``p``, the kept ones scaled by 1/(1 − p)."""
    p = _check_p("dropout2d", p)
    if input.ndim not in (3, 4):
        raise ShapeError(f"dropout2d: expected an input of shape (N, C, H, W) or (N, C, L), got {tuple(input.shape)}")
    if not training or p == 0:
        return input
    return _drop(input, p, tuple(input.shape[:2]) + (1,) * (input.ndim - 2), inplace, rng)
