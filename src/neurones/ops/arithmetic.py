"""Elementwise arithmetic: the four operations, powers, exponentials and logarithms, comparisons and selection.

Binary ops broadcast like NumPy; their backward sums the cotangent back to each input's shape
(:func:`~neurones.autodiff.function.unbroadcast`). A Python scalar operand is kept as a scalar (a dedicated
node with no gradient for it), so it never changes the tensor's dtype (NEP 50).

Non-differentiable points use the subgradient conventions of the lecture notes ("Mise en œuvre de Neurones",
§I.2, Remarque): ``|x|'(0) = 0``, ``sign'(x) = 0``, and for ``maximum``/``minimum``/``clamp`` a tie or a value
exactly on the clipping bound sends the gradient to the first operand (``maximum``, ``minimum``) or keeps it
(``clamp``: the bound is inside the interval where the function is the identity).
"""

from __future__ import annotations

import numpy as np

from neurones.autodiff.function import Function, unbroadcast
from neurones.autodiff.tensor import Tensor, _wrap, as_data
from neurones.backend import DEFAULT_DTYPE
from neurones.errors import ShapeError


def _broadcast_error(op: str, a: np.ndarray, b: np.ndarray) -> ShapeError:
    return ShapeError(f"{op}: shapes {a.shape} and {b.shape} cannot be broadcast together")


# ---------------------------------------------------------------------------------------------- tensor ⊕ tensor
class Add(Function):
    """y = a + b;  ∂L/∂a = g,  ∂L/∂b = g (summed over broadcast axes)."""

    def forward(self, a, b):
        try:
            y = a + b
        except ValueError:
            raise _broadcast_error("add", a, b) from None
        if self.parents is not None:
            self.shapes = (a.shape, b.shape)
        return y

    def backward(self, g):
        sa, sb = self.shapes
        pa, pb = self.parents
        return (unbroadcast(g, sa) if pa is not None else None, unbroadcast(g, sb) if pb is not None else None)


class Sub(Function):
    """y = a − b;  ∂L/∂a = g,  ∂L/∂b = −g."""

    def forward(self, a, b):
        try:
            y = a - b
        except ValueError:
            raise _broadcast_error("sub", a, b) from None
        if self.parents is not None:
            self.shapes = (a.shape, b.shape)
        return y

    def backward(self, g):
        sa, sb = self.shapes
        pa, pb = self.parents
        return (unbroadcast(g, sa) if pa is not None else None, unbroadcast(-g, sb) if pb is not None else None)


class Mul(Function):
    """y = a ⊙ b;  ∂L/∂a = g ⊙ b,  ∂L/∂b = g ⊙ a."""

    def forward(self, a, b):
        try:
            y = a * b
        except ValueError:
            raise _broadcast_error("mul", a, b) from None
        self.save_for_backward(a, b)
        return y

    def backward(self, g):
        pa, pb = self.parents
        a, b = self.saved
        return (
            unbroadcast(g * b, a.shape) if pa is not None else None,
            unbroadcast(g * a, b.shape) if pb is not None else None,
        )


class Div(Function):
    """y = a / b;  ∂L/∂a = g / b,  ∂L/∂b = −g a / b²."""

    def forward(self, a, b):
        try:
            y = a / b
        except ValueError:
            raise _broadcast_error("div", a, b) from None
        self.save_for_backward(a, b)
        return y

    def backward(self, g):
        pa, pb = self.parents
        a, b = self.saved
        ga = g / b
        return (
            unbroadcast(ga, a.shape) if pa is not None else None,
            unbroadcast(-ga * a / b, b.shape) if pb is not None else None,
        )


class Pow(Function):
    """y = a ** b (tensor exponent);  ∂L/∂a = g b a^(b−1),  ∂L/∂b = g y log a.

    At a base of 0 the values are PyTorch's: ∂L/∂a = 0 where b = 0 (a⁰ is constant, even at a = 0, where
    b a^(b−1) would be 0 · ∞), and ∂L/∂b = 0 where a = 0 and b ≥ 0 (y log a would be 0 · (−∞)); a negative
    base gives a NaN ∂L/∂b (log a is not real).
    """

    def forward(self, a, b):
        try:
            with np.errstate(divide="ignore"):  # 0 ** (negative) is +∞, silently as in PyTorch
                y = np.power(a, b)
        except ValueError:
            try:
                np.broadcast_shapes(a.shape, b.shape)
            except ValueError:
                raise _broadcast_error("pow", a, b) from None
            raise  # not a shape problem: integers to negative integer powers
        self.save_for_backward(a, b, y)
        return y

    def backward(self, g):
        pa, pb = self.parents
        a, b, y = self.saved
        ga = gb = None
        with np.errstate(divide="ignore", invalid="ignore"):
            if pa is not None:
                ga = unbroadcast(np.where(b == 0, 0, g * b * np.power(a, b - 1)).astype(g.dtype, copy=False), a.shape)
            if pb is not None:
                at_zero = (a == 0) & (b >= 0)
                gb = unbroadcast(np.where(at_zero, 0, g * y * np.log(a)).astype(g.dtype, copy=False), b.shape)
        return ga, gb


class Maximum(Function):
    """y = max(a, b) elementwise; the gradient goes to the larger operand, to ``a`` on ties."""

    def forward(self, a, b):
        try:
            a_wins = a >= b
        except ValueError:
            raise _broadcast_error("maximum", a, b) from None
        self.save_for_backward(a_wins)
        self.shapes = (a.shape, b.shape)
        return np.maximum(a, b)

    def backward(self, g):
        pa, pb = self.parents
        sa, sb = self.shapes
        (a_wins,) = self.saved
        return (
            unbroadcast(np.where(a_wins, g, 0), sa) if pa is not None else None,
            unbroadcast(np.where(a_wins, 0, g), sb) if pb is not None else None,
        )


class Minimum(Function):
    """y = min(a, b) elementwise; the gradient goes to the smaller operand, to ``a`` on ties."""

    def forward(self, a, b):
        try:
            a_wins = a <= b
        except ValueError:
            raise _broadcast_error("minimum", a, b) from None
        self.save_for_backward(a_wins)
        self.shapes = (a.shape, b.shape)
        return np.minimum(a, b)

    backward = Maximum.backward


# ---------------------------------------------------------------------------------------------- tensor ⊕ scalar
class AddScalar(Function):
    """y = x + c for a Python scalar c;  ∂L/∂x = g."""

    def forward(self, x, c):
        return x + c

    def backward(self, g):
        return (g,)


class MulScalar(Function):
    """y = c x;  ∂L/∂x = c g."""

    def forward(self, x, c):
        self.c = c
        return x * c

    def backward(self, g):
        return (g * self.c,)


class DivScalar(Function):
    """y = x / c;  ∂L/∂x = g / c."""

    def forward(self, x, c):
        self.c = c
        return x / c

    def backward(self, g):
        return (g / self.c,)


class SubScalar(Function):
    """y = x − c;  ∂L/∂x = g."""

    def forward(self, x, c):
        return x - c

    def backward(self, g):
        return (g,)


class RSubScalar(Function):
    """y = c − x;  ∂L/∂x = −g."""

    def forward(self, x, c):
        return c - x

    def backward(self, g):
        return (-g,)


class RDivScalar(Function):
    """y = c / x;  ∂L/∂x = −g c / x² = −g y / x."""

    def forward(self, x, c):
        y = c / x
        self.save_for_backward(x, y)
        return y

    def backward(self, g):
        x, y = self.saved
        return (-g * y / x,)


class PowScalar(Function):
    """y = x ** c;  ∂L/∂x = g c x^(c−1), and 0 for c = 0 (x⁰ is constant, even at x = 0), as in PyTorch."""

    def forward(self, x, c):
        self.save_for_backward(x)
        self.c = c
        if c == 2 and (x.dtype.kind == "f" or type(c) is int):  # x ⊙ x is exact; an integer base to 2.0 is float
            return x * x
        return np.power(x, c)

    def backward(self, g):
        (x,) = self.saved
        c = self.c
        if c == 0:
            return (np.zeros_like(g),)
        if c == 2:
            return (g * (2 * x),)
        return (g * c * np.power(x, c - 1),)


class RPowScalar(Function):
    """y = c ** x = exp(x log c);  ∂L/∂x = g y log c, and 0 where c = 0 and x ≥ 0 (PyTorch's value)."""

    def forward(self, x, c):
        with np.errstate(divide="ignore"):  # 0 ** (negative) is +∞, silently as in PyTorch
            y = np.power(c, x)
            self.log_c = float(np.log(c))  # a Python float: a NumPy float64 scalar would promote float32 cotangents
        self.save_for_backward(x, y)
        self.c = c
        return y

    def backward(self, g):
        x, y = self.saved
        if self.c == 0:
            with np.errstate(invalid="ignore"):
                return (np.where(x >= 0, 0, g * y * self.log_c).astype(g.dtype, copy=False),)
        return (g * y * self.log_c,)


class Neg(Function):
    """y = −x;  ∂L/∂x = −g."""

    def forward(self, x):
        return -x

    def backward(self, g):
        return (-g,)


# --------------------------------------------------------------------------------------------- unary functions
class Exp(Function):
    """y = eˣ;  ∂L/∂x = g y."""

    def forward(self, x):
        y = np.exp(x)
        self.save_for_backward(y)
        return y

    def backward(self, g):
        (y,) = self.saved
        return (g * y,)


class Log(Function):
    """y = log x;  ∂L/∂x = g / x."""

    def forward(self, x):
        self.save_for_backward(x)
        return np.log(x)

    def backward(self, g):
        (x,) = self.saved
        return (g / x,)


class Log1p(Function):
    """y = log(1 + x), accurate for small x;  ∂L/∂x = g / (1 + x)."""

    def forward(self, x):
        self.save_for_backward(x)
        return np.log1p(x)

    def backward(self, g):
        (x,) = self.saved
        return (g / (1 + x),)


class Expm1(Function):
    """y = eˣ − 1, accurate for small x;  ∂L/∂x = g (y + 1)."""

    def forward(self, x):
        y = np.expm1(x)
        self.save_for_backward(y)
        return y

    def backward(self, g):
        (y,) = self.saved
        return (g * (y + 1),)


class Sqrt(Function):
    """y = √x;  ∂L/∂x = g / (2y)."""

    def forward(self, x):
        y = np.sqrt(x)
        self.save_for_backward(y)
        return y

    def backward(self, g):
        (y,) = self.saved
        return (g / (2 * y),)


class Abs(Function):
    """y = |x|;  ∂L/∂x = g sign(x), with the subgradient 0 at x = 0."""

    def forward(self, x):
        self.save_for_backward(x)
        return np.abs(x)

    def backward(self, g):
        (x,) = self.saved
        return (g * np.sign(x),)


class Sign(Function):
    """y = sign(x); piecewise constant, so its gradient is 0 everywhere (the subgradient at 0 included)."""

    def forward(self, x):
        self.shape, self.dtype = x.shape, x.dtype
        return np.sign(x)

    def backward(self, g):
        return (np.zeros(self.shape, self.dtype),)


class Clamp(Function):
    """y = min(max(x, lo), hi): value clipping, a node of the notes;  ∂L/∂x = g where lo ≤ x ≤ hi, else 0."""

    def forward(self, x, lo, hi):
        inside = np.ones(x.shape, bool)
        if lo is not None:
            inside &= x >= lo
        if hi is not None:
            inside &= x <= hi
        self.save_for_backward(inside)
        return np.clip(x, lo, hi)

    def backward(self, g):
        (inside,) = self.saved
        return (np.where(inside, g, 0).astype(g.dtype, copy=False),)


class Where(Function):
    """y = a where condition else b;  ∂L/∂a = g on the condition, ∂L/∂b = g off it."""

    def forward(self, a, b, condition):
        try:
            y = np.where(condition, a, b)
        except ValueError:
            raise ShapeError(
                f"where: condition of shape {condition.shape} and operands of shapes {a.shape} and {b.shape} "
                f"cannot be broadcast together"
            ) from None
        self.save_for_backward(condition)
        self.shapes = (a.shape, b.shape)
        return y

    def backward(self, g):
        pa, pb = self.parents
        sa, sb = self.shapes
        (condition,) = self.saved
        zero = np.zeros((), g.dtype)
        return (
            unbroadcast(np.where(condition, g, zero), sa) if pa is not None else None,
            unbroadcast(np.where(condition, zero, g), sb) if pb is not None else None,
        )


# ------------------------------------------------------------------------------------------------ public API
def _as_tensor(x, like: Tensor) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(np.asarray(x, dtype=like.data.dtype))


_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2}  # PyTorch's dtype categories: bool < integer < floating
_SCALAR_CATEGORY = {bool: 0, int: 1, float: 2}
_CATEGORY_DEFAULT = {0: np.dtype(bool), 1: np.dtype(np.int64), 2: DEFAULT_DTYPE}
_PYTHON_NUMBERS = (float, int)  # what a float tensor meets without promotion (bool is an int: promote is a no-op)


def _category(x) -> int:
    if isinstance(x, Tensor):
        return _CATEGORY.get(x.data.dtype.kind, 2)
    if isinstance(x, np.ndarray | np.generic):
        return _CATEGORY.get(x.dtype.kind, 2)
    return _SCALAR_CATEGORY.get(type(x), 2)


def _cast(x, dtype):
    """A non-floating tensor or array converted to ``dtype`` (no gradient flows through these)."""
    if isinstance(x, Tensor):
        return _wrap(x.data.astype(dtype))
    return x.astype(dtype) if isinstance(x, np.ndarray | np.generic) else x


def promote(a, b, true_division: bool = False) -> tuple:
    """The operands of a binary op converted as PyTorch's type promotion does where NumPy's differs.

    Categories rank bool < integer < floating. A tensor of a lower category than the other operand takes the
    other's dtype if that is a tensor (``int32 + float32 → float32``; NumPy gives float64), or the default dtype
    of the category if it is a Python scalar (``int32 tensor * 2.5 → float32``); within a category NumPy's rules
    are PyTorch's. True division of integers or booleans gives the default float dtype (float32).
    """
    ca, cb = _category(a), _category(b)
    if true_division and ca < 2 and cb < 2:
        return _cast(a, DEFAULT_DTYPE), _cast(b, DEFAULT_DTYPE)
    if ca == cb:
        return a, b
    low, high = (a, b) if ca < cb else (b, a)
    if isinstance(high, Tensor | np.ndarray | np.generic):
        target = high.dtype
    else:
        target = _CATEGORY_DEFAULT[max(ca, cb)]
    low = _cast(low, target)
    return (low, high) if ca < cb else (high, low)


def _binary(name: str, node: type[Function], scalar_right: type[Function], scalar_left: type[Function]):
    """The public function of a binary op: ``node`` for two tensors, ``scalar_right``/``scalar_left`` for a Python
    scalar on the right (``x - 2``) or on the left (``2 - x``), which keeps the tensor's dtype (NEP 50).

    An ndarray operand is wrapped as a constant tensor rather than passed as a scalar: it may broadcast the tensor
    to a larger shape, and only the tensor ⊕ tensor nodes sum the cotangent back over broadcast axes.
    """

    true_division = name == "div"

    def op(a, b):
        # Two tensors of one dtype, or a float tensor and a Python number: nothing to promote (the common cases,
        # kept cheap; an integer quotient always goes through promote).
        if isinstance(a, Tensor):
            dtype = a.data.dtype
            if isinstance(b, Tensor):
                if dtype is not b.data.dtype or (true_division and dtype.kind != "f"):
                    a, b = promote(a, b, true_division)
            elif dtype.kind != "f" or type(b) not in _PYTHON_NUMBERS:
                a, b = promote(a, b, true_division)
        else:
            a, b = promote(a, b, true_division)
        if isinstance(b, Tensor):
            if isinstance(a, Tensor):
                return node.apply(a, b)
            if isinstance(a, np.ndarray):
                return node.apply(_wrap(a), b)
            return scalar_left.apply(b, c=a)
        if isinstance(b, np.ndarray):
            return node.apply(a, _wrap(b))
        return scalar_right.apply(a, c=b)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"``{name}(a, b)``: {node.__doc__.split(';')[0]}, broadcasting; tensors, ndarrays or Python scalars."
    return op


add = _binary("add", Add, AddScalar, AddScalar)
sub = _binary("sub", Sub, SubScalar, RSubScalar)
mul = _binary("mul", Mul, MulScalar, MulScalar)
div = _binary("div", Div, DivScalar, RDivScalar)
pow = _binary("pow", Pow, PowScalar, RPowScalar)


def neg(x):
    return Neg.apply(x)


def exp(x):
    return Exp.apply(x)


def log(x):
    return Log.apply(x)


def log1p(x):
    return Log1p.apply(x)


def expm1(x):
    return Expm1.apply(x)


def sqrt(x):
    return Sqrt.apply(x)


def abs(x):
    return Abs.apply(x)


def sign(x):
    return Sign.apply(x)


def square(x):
    return PowScalar.apply(x, c=2)


def tensor_pair(a, b) -> tuple[Tensor, Tensor]:
    """Both operands of a binary node as tensors, promoted as PyTorch does (:func:`promote`); a scalar or array
    operand becomes a constant of the other's dtype."""
    a, b = promote(a, b)
    like = a if isinstance(a, Tensor) else b
    return _as_tensor(a, like), _as_tensor(b, like)


def maximum(a, b):
    """Elementwise maximum; a scalar operand is broadcast as a constant."""
    return Maximum.apply(*tensor_pair(a, b))


def minimum(a, b):
    return Minimum.apply(*tensor_pair(a, b))


def clamp(x, min=None, max=None):
    """Clip values into [min, max] (either bound may be None)."""
    if min is None and max is None:
        raise ValueError("clamp: at least one of min and max must be given")
    return Clamp.apply(x, lo=min, hi=max)


clip = clamp


def where(condition, a, b):
    """Select ``a`` where ``condition`` holds and ``b`` elsewhere. Either may be a scalar; with two scalars the
    result is a new tensor of the dtype PyTorch gives them (float32 if either is a float, else int64 or bool)."""
    condition = condition.data if isinstance(condition, Tensor) else np.asarray(condition)
    if condition.dtype != bool:
        condition = condition.astype(bool)
    like = a if isinstance(a, Tensor) else b
    if not isinstance(like, Tensor):
        pair = as_data([a, b])
        return _wrap(np.where(condition, pair[0], pair[1]))
    return Where.apply(_as_tensor(a, like), _as_tensor(b, like), condition=condition)


# ----------------------------------------------------------------------------- comparisons (not differentiable)
def binary_without_gradient(name: str, ufunc, doc: str):
    """``ufunc`` of two tensors (or a tensor and a scalar) as a new tensor outside the graph, a broadcasting failure
    raised as a :class:`ShapeError` naming ``name``: the comparisons here and the logical and bitwise ops."""

    def compare(a, b):
        a_data = a.data if isinstance(a, Tensor) else a
        b_data = b.data if isinstance(b, Tensor) else b
        try:
            return Tensor(ufunc(a_data, b_data))
        except ValueError:
            raise ShapeError(
                f"{name}: shapes {np.shape(a_data)} and {np.shape(b_data)} cannot be broadcast together"
            ) from None

    compare.__name__ = compare.__qualname__ = name
    compare.__doc__ = doc
    return compare


def _compare(name, ufunc):
    return binary_without_gradient(name, ufunc, f"Elementwise ``{ufunc.__name__}`` as a boolean tensor (no gradient).")


eq = _compare("eq", np.equal)
ne = _compare("ne", np.not_equal)
lt = _compare("lt", np.less)
le = _compare("le", np.less_equal)
gt = _compare("gt", np.greater)
ge = _compare("ge", np.greater_equal)
