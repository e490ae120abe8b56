"""Resampling: ``interpolate`` with PyTorch's ``nearest``, ``linear`` and ``bilinear`` modes.

Each spatial axis is resampled on its own (bilinear is linear along rows, then along columns). An output position
o maps to the source coordinate x(o) = (o + ½)·scale − ½ (``align_corners=False``: pixel centres line up) or
x(o) = o·(in − 1)/(out − 1) (``align_corners=True``: the corner pixels line up), with scale = in/out, or
1/scale_factor when a scale factor is given. Linear modes mix the two neighbours, y = (1 − λ) x[⌊x(o)⌋] +
λ x[⌊x(o)⌋ + 1] with λ = x(o) − ⌊x(o)⌋ (coordinates below 0 are clamped to 0); ``nearest`` takes
x[min(⌊o·scale⌋, in − 1)]. Both are linear maps built from ``index_select`` and products, whose backward sends
each output's cotangent to its sources with the same weights.
"""

from __future__ import annotations

import numpy as np

from neurones.autodiff.tensor import Tensor
from neurones.errors import ShapeError
from neurones.ops import arithmetic as ar
from neurones.ops.indexing import index_select

_MODES = {"nearest": None, "linear": 1, "bilinear": 2}


def _output_sizes(shape: tuple, spatial: int, size, scale_factor) -> tuple[tuple, tuple]:
    """The output size of each spatial axis, and the scale factor given for it (or None)."""
    inputs = shape[-spatial:]
    if (size is None) == (scale_factor is None):
        raise ValueError("interpolate: give exactly one of size and scale_factor")
    if size is not None:
        sizes = (size,) * spatial if isinstance(size, int) else tuple(size)
        factors = (None,) * spatial
    else:
        factors = (scale_factor,) * spatial if isinstance(scale_factor, (int, float)) else tuple(scale_factor)
        sizes = tuple(int(np.floor(n * f)) for n, f in zip(inputs, factors))
    if len(sizes) != spatial or any(n <= 0 for n in sizes):
        raise ShapeError(f"interpolate: output size {sizes} does not fit {spatial} spatial dims of shape {shape}")
    return sizes, factors


def _scale(n_in: int, n_out: int, factor, align_corners: bool) -> float:
    if align_corners:
        return (n_in - 1) / (n_out - 1) if n_out > 1 else 0.0
    return 1.0 / factor if factor is not None else n_in / n_out


def _nearest(x: Tensor, axis: int, n_out: int, factor) -> Tensor:
    n_in = x.shape[axis]
    source = np.minimum(np.floor(np.arange(n_out) * _scale(n_in, n_out, factor, False)).astype(np.int64), n_in - 1)
    return index_select(x, axis, source)


def _linear(x: Tensor, axis: int, n_out: int, factor, align_corners: bool) -> Tensor:
    n_in = x.shape[axis]
    scale = _scale(n_in, n_out, factor, align_corners)
    positions = np.arange(n_out, dtype=np.float64)
    source = positions * scale if align_corners else np.maximum((positions + 0.5) * scale - 0.5, 0.0)
    lower = np.minimum(np.floor(source).astype(np.int64), n_in - 1)
    upper = np.minimum(lower + 1, n_in - 1)
    weight = (source - lower).astype(x.dtype)
    shape = [1] * x.ndim
    shape[axis] = n_out
    weight = weight.reshape(shape)
    return ar.add(ar.mul(index_select(x, axis, lower), 1 - weight), ar.mul(index_select(x, axis, upper), weight))


def interpolate(input, size=None, scale_factor=None, mode: str = "nearest", align_corners=None):
    """Resample the spatial dims of (N, C, L) or (N, C, H, W) to ``size`` or by ``scale_factor``, as
    ``torch.nn.functional.interpolate`` (modes ``"nearest"``, ``"linear"`` for 3-d, ``"bilinear"`` for 4-d)."""
    if mode not in _MODES:
        raise ValueError(f"interpolate: mode must be one of {sorted(_MODES)}, got {mode!r}")
    spatial = input.ndim - 2
    if spatial not in (1, 2) or (_MODES[mode] is not None and _MODES[mode] != spatial):
        raise ShapeError(f"interpolate: mode {mode!r} does not fit an input of shape {input.shape}")
    if mode == "nearest" and align_corners is not None:
        raise ValueError("interpolate: align_corners only applies to the linear modes")
    sizes, factors = _output_sizes(input.shape, spatial, size, scale_factor)
    out = input
    for k, (n_out, factor) in enumerate(zip(sizes, factors)):
        axis = 2 + k
        if mode == "nearest":
            out = _nearest(out, axis, n_out, factor)
        else:
            out = _linear(out, axis, n_out, factor, bool(align_corners))
    return out
