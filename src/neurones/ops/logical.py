"""Tests and logic on tensors: ``isnan``, ``isinf``, ``isfinite``, ``isclose``, ``allclose``, ``all``, ``any``, the
``logical_*`` functions, and the ``bitwise_*`` ones behind ``&``, ``|``, ``^`` and ``~`` (booleans and integers).
Their results are boolean (or integer) tensors, ``allclose`` a Python bool, outside the graph: none of them has a
gradient.
"""

from __future__ import annotations

import numpy as np

from neurones.autodiff.tensor import Tensor
from neurones.errors import ShapeError
from neurones.ops.arithmetic import binary_without_gradient
from neurones.ops.dims import canonical_dims


def _data(x):
    return x.data if isinstance(x, Tensor) else np.asarray(x)


def isnan(x) -> Tensor:
    return Tensor(np.isnan(_data(x)))


def isinf(x) -> Tensor:
    return Tensor(np.isinf(_data(x)))


def isfinite(x) -> Tensor:
    return Tensor(np.isfinite(_data(x)))


def isclose(input, other, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> Tensor:
    """|input − other| ≤ atol + rtol |other| elementwise, as ``torch.isclose``."""
    try:
        return Tensor(np.isclose(_data(input), _data(other), rtol=rtol, atol=atol, equal_nan=equal_nan))
    except ValueError:
        raise ShapeError(
            f"isclose: shapes {np.shape(_data(input))} and {np.shape(_data(other))} cannot be broadcast together"
        ) from None


def allclose(input, other, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> bool:
    """Whether :func:`isclose` holds everywhere."""
    return bool(isclose(input, other, rtol, atol, equal_nan).data.all())


def _reduce(name: str, reduction, x, dim, keepdim: bool) -> Tensor:
    data = _data(x)
    if dim is None:
        return Tensor(np.asarray(reduction(data)))
    return Tensor(reduction(data, axis=canonical_dims(dim, data.shape, name), keepdims=keepdim))


def all(input, dim=None, keepdim: bool = False, *, axis=None) -> Tensor:
    """Whether every entry is non-zero (over ``dim``, or the whole tensor); ``axis`` is an alias of ``dim``."""
    return _reduce("all", np.all, input, dim if axis is None else axis, keepdim)


def any(input, dim=None, keepdim: bool = False, *, axis=None) -> Tensor:
    """Whether some entry is non-zero (over ``dim``, or the whole tensor); ``axis`` is an alias of ``dim``."""
    return _reduce("any", np.any, input, dim if axis is None else axis, keepdim)


def _logical(name: str, ufunc):
    return binary_without_gradient(
        name, ufunc, f"Elementwise ``{ufunc.__name__}`` of the truth values of two tensors (a boolean tensor)."
    )


def _bitwise(name: str, ufunc):
    return binary_without_gradient(
        name, ufunc, f"Elementwise ``{ufunc.__name__}``: of the bits of integers, of the truth values of booleans."
    )


logical_and = _logical("logical_and", np.logical_and)
logical_or = _logical("logical_or", np.logical_or)
logical_xor = _logical("logical_xor", np.logical_xor)
bitwise_and = _bitwise("bitwise_and", np.bitwise_and)
bitwise_or = _bitwise("bitwise_or", np.bitwise_or)
bitwise_xor = _bitwise("bitwise_xor", np.bitwise_xor)
bitwise_left_shift = binary_without_gradient(
    "bitwise_left_shift", np.left_shift, "``a << b``: the bits of integers shifted left by ``b`` (no gradient)."
)
bitwise_right_shift = binary_without_gradient(
    "bitwise_right_shift", np.right_shift, "``a >> b``: the bits of integers shifted right by ``b``, sign kept."
)


def logical_not(input) -> Tensor:
    return Tensor(np.logical_not(_data(input)))


def bitwise_not(input) -> Tensor:
    """``~x``: logical negation of a boolean tensor, bitwise complement of an integer one."""
    data = _data(input)
    if data.dtype.kind == "f":
        raise TypeError(f"bitwise_not: needs a boolean or integer tensor, got dtype {data.dtype}")
    return Tensor(np.invert(data))
