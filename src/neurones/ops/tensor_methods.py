"""Bind the ops onto :class:`~neurones.autodiff.tensor.Tensor` as methods and operators.

``Tensor`` lives below the ops (it must exist before any op can return one), so its methods are attached here,
once, when :mod:`neurones.ops` is imported. Each method is the very function of the op module, so ``x.exp()``
and ``F.exp(x)`` run the same code.
"""

from __future__ import annotations

from neurones.autodiff.tensor import Tensor
from neurones.ops import arithmetic as ar


def _reflected(op):
    def reflected(self, other):
        return op(other, self)

    return reflected


def bind() -> None:
    methods = {
        "__add__": ar.add,
        "__radd__": ar.add,
        "__sub__": ar.sub,
        "__rsub__": _reflected(ar.sub),
        "__mul__": ar.mul,
        "__rmul__": ar.mul,
        "__truediv__": ar.div,
        "__rtruediv__": _reflected(ar.div),
        "__pow__": ar.pow,
        "__rpow__": _reflected(ar.pow),
        "__neg__": ar.neg,
        "__pos__": lambda self: self,
        "__abs__": ar.abs,
        "__eq__": ar.eq,
        "__ne__": ar.ne,
        "__lt__": ar.lt,
        "__le__": ar.le,
        "__gt__": ar.gt,
        "__ge__": ar.ge,
        "add": ar.add,
        "sub": ar.sub,
        "mul": ar.mul,
        "div": ar.div,
        "pow": ar.pow,
        "neg": ar.neg,
        "exp": ar.exp,
        "log": ar.log,
        "log1p": ar.log1p,
        "expm1": ar.expm1,
        "sqrt": ar.sqrt,
        "abs": ar.abs,
        "sign": ar.sign,
        "square": ar.square,
        "maximum": ar.maximum,
        "minimum": ar.minimum,
        "clamp": ar.clamp,
        "clip": ar.clamp,
    }
    for name, fn in methods.items():
        setattr(Tensor, name, fn)
