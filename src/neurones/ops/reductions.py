"""Reductions: sums and means, moments, extrema, log-sum-exp, norms and products over some or all axes.

Every reduction takes PyTorch's ``dim`` (an int, a tuple of ints, negative counting from the back, or ``None``
for all axes) and ``keepdim``. A reduction over all axes returns a 0-d tensor. The backward of a reduction
spreads the cotangent back over the reduced axes: it is reshaped to the ``keepdim`` shape (:func:`kept_shape`)
and broadcast against the input, which usually costs no copy (the engine never writes into views).

Non-differentiable points (the subgradient conventions of "Mise en œuvre de Neurones", §I.2, Remarque):

* ``max``/``min``/``amax``/``amin`` and the ∞-norm share the gradient *equally* among tied extrema: with ``k``
  entries equal to the maximum each receives ``g / k`` (the average of the one-sided choices, itself a
  subgradient). PyTorch does the same for ``amax``/``amin`` and full reductions, but ``max(dim)``/``min(dim)``
  there send the whole gradient to the one returned index; ours still splits it equally.
* ``std`` at a zero standard deviation, and the 2-norm (and every p-norm) of a zero vector, have gradient 0, as in
  PyTorch.
* ``var``/``std`` with ``N − correction ≤ 0`` divide by zero and give ``inf``/``nan``, as in PyTorch.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from neurones.autodiff.function import Function
from neurones.autodiff.tensor import Tensor, _wrap
from neurones.ops import arithmetic, shape
from neurones.ops.dims import canonical_dim, canonical_dims, kept_shape

_ndarray = np.ndarray
_add_reduce = np.add.reduce  # what ndarray.sum calls, minus a Python wrapper; ndarray.mean costs 3× a sum


def _spread(g: np.ndarray, shape: tuple) -> np.ndarray:
    """A read-only view of the 0-d ``g`` repeated over ``shape`` (what ``np.broadcast_to`` builds, 10× faster)."""
    view = _ndarray(shape, g.dtype, g, 0, (0,) * len(shape))
    view.flags.writeable = False
    return view


def _count(shape: tuple, axes: tuple) -> int:
    return math.prod(shape[i] for i in axes)


# ---------------------------------------------------------------------------------------------- sums and means
class SumAll(Function):
    """y = Σᵢ xᵢ over every entry;  ∂L/∂x = g repeated over x's shape. The fast path of ``x.sum()``."""

    def forward(self, x):
        self.shape = x.shape
        return _add_reduce(x, None)

    def backward(self, g):
        return (_spread(g, self.shape),)


class Sum(Function):
    """y = Σ over ``axes`` of x;  ∂L/∂x = g broadcast back over the summed axes."""

    def forward(self, x, axes, keepdim):
        if self.parents is not None:
            self.shape, self.kept = x.shape, kept_shape(x.shape, axes)
        return _add_reduce(x, axes, keepdims=keepdim)

    def backward(self, g):
        return (np.broadcast_to(g.reshape(self.kept), self.shape),)


class Mean(Function):
    """y = (1/N) Σ over ``axes`` of x, N the number of reduced entries;  ∂L/∂x = g / N broadcast back."""

    def forward(self, x, axes, keepdim):
        count = _count(x.shape, axes)
        if self.parents is not None:
            self.shape, self.kept, self.count = x.shape, kept_shape(x.shape, axes), count
        return _add_reduce(x, axes, keepdims=keepdim) / count

    def backward(self, g):
        return (np.broadcast_to(g.reshape(self.kept) / self.count, self.shape),)


# ------------------------------------------------------------------------------------------------------ moments
def _reduced_shape(shape: tuple, axes: tuple) -> list:
    return [n for i, n in enumerate(shape) if i not in axes]


def _central_moment(x, axes, correction):
    """x − x̄, the denominator max(0, N − c), and the variance with ``keepdim=True``."""
    count = _count(x.shape, axes)
    centered = x - _add_reduce(x, axes, keepdims=True) / count
    denominator = count - correction if count > correction else 0
    with np.errstate(divide="ignore", invalid="ignore"):
        var = np.square(centered).sum(axis=axes, keepdims=True) / denominator
    return centered, denominator, var


class Var(Function):
    """σ² = Σ (x − x̄)² / max(0, N − c) over ``axes``, c the ``correction`` (1: Bessel's unbiased estimate).

    ∂σ²/∂xᵢ = 2 (xᵢ − x̄) / (N − c): the term through x̄ vanishes because Σ (xᵢ − x̄) = 0.
    """

    def forward(self, x, axes, correction, keepdim):
        centered, denominator, var = _central_moment(x, axes, correction)
        if self.parents is not None:
            self.denominator, self.kept = denominator, var.shape
            self.save_for_backward(centered)
        return var if keepdim else var.reshape(_reduced_shape(x.shape, axes))

    def backward(self, g):
        (centered,) = self.saved
        with np.errstate(divide="ignore", invalid="ignore"):
            return (centered * (g.reshape(self.kept) * 2 / self.denominator),)


class Std(Function):
    """σ = √(Σ (x − x̄)² / max(0, N − c));  ∂σ/∂xᵢ = (xᵢ − x̄) / ((N − c) σ), and 0 where σ = 0 (as PyTorch)."""

    def forward(self, x, axes, correction, keepdim):
        centered, denominator, var = _central_moment(x, axes, correction)
        std = np.sqrt(var, out=var)
        if self.parents is not None:
            self.denominator = denominator
            self.save_for_backward(centered, std)
        return std if keepdim else std.reshape(_reduced_shape(x.shape, axes))

    def backward(self, g):
        centered, std = self.saved
        scale = np.zeros(std.shape, g.dtype)
        with np.errstate(divide="ignore", invalid="ignore"):
            np.divide(g.reshape(std.shape), std * self.denominator, out=scale, where=std != 0)
        return (centered * scale,)


# ----------------------------------------------------------------------------------------------------- extrema
class Amax(Function):
    """y = max over ``axes`` of x;  ∂L/∂xᵢ = g / k on the k entries equal to the maximum, 0 elsewhere."""

    reduce = staticmethod(np.max)

    def forward(self, x, axes, keepdim):
        extremum = self.reduce(x, axis=axes, keepdims=True)
        if self.parents is not None:
            self.axes = axes
            self.save_for_backward(x, extremum)
        return extremum if keepdim else extremum.reshape(_reduced_shape(x.shape, axes))

    def backward(self, g):
        x, extremum = self.saved
        hits = x == extremum
        with np.errstate(divide="ignore", invalid="ignore"):
            share = g.reshape(extremum.shape) / hits.sum(axis=self.axes, keepdims=True, dtype=g.dtype)
        return (np.multiply(hits, share),)


class Amin(Amax):
    """y = min over ``axes`` of x;  ∂L/∂xᵢ = g / k on the k entries equal to the minimum, 0 elsewhere."""

    reduce = staticmethod(np.min)


class ValuesIndices(NamedTuple):
    """What ``max(x, dim)`` and ``min(x, dim)`` return, as ``torch.return_types.max``: values and their indices."""

    values: Tensor
    indices: Tensor


# --------------------------------------------------------------------------------------------- log-sum-exp
class LogSumExp(Function):
    """y = log Σ exp(x) = m + log Σ exp(x − m) with m = max x (no overflow);  ∂L/∂x = g softmax(x).

    An all −∞ slice gives −∞ and a +∞ entry gives +∞, as in PyTorch (m is replaced by 0 where it is not finite).
    """

    def forward(self, x, axes, keepdim):
        shift = x.max(axis=axes, keepdims=True)
        if not np.isfinite(shift).all():
            shift = np.where(np.isfinite(shift), shift, 0).astype(x.dtype, copy=False)
        exps = np.exp(x - shift)
        total = exps.sum(axis=axes, keepdims=True)
        with np.errstate(divide="ignore"):
            y = np.log(total)
        y += shift
        if self.parents is not None:
            with np.errstate(invalid="ignore", divide="ignore"):
                exps /= total
            self.kept = y.shape
            self.save_for_backward(exps)
        return y if keepdim else y.reshape(_reduced_shape(x.shape, axes))

    def backward(self, g):
        (softmax,) = self.saved
        return (softmax * g.reshape(self.kept),)


# ------------------------------------------------------------------------------------------------------- norms
class VectorNorm(Function):
    """‖x‖_p over ``axes`` (the entries of the reduced axes taken as one vector), for p = 1, 2, ∞ or any real p ≥ 1.

    * p = 2:  y = √Σ x²,        ∂y/∂x = x / y;
    * p = 1:  y = Σ |x|,        ∂y/∂x = sign(x)  (subgradient 0 at x = 0);
    * p = ∞:  y = max |x|,      ∂y/∂x = sign(x) / k on the k entries where |x| = y (ties share equally);
    * else:   y = (Σ |x|^p)^(1/p),  ∂y/∂x = sign(x) |x|^(p−1) / y^(p−1).

    At y = 0 every gradient is 0 (the subgradient of smallest norm), as in PyTorch.
    """

    def forward(self, x, axes, p, keepdim):
        if p == 2:
            y = np.sqrt(np.square(x).sum(axis=axes, keepdims=True))
        elif p == 1:
            y = np.abs(x).sum(axis=axes, keepdims=True)
        elif p == math.inf:
            y = np.abs(x).max(axis=axes, keepdims=True)
        else:
            y = (np.abs(x) ** p).sum(axis=axes, keepdims=True) ** (1.0 / p)
        if self.parents is not None:
            self.p, self.axes = p, axes
            self.save_for_backward(x, y)
        return y if keepdim else y.reshape(_reduced_shape(x.shape, axes))

    def backward(self, g):
        x, y = self.saved
        p = self.p
        g = g.reshape(y.shape)
        if p == 1:
            return (np.sign(x) * g,)
        if p == math.inf:
            hits = np.abs(x) == y
            share = g / hits.sum(axis=self.axes, keepdims=True, dtype=g.dtype)
            return (np.sign(x) * hits * share,)
        nonzero = y != 0
        scale = np.zeros(y.shape, g.dtype)
        if p == 2:
            np.divide(g, y, out=scale, where=nonzero)
            return (x * scale,)
        np.divide(g, y ** (p - 1), out=scale, where=nonzero)
        return (np.sign(x) * np.abs(x) ** (p - 1) * scale,)


# ---------------------------------------------------------------------------------------------------- products
class Prod(Function):
    """y = ∏ xᵢ along one axis;  ∂y/∂xᵢ = ∏_{j≠i} xⱼ, computed from prefix and suffix products (exact at zeros)."""

    def forward(self, x, axis, keepdim):
        y = x.prod(axis=axis, keepdims=True)
        if self.parents is not None:
            self.axis, self.kept = axis, y.shape
            self.save_for_backward(x)
        return y if keepdim else y.reshape(_reduced_shape(x.shape, (axis,)))

    def backward(self, g):
        (x,) = self.saved
        x = np.moveaxis(x, self.axis, -1)
        before = np.ones_like(x)
        np.cumprod(x[..., :-1], axis=-1, out=before[..., 1:])
        after = np.ones_like(x)
        np.cumprod(x[..., :0:-1], axis=-1, out=after[..., -2::-1])
        before *= after
        others = np.moveaxis(before, -1, self.axis)
        return (others * g.reshape(self.kept),)


# ------------------------------------------------------------------------------------------------ public API
def sum(x, dim=None, keepdim: bool = False, *, axis=None):
    """Sum over ``dim`` (an int, a tuple, or ``None`` for all axes); ``axis`` is NumPy's name for ``dim``, which
    PyTorch accepts too (as every reduction here)."""
    dim = dim if axis is None else axis
    if dim is None and not keepdim:
        return SumAll.apply(x)
    return Sum.apply(x, axes=canonical_dims(dim, x.shape, "sum"), keepdim=keepdim)


def mean(x, dim=None, keepdim: bool = False, *, axis=None):
    """Arithmetic mean over ``dim``."""
    dim = dim if axis is None else axis
    return Mean.apply(x, axes=canonical_dims(dim, x.shape, "mean"), keepdim=keepdim)


def _correction(correction, unbiased) -> int | float:
    if unbiased is not None:
        return 1 if unbiased else 0
    return 1 if correction is None else correction


def var(x, dim=None, *, correction=1, keepdim: bool = False, unbiased: bool | None = None, axis=None):
    """Variance over ``dim`` with ``Σ (x − x̄)² / (N − correction)``; ``unbiased=False`` means ``correction=0``."""
    dim = dim if axis is None else axis
    axes = canonical_dims(dim, x.shape, "var")
    return Var.apply(x, axes=axes, correction=_correction(correction, unbiased), keepdim=keepdim)


def std(x, dim=None, *, correction=1, keepdim: bool = False, unbiased: bool | None = None, axis=None):
    """Standard deviation over ``dim``: the square root of :func:`var`."""
    dim = dim if axis is None else axis
    axes = canonical_dims(dim, x.shape, "std")
    return Std.apply(x, axes=axes, correction=_correction(correction, unbiased), keepdim=keepdim)


def var_mean(x, dim=None, *, correction=1, keepdim: bool = False, unbiased: bool | None = None, axis=None):
    """``(var(x), mean(x))`` over ``dim``, as ``torch.var_mean``."""
    dim = dim if axis is None else axis
    return var(x, dim, correction=correction, keepdim=keepdim, unbiased=unbiased), mean(x, dim, keepdim)


def std_mean(x, dim=None, *, correction=1, keepdim: bool = False, unbiased: bool | None = None, axis=None):
    """``(std(x), mean(x))`` over ``dim``, as ``torch.std_mean``."""
    dim = dim if axis is None else axis
    return std(x, dim, correction=correction, keepdim=keepdim, unbiased=unbiased), mean(x, dim, keepdim)


def _extremum(op: str, node, pick_index, x, dim, keepdim):
    if isinstance(dim, Tensor):  # torch.max(a, b): the elementwise maximum
        return (arithmetic.maximum if op == "max" else arithmetic.minimum)(x, dim)
    if dim is None:
        return node.apply(x, axes=canonical_dims(None, x.shape, op), keepdim=False)
    axis = canonical_dim(dim, x.shape, op)
    axes = (axis,) if x.ndim else ()
    values = node.apply(x, axes=axes, keepdim=keepdim)
    if x.ndim == 0:
        return ValuesIndices(values, _wrap(np.zeros((), np.int64)))
    return ValuesIndices(values, _wrap(pick_index(x.data, axis=axis, keepdims=keepdim)))


def max(x, dim=None, keepdim: bool = False, *, axis=None):
    """The maximum of all entries, or ``(values, indices)`` along ``dim``; ``max(a, b)`` is :func:`maximum`.

    Tied maxima share the gradient equally (PyTorch's ``max(dim)`` gives it all to the returned index).
    """
    return _extremum("max", Amax, np.argmax, x, dim if axis is None else axis, keepdim)


def min(x, dim=None, keepdim: bool = False, *, axis=None):
    """The minimum of all entries, or ``(values, indices)`` along ``dim``; ``min(a, b)`` is :func:`minimum`."""
    return _extremum("min", Amin, np.argmin, x, dim if axis is None else axis, keepdim)


def amax(x, dim=(), keepdim: bool = False, *, axis=None):
    """The maximum over ``dim`` (an int or a tuple; all axes by default), values only; ties share the gradient."""
    return Amax.apply(x, axes=canonical_dims(dim if axis is None else axis, x.shape, "amax"), keepdim=keepdim)


def amin(x, dim=(), keepdim: bool = False, *, axis=None):
    """The minimum over ``dim`` (an int or a tuple; all axes by default), values only; ties share the gradient."""
    return Amin.apply(x, axes=canonical_dims(dim if axis is None else axis, x.shape, "amin"), keepdim=keepdim)


def _arg_extremum(op: str, pick_index, x, dim, keepdim) -> Tensor:
    data = x.data
    if dim is None:
        return _wrap(np.asarray(pick_index(data, keepdims=keepdim), dtype=np.int64))
    axis = canonical_dim(dim, data.shape, op)
    if data.ndim == 0:
        return _wrap(np.zeros((), np.int64))
    return _wrap(pick_index(data, axis=axis, keepdims=keepdim).astype(np.int64, copy=False))


def argmax(x, dim=None, keepdim: bool = False, *, axis=None) -> Tensor:
    """The index of the first maximum along ``dim`` (of the flattened tensor if ``None``), as int64; no gradient."""
    return _arg_extremum("argmax", np.argmax, x, dim if axis is None else axis, keepdim)


def argmin(x, dim=None, keepdim: bool = False, *, axis=None) -> Tensor:
    """The index of the first minimum along ``dim`` (of the flattened tensor if ``None``), as int64; no gradient."""
    return _arg_extremum("argmin", np.argmin, x, dim if axis is None else axis, keepdim)


def logsumexp(x, dim=None, keepdim: bool = False, *, axis=None):
    """``log Σ exp(x)`` over ``dim`` (an int or a tuple), computed without overflow; its gradient is the softmax."""
    dim = dim if axis is None else axis
    if dim is None:
        raise TypeError("logsumexp: dim is required (an int or a tuple), as in PyTorch")
    return LogSumExp.apply(x, axes=canonical_dims(dim, x.shape, "logsumexp"), keepdim=keepdim)


def norm(x, p="fro", dim=None, keepdim: bool = False):
    """The vector p-norm of the entries over ``dim`` (all entries by default): ``p`` is ``"fro"`` (= 2), 1, 2,
    ``inf`` or any real p ≥ 1. Over two dims, ``"fro"`` is the Frobenius norm of the matrices."""
    order = 2 if p == "fro" else p
    if isinstance(order, (str, bool)) or not order >= 1:
        raise ValueError(f"norm: p must be 'fro', a real number >= 1 or inf, got {p!r}")
    return VectorNorm.apply(x, axes=canonical_dims(dim, x.shape, "norm"), p=order, keepdim=keepdim)


def prod(x, dim=None, keepdim: bool = False, *, axis=None):
    """The product of the entries along ``dim`` (an int), or of all entries if ``None``."""
    dim = dim if axis is None else axis
    if dim is None or x.ndim == 0:
        if dim is not None:
            canonical_dim(dim, x.shape, "prod")
        return Prod.apply(shape.reshape(x, -1), axis=0, keepdim=False)
    return Prod.apply(x, axis=canonical_dim(dim, x.shape, "prod"), keepdim=keepdim)
