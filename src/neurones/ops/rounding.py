"""Rounding and integer division: ``floor``, ``ceil``, ``round``, ``trunc``, ``floor_divide`` (``//``),
``remainder`` (``%``), ``fmod`` and ``div(rounding_mode=...)``.

The rounding functions are piecewise constant: their gradient is 0 everywhere (at the jumps too, the convention
PyTorch follows). The remainder a − b⌊a/b⌋ is piecewise linear: ∂/∂a = 1 and ∂/∂b = −⌊a/b⌋, which its definition
through ``floor_divide`` (gradient 0) gives; ``fmod``, a − b·trunc(a/b), likewise.
"""

from __future__ import annotations

import numpy as np

from neurones.autodiff.function import Function
from neurones.errors import ShapeError
from neurones.ops import arithmetic as ar


class Step(Function):
    """y = r(x) for a rounding function r (floor, ceil, round, trunc) or ⌊a/b⌋, ⌈·⌉...: piecewise constant, so
    ∂L/∂x = 0 for every input."""

    def forward(self, *arrays, rounding):
        self.shapes = tuple(a.shape for a in arrays)
        self.dtypes = tuple(a.dtype for a in arrays)
        try:
            y = rounding(*arrays)
        except ValueError:
            shapes = " and ".join(str(a.shape) for a in arrays)
            raise ShapeError(f"{rounding.__name__}: shapes {shapes} cannot be broadcast together") from None
        return y.astype(np.result_type(*arrays), copy=False)  # NumPy's floor of an integer array is float

    def backward(self, g):
        return tuple(
            np.zeros(shape, dtype) if parent is not None else None
            for shape, dtype, parent in zip(self.shapes, self.dtypes, self.parents)
        )


def _round_to(decimals: int):
    def rounded(x):
        return np.round(x, decimals)

    rounded.__name__ = "round"
    return rounded


def floor(x):
    return Step.apply(x, rounding=np.floor)


def ceil(x):
    return Step.apply(x, rounding=np.ceil)


def trunc(x):
    return Step.apply(x, rounding=np.trunc)


def round(x, decimals: int = 0):
    """Round half to even (as PyTorch and NumPy), to ``decimals`` digits after the point."""
    return Step.apply(x, rounding=np.round if decimals == 0 else _round_to(decimals))


def _floor_of_quotient(a, b):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.floor_divide(a, b)


def _trunc_of_quotient(a, b):
    with np.errstate(divide="ignore", invalid="ignore"):
        quotient = np.true_divide(a, b)
    return np.trunc(quotient).astype(np.result_type(a, b), copy=False)


_floor_of_quotient.__name__ = "floor_divide"
_trunc_of_quotient.__name__ = "div"


def floor_divide(a, b):
    """⌊a/b⌋ (Python's ``//``, as ``torch.floor_divide``); gradient 0."""
    return Step.apply(*ar.tensor_pair(a, b), rounding=_floor_of_quotient)


def remainder(a, b):
    """a − b ⌊a/b⌋: the remainder with the sign of the divisor (Python's ``%``, as ``torch.remainder``)."""
    a, b = ar.tensor_pair(a, b)
    return ar.sub(a, ar.mul(floor_divide(a, b), b))


def fmod(a, b):
    """a − b·trunc(a/b): the remainder with the sign of the dividend (C's ``fmod``, as ``torch.fmod``)."""
    a, b = ar.tensor_pair(a, b)
    return ar.sub(a, ar.mul(div(a, b, rounding_mode="trunc"), b))


def div(a, b, *, rounding_mode: str | None = None):
    """a / b as ``torch.div``: true division, or rounded with ``rounding_mode="trunc"`` (toward 0) or
    ``"floor"`` (toward −∞), whose gradient is 0."""
    if rounding_mode is None:
        return ar.div(a, b)
    if rounding_mode == "floor":
        return floor_divide(a, b)
    if rounding_mode == "trunc":
        return Step.apply(*ar.tensor_pair(a, b), rounding=_trunc_of_quotient)
    raise ValueError(f"div: rounding_mode must be None, 'trunc' or 'floor', got {rounding_mode!r}")
