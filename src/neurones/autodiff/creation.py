"""Tensor constructors, named as in PyTorch.

Floating results default to float32. Random constructors draw from an explicit ``numpy.random.Generator``
(``rng=``, or an integer seed): there is no hidden global random state, so the same seed gives the same numbers.
"""

from __future__ import annotations

import numpy as np

from neurones.autodiff.tensor import Tensor, _wrap, as_data
from neurones.backend import DEFAULT_DTYPE, Seed, as_dtype, as_generator
from neurones.errors import ShapeError


def _shape(size, op: str) -> tuple:
    """The shape written as ``f(2, 3)`` or ``f((2, 3))``; a negative or non-integer size is an error naming ``op``."""
    shape = tuple(size[0]) if len(size) == 1 and isinstance(size[0], (tuple, list)) else tuple(size)
    for dim in shape:
        if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)):
            raise TypeError(f"{op}: sizes must be integers, got {dim!r} in size {shape}")
        if dim < 0:
            raise ShapeError(f"{op}: sizes must be ≥ 0, got {dim} in size {shape}")
    return shape


def _finish(data: np.ndarray, requires_grad: bool) -> Tensor:
    tensor = _wrap(data)
    if requires_grad:
        tensor.requires_grad_(True)
    return tensor


def _float_dtype(dtype) -> np.dtype:
    return DEFAULT_DTYPE if dtype is None else as_dtype(dtype)


def tensor(data, dtype=None, requires_grad: bool = False) -> Tensor:
    """A new tensor holding a copy of ``data`` (lists of Python floats become float32; arrays keep their dtype)."""
    return _finish(as_data(data, dtype), requires_grad)


def as_tensor(data, dtype=None) -> Tensor:
    """``data`` itself if it is already a tensor of that dtype, a tensor sharing memory with an ndarray of that
    dtype (as ``torch.as_tensor``), else a new tensor."""
    if isinstance(data, (Tensor, np.ndarray)) and (dtype is None or data.dtype == as_dtype(dtype)):
        return data if isinstance(data, Tensor) else _wrap(data)
    return tensor(data, dtype)


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing memory with ``array`` (no copy; dtype kept)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy expects an ndarray, got {type(array).__name__}")
    return _wrap(array)


def zeros(*size, dtype=None, requires_grad: bool = False) -> Tensor:
    return _finish(np.zeros(_shape(size, "zeros"), _float_dtype(dtype)), requires_grad)


def ones(*size, dtype=None, requires_grad: bool = False) -> Tensor:
    return _finish(np.ones(_shape(size, "ones"), _float_dtype(dtype)), requires_grad)


def empty(*size, dtype=None, requires_grad: bool = False) -> Tensor:
    return _finish(np.empty(_shape(size, "empty"), _float_dtype(dtype)), requires_grad)


def full(size, fill_value, dtype=None, requires_grad: bool = False) -> Tensor:
    size = _shape((size,) if isinstance(size, int) else tuple(size), "full")
    if dtype is None and isinstance(fill_value, (bool, int)) and not isinstance(fill_value, float):
        dtype = np.bool_ if isinstance(fill_value, bool) else np.int64
    return _finish(np.full(size, fill_value, _float_dtype(dtype)), requires_grad)


def eye(n: int, m: int | None = None, dtype=None, requires_grad: bool = False) -> Tensor:
    return _finish(np.eye(n, m, dtype=_float_dtype(dtype)), requires_grad)


def arange(start, end=None, step=1, dtype=None, requires_grad: bool = False) -> Tensor:
    """Like ``torch.arange``: integers give int64, any float argument gives the default float dtype."""
    if end is None:
        start, end = 0, start
    if dtype is None:
        is_int = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
        dtype = np.int64 if is_int else DEFAULT_DTYPE
    return _finish(np.arange(start, end, step, dtype=as_dtype(dtype)), requires_grad)


def linspace(start, end, steps: int, dtype=None, requires_grad: bool = False) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end`` inclusive. For an integer ``dtype`` the float
    values are truncated toward zero, as PyTorch does (NumPy's integer ``linspace`` floors them instead)."""
    dtype = _float_dtype(dtype)
    if dtype.kind in "iu":
        return _finish(np.trunc(np.linspace(start, end, steps)).astype(dtype), requires_grad)
    return _finish(np.linspace(start, end, steps, dtype=dtype), requires_grad)


def zeros_like(other, dtype=None, requires_grad: bool = False) -> Tensor:
    data = other.data if isinstance(other, Tensor) else np.asarray(other)
    return _finish(np.zeros_like(data, dtype=dtype), requires_grad)


def ones_like(other, dtype=None, requires_grad: bool = False) -> Tensor:
    data = other.data if isinstance(other, Tensor) else np.asarray(other)
    return _finish(np.ones_like(data, dtype=dtype), requires_grad)


def full_like(other, fill_value, dtype=None, requires_grad: bool = False) -> Tensor:
    data = other.data if isinstance(other, Tensor) else np.asarray(other)
    return _finish(np.full_like(data, fill_value, dtype=dtype), requires_grad)


def rand(*size, rng: Seed = None, dtype=None, requires_grad: bool = False) -> Tensor:
    """Uniform samples on [0, 1) from ``rng`` (a Generator or a seed)."""
    dtype = _float_dtype(dtype)
    drawn = dtype if dtype in (np.float32, np.float64) else np.float64
    data = as_generator(rng).random(_shape(size, "rand"), dtype=drawn)
    return _finish(data.astype(dtype, copy=False), requires_grad)


def randn(*size, rng: Seed = None, dtype=None, requires_grad: bool = False) -> Tensor:
    """Standard normal samples from ``rng`` (a Generator or a seed)."""
    dtype = _float_dtype(dtype)
    gen = as_generator(rng)
    data = gen.standard_normal(_shape(size, "randn"), dtype=dtype if dtype in (np.float32, np.float64) else np.float64)
    return _finish(data.astype(dtype, copy=False), requires_grad)


def randint(low: int, high, size=None, rng: Seed = None) -> Tensor:
    """Integers uniform on [low, high), int64. As in PyTorch, ``randint(high, size)`` means ``low = 0``."""
    if size is None:
        low, high, size = 0, low, high
    size = _shape((size,) if isinstance(size, int) else tuple(size), "randint")
    return _wrap(as_generator(rng).integers(low, high, size=size, dtype=np.int64))
