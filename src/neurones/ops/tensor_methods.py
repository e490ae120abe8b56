"""Bind the ops onto :class:`~neurones.autodiff.tensor.Tensor` as methods and operators.

``Tensor`` lives below the ops (it must exist before any op can return one), so its methods are attached here,
once, when :mod:`neurones.ops` is imported. Each method is the very function of the op module, so ``x.exp()``
and ``F.exp(x)`` run the same code.
"""

from __future__ import annotations

from neurones.autodiff.tensor import Tensor
from neurones.ops import activations as act
from neurones.ops import arithmetic as ar
from neurones.ops import elementwise as el
from neurones.ops import indexing as ix
from neurones.ops import linear as lin
from neurones.ops import logical as lg
from neurones.ops import rearrange as re
from neurones.ops import reductions as rd
from neurones.ops import rounding as rn
from neurones.ops import scans as sc
from neurones.ops import scatter as st
from neurones.ops import shape as sh
from neurones.ops import sorting as so


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
        "multiply": ar.mul,
        "div": rn.div,
        "divide": rn.div,
        "__floordiv__": rn.floor_divide,
        "__rfloordiv__": _reflected(rn.floor_divide),
        "__mod__": rn.remainder,
        "__rmod__": _reflected(rn.remainder),
        "__and__": lg.bitwise_and,
        "__or__": lg.bitwise_or,
        "__xor__": lg.bitwise_xor,
        "__invert__": lg.bitwise_not,
        "floor_divide": rn.floor_divide,
        "remainder": rn.remainder,
        "floor": rn.floor,
        "ceil": rn.ceil,
        "round": rn.round,
        "trunc": rn.trunc,
        "sin": el.sin,
        "cos": el.cos,
        "erf": el.erf,
        "rsqrt": el.rsqrt,
        "log2": el.log2,
        "log10": el.log10,
        "exp2": el.exp2,
        "lerp": el.lerp,
        "isnan": lg.isnan,
        "isinf": lg.isinf,
        "isfinite": lg.isfinite,
        "isclose": lg.isclose,
        "allclose": lg.allclose,
        "all": lg.all,
        "any": lg.any,
        "logical_and": lg.logical_and,
        "logical_or": lg.logical_or,
        "logical_xor": lg.logical_xor,
        "logical_not": lg.logical_not,
        "bitwise_and": lg.bitwise_and,
        "bitwise_or": lg.bitwise_or,
        "bitwise_xor": lg.bitwise_xor,
        "bitwise_not": lg.bitwise_not,
        "cumsum": sc.cumsum,
        "cumprod": sc.cumprod,
        "sort": so.sort,
        "argsort": so.argsort,
        "topk": so.topk,
        "flip": re.flip,
        "roll": re.roll,
        "repeat": re.repeat,
        "repeat_interleave": re.repeat_interleave,
        "tril": re.tril,
        "triu": re.triu,
        "diagonal": re.diagonal,
        "diag": re.diag,
        "masked_fill": st.masked_fill,
        "masked_select": st.masked_select,
        "nonzero": st.nonzero,
        "scatter": st.scatter,
        "scatter_add": st.scatter_add,
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
        "__matmul__": lin.matmul,
        "__rmatmul__": _reflected(lin.matmul),
        "matmul": lin.matmul,
        "mm": lin.mm,
        "sigmoid": act.sigmoid,
        "tanh": act.tanh,
        "relu": act.relu,
        "arctan": act.arctan,
        "atan": act.arctan,
        "softmax": act.softmax,
        "log_softmax": act.log_softmax,
        "sum": rd.sum,
        "mean": rd.mean,
        "var": rd.var,
        "std": rd.std,
        "max": rd.max,
        "min": rd.min,
        "amax": rd.amax,
        "amin": rd.amin,
        "argmax": rd.argmax,
        "argmin": rd.argmin,
        "logsumexp": rd.logsumexp,
        "norm": rd.norm,
        "prod": rd.prod,
        "reshape": sh.reshape,
        "view": sh.view,
        "reshape_as": sh.reshape_as,
        "view_as": sh.reshape_as,
        "transpose": sh.transpose,
        "swapaxes": sh.transpose,
        "permute": sh.permute,
        "t": sh.t,
        "flatten": sh.flatten,
        "unflatten": sh.unflatten,
        "squeeze": sh.squeeze,
        "unsqueeze": sh.unsqueeze,
        "expand": sh.expand,
        "expand_as": sh.expand_as,
        "broadcast_to": sh.broadcast_to,
        "split": sh.split,
        "chunk": sh.chunk,
        "unbind": sh.unbind,
        "clone": sh.clone,
        "contiguous": sh.contiguous,
        "to": sh.to,
        "float": sh.cast_method("float", "float32"),
        "double": sh.cast_method("double", "float64"),
        "half": sh.cast_method("half", "float16"),
        "long": sh.cast_method("long", "int64"),
        "int": sh.cast_method("int", "int32"),
        "bool": sh.cast_method("bool", "bool"),
        "__getitem__": ix.getitem,
        "gather": ix.gather,
        "index_select": ix.index_select,
    }
    for name, fn in methods.items():
        setattr(Tensor, name, fn)
    Tensor.T = property(sh.reverse_dims, doc="All dims in reverse order (the transpose of a matrix).")
