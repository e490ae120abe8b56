"""``Tensor``: an ndarray with a gradient and a link to the node of the graph that produced it.

A tensor is either a *leaf* (made by the user: data, parameters) or the output of an op. A leaf that requires
grad receives ``.grad`` from ``backward``; an op output that requires grad carries the op's node, through which
``backward`` reaches the leaves. Methods and operators (``x + y``, ``x.sum()``, ``x @ w``...) are the ops of
:mod:`neurones.ops`, bound onto this class by :mod:`neurones.ops.tensor_methods`.

Dtypes follow NumPy 2 (NEP 50): a Python scalar never changes a tensor's dtype (``float32 * 2.5`` stays
float32), while two tensors of different float dtypes promote (``float32 + float64 -> float64``). Gradients are
always cast back to the dtype of the tensor they belong to.
"""

from __future__ import annotations

import weakref

import numpy as np

from neurones.autodiff import engine, grad_mode
from neurones.autodiff.function import MODIFIED, AccumulateGrad, Function, _bind_tensor_class
from neurones.backend import DEFAULT_DTYPE, as_dtype, is_floating
from neurones.errors import DTypeError, GradientError, InplaceError, ShapeError


def as_data(data, dtype=None) -> np.ndarray:
    """Turn array-like ``data`` into an ndarray: arrays keep their dtype, Python floats become the default dtype."""
    if isinstance(data, Tensor):
        data = data.data
    if dtype is not None:
        return np.array(data, dtype=as_dtype(dtype))
    array = np.array(data)
    if array.dtype.kind not in "biufc":
        # NumPy would happily make an array of strings or of Python objects: not something a tensor can hold.
        raise DTypeError(f"tensor: cannot make a tensor of {array.dtype.name} data ({data!r:.60}); "
                         "tensors hold numbers or booleans")  # fmt: skip
    if array.dtype == np.float64 and not isinstance(data, (np.ndarray, np.generic)):
        array = array.astype(DEFAULT_DTYPE)
    return array


class _Size(int):
    """The number of elements (NumPy's ``.size``); called, it gives the shape (PyTorch's ``.size()``)."""

    def __new__(cls, shape: tuple):
        size = super().__new__(cls, int(np.prod(shape, dtype=np.int64)))
        size.shape = shape
        return size

    def __call__(self, dim: int | None = None):
        return self.shape if dim is None else self.shape[dim]


class Tensor:
    """A multi-dimensional array that can record the operations applied to it and backpropagate through them."""

    __slots__ = ("__weakref__", "_edge", "_version", "data", "grad")
    __array_ufunc__ = None  # ``ndarray + Tensor`` defers to ``Tensor.__radd__`` instead of making an object array

    def __init__(self, data, dtype=None, requires_grad: bool = False) -> None:
        self.data = as_data(data, dtype)
        self.grad = None
        self._edge = None
        self._version = 0
        if requires_grad:
            self.requires_grad_(True)

    # ----------------------------------------------------------------------------------------------- attributes
    @property
    def shape(self) -> tuple:
        return self.data.shape

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> _Size:
        return _Size(self.data.shape)

    def numel(self) -> int:
        return self.data.size

    def dim(self) -> int:
        return self.data.ndim

    def __len__(self) -> int:
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.data.shape[0]

    # ---------------------------------------------------------------------------------------------------- graph
    @property
    def requires_grad(self) -> bool:
        return self._edge is not None

    @requires_grad.setter
    def requires_grad(self, flag: bool) -> None:
        self.requires_grad_(flag)

    def requires_grad_(self, flag: bool = True) -> Tensor:
        """Make this leaf record operations (or stop). Only floating tensors can require grad."""
        if not self.is_leaf:
            raise GradientError(
                f"requires_grad can only be changed on leaf tensors; this tensor is the output of "
                f"{type(self._edge).__name__} (use .detach() to get a leaf)"
            )
        if flag and not is_floating(self.data.dtype):
            raise DTypeError(f"only floating-point tensors can require gradients, got dtype {self.data.dtype}")
        self._edge = AccumulateGrad(self) if flag else None
        return self

    @property
    def is_leaf(self) -> bool:
        return self._edge is None or type(self._edge) is AccumulateGrad

    @property
    def grad_fn(self) -> Function | None:
        """The node that produced this tensor (``None`` for leaves)."""
        return None if self.is_leaf else self._edge

    def retain_grad(self) -> None:
        """Keep ``.grad`` on this non-leaf tensor after backward (leaves always keep it)."""
        if self._edge is None:
            raise GradientError("retain_grad() on a tensor that does not require grad")
        if not self.is_leaf:
            self._edge.retained = weakref.ref(self)

    @property
    def retains_grad(self) -> bool:
        return not self.is_leaf and self._edge.retained is not None

    def backward(self, gradient=None, retain_graph: bool = False) -> None:
        """Accumulate ``∂self/∂leaf`` (contracted with ``gradient``) into the ``.grad`` of every leaf.

        A scalar tensor needs no ``gradient`` (it is 1). For a non-scalar tensor ``y``, pass ``gradient = v``
        with ``y``'s shape: leaves receive the vector–Jacobian product ``vᵀ ∂y/∂leaf``. Gradients accumulate
        across calls; call ``zero_grad`` (or set ``.grad = None``) between steps. The graph's saved arrays
        are freed as soon as they are used unless ``retain_graph=True``.
        """
        engine.backward(self, gradient, retain_graph)

    def detach(self) -> Tensor:
        """A leaf sharing this tensor's data, cut from the graph."""
        return _wrap(self.data)

    def zero_grad(self, set_to_none: bool = True) -> None:
        if set_to_none or self.grad is None:
            self.grad = None
        else:
            self.grad.data.fill(0)

    # ----------------------------------------------------------------------------------------- conversion
    def numpy(self) -> np.ndarray:
        """The underlying array (shared memory). Refused on tensors that require grad, as in PyTorch."""
        if self._edge is not None:
            raise GradientError("can't call numpy() on a tensor that requires grad; use tensor.detach().numpy()")
        return self.data

    def item(self):
        if self.data.size != 1:
            raise ValueError(f"item() needs a tensor with one element, got shape {self.data.shape}")
        return self.data.item()

    def tolist(self):
        return self.data.tolist()

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __bool__(self) -> bool:
        if self.data.size != 1:
            raise ValueError(f"the truth value of a tensor with {self.data.size} elements is ambiguous")
        return bool(self.data)

    def __index__(self) -> int:
        if self.data.dtype.kind not in "iu" or self.data.size != 1:
            raise TypeError("only integer tensors of one element can be converted to an index")
        return int(self.data)

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        body = np.array2string(self.data, separator=", ", prefix="tensor(", precision=4, threshold=200)
        extras = []
        if self.data.dtype != DEFAULT_DTYPE and self.data.dtype.kind == "f":
            extras.append(f"dtype={self.data.dtype}")
        if self.grad_fn is not None:
            extras.append(f"grad_fn={self.grad_fn!r}")
        elif self._edge is not None:
            extras.append("requires_grad=True")
        return "tensor(" + ", ".join([body, *extras]) + ")"

    # ------------------------------------------------------------------------------------------- in-place ops
    def _begin_inplace(self, op: str) -> None:
        if self._edge is not None and grad_mode.STATE.enabled:
            raise InplaceError(
                f"{op}: in-place operation on a tensor that requires grad while grad mode is on; neurones does "
                f"not record in-place ops. Use the out-of-place form, or run it under neurones.no_grad()"
            )

    def _end_inplace(self) -> Tensor:
        # The stamp goes on the memory, not only on this tensor: every node that saved an array living there
        # (this tensor's data, a view of it, the array it views) sees the write at backward.
        self._version = MODIFIED.mark(self.data)
        return self

    def _operand(self, other):
        return other.data if isinstance(other, Tensor) else other

    def add_(self, other, alpha=1) -> Tensor:
        self._begin_inplace("add_")
        other = self._operand(other)
        if alpha == 1:
            np.add(self.data, other, out=self.data, casting="same_kind")
        else:
            np.add(self.data, np.multiply(other, alpha), out=self.data, casting="same_kind")
        return self._end_inplace()

    def sub_(self, other, alpha=1) -> Tensor:
        return self.add_(other, alpha=-alpha)

    def mul_(self, other) -> Tensor:
        self._begin_inplace("mul_")
        np.multiply(self.data, self._operand(other), out=self.data, casting="same_kind")
        return self._end_inplace()

    def div_(self, other) -> Tensor:
        self._begin_inplace("div_")
        np.divide(self.data, self._operand(other), out=self.data, casting="same_kind")
        return self._end_inplace()

    def zero_(self) -> Tensor:
        return self.fill_(0)

    def fill_(self, value) -> Tensor:
        self._begin_inplace("fill_")
        self.data.fill(value)
        return self._end_inplace()

    def copy_(self, source) -> Tensor:
        self._begin_inplace("copy_")
        source = self._operand(source)
        try:
            fits = np.broadcast_shapes(np.shape(source), self.data.shape) == self.data.shape
        except ValueError:
            fits = False
        if not fits:
            raise ShapeError(f"copy_: cannot copy shape {np.shape(source)} into shape {self.data.shape}")
        np.copyto(self.data, source, casting="unsafe")
        return self._end_inplace()

    def clamp_(self, min=None, max=None) -> Tensor:
        if min is None and max is None:
            raise ValueError("clamp_: at least one of min and max must be given")
        self._begin_inplace("clamp_")
        np.clip(self.data, min, max, out=self.data)
        return self._end_inplace()

    def __setitem__(self, index, value) -> None:
        self._begin_inplace("__setitem__")
        if isinstance(index, Tensor):
            index = index.data
        elif isinstance(index, tuple):
            index = tuple(i.data if isinstance(i, Tensor) else i for i in index)
        self.data[index] = self._operand(value)
        self._end_inplace()


_object_new = object.__new__


def _wrap(data: np.ndarray) -> Tensor:
    """Fast internal constructor: wrap an ndarray without copying or validating it."""
    t = _object_new(Tensor)
    t.data = data
    t.grad = None
    t._edge = None
    t._version = 0
    return t


_bind_tensor_class(Tensor, _wrap)
