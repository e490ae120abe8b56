"""``Parameter``: the tensors a :class:`~neurones.nn.Module` learns.

A parameter is an ordinary leaf tensor that requires grad by default; its type is what makes a module register it
when it is assigned as an attribute (``self.weight = Parameter(...)``), so that ``module.parameters()`` finds it.
"""

from __future__ import annotations

import numpy as np

from neurones.autodiff.tensor import Tensor, as_data
from neurones.backend import DEFAULT_DTYPE, as_dtype, is_floating
from neurones.errors import DTypeError


class Parameter(Tensor):
    """A leaf tensor registered by modules, requiring grad unless ``requires_grad=False``.

    As in PyTorch, ``Parameter(t)`` shares the array of the tensor ``t`` (no copy); other array-likes are converted
    like ``neurones.tensor`` does (Python floats become float32). ``Parameter()`` is an empty float32 parameter.
    """

    __slots__ = ()

    def __init__(self, data=None, requires_grad: bool = True) -> None:
        if data is None:
            array = np.empty(0, dtype=DEFAULT_DTYPE)
        elif isinstance(data, Tensor):
            array = data.data
        else:
            array = as_data(data)
        self.data = array
        self.grad = None
        self._edge = None
        self._version = 0
        if requires_grad:
            self.requires_grad_(True)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    # A parameter's AccumulateGrad node holds it by weak reference, which copy and pickle would carry over to the
    # copy unchanged (pointing at the original): rebuild copies from their array and flag instead.
    def __deepcopy__(self, memo: dict) -> Parameter:
        copy = Parameter(self.data.copy(), requires_grad=self.requires_grad)
        if self.grad is not None:
            copy.grad = Tensor(self.grad.data.copy())
        memo[id(self)] = copy
        return copy

    def __reduce_ex__(self, protocol):
        return Parameter, (self.data, self.requires_grad)


def empty_parameter(shape: tuple, dtype=None) -> Parameter:
    """An uninitialized parameter of ``shape``, float32 unless ``dtype`` (a floating dtype) says otherwise; layers
    create their weights with it and then fill them with an initializer of :mod:`neurones.nn.init`."""
    dtype = DEFAULT_DTYPE if dtype is None else as_dtype(dtype)
    if not is_floating(dtype):
        raise DTypeError(f"parameters must have a floating dtype, got {dtype}")
    return Parameter(np.empty(shape, dtype=dtype))
