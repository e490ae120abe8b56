"""More elementwise functions: trigonometry and its inverses, hyperbolic functions, the error function,
exponentials and logarithms in other bases, the reciprocal square root, ``copysign``, ``logaddexp`` and linear
interpolation. Each is smooth on its domain; ``lerp`` is built from the arithmetic nodes.

Outside its domain a function gives NaN or ±∞, as NumPy and PyTorch do (asin 2, acosh 0.5, log2 0), and so does
its gradient; NumPy's RuntimeWarning says so (PyTorch is silent).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import erf as _erf

from neurones.autodiff.function import Function, unbroadcast
from neurones.autodiff.tensor import Tensor
from neurones.ops import arithmetic as ar

_TWO_OVER_SQRT_PI = 2 / math.sqrt(math.pi)
_LN2, _LN10 = math.log(2), math.log(10)


class Rsqrt(Function):
    """y = 1/√x;  ∂L/∂x = −½ g y³."""

    def forward(self, x):
        with np.errstate(divide="ignore"):  # 1/√0 = +∞, silently as in PyTorch
            y = np.reciprocal(np.sqrt(x))
        self.save_for_backward(y)
        return y

    def backward(self, g):
        (y,) = self.saved
        return (g * (-0.5 * y * y * y),)


class Exp2(Function):
    """y = 2ˣ;  ∂L/∂x = g y ln 2."""

    def forward(self, x):
        y = np.exp2(x)
        self.save_for_backward(y)
        return y

    def backward(self, g):
        (y,) = self.saved
        return (g * y * _LN2,)


class _OfInput(Function):
    """y = f(x);  ∂L/∂x = g f′(x): the nodes below set ``function`` and ``derivative`` (both of x) and keep x."""

    function = derivative = None

    def forward(self, x):
        self.save_for_backward(x)
        return type(self).function(x)

    def backward(self, g):
        (x,) = self.saved
        return (g * type(self).derivative(x),)


class Sin(_OfInput):
    """y = sin x;  ∂L/∂x = g cos x."""

    function, derivative = np.sin, np.cos


class Cos(_OfInput):
    """y = cos x;  ∂L/∂x = −g sin x."""

    function, derivative = np.cos, staticmethod(lambda x: -np.sin(x))


class Erf(_OfInput):
    """y = erf x = (2/√π) ∫₀ˣ e^{−t²} dt;  ∂L/∂x = g (2/√π) e^{−x²}."""

    function, derivative = _erf, staticmethod(lambda x: _TWO_OVER_SQRT_PI * np.exp(-x * x))


class Log2(_OfInput):
    """y = log₂ x;  ∂L/∂x = g / (x ln 2)."""

    function, derivative = np.log2, staticmethod(lambda x: 1 / (x * _LN2))


class Log10(_OfInput):
    """y = log₁₀ x;  ∂L/∂x = g / (x ln 10)."""

    function, derivative = np.log10, staticmethod(lambda x: 1 / (x * _LN10))


class Tan(_OfInput):
    """y = tan x;  ∂L/∂x = g (1 + tan² x)."""

    function, derivative = np.tan, staticmethod(lambda x: 1 + np.tan(x) ** 2)


class Asin(_OfInput):
    """y = arcsin x;  ∂L/∂x = g / √(1 − x²)."""

    function, derivative = np.arcsin, staticmethod(lambda x: 1 / np.sqrt(1 - x * x))


class Acos(_OfInput):
    """y = arccos x;  ∂L/∂x = −g / √(1 − x²)."""

    function, derivative = np.arccos, staticmethod(lambda x: -1 / np.sqrt(1 - x * x))


class Sinh(_OfInput):
    """y = sinh x;  ∂L/∂x = g cosh x."""

    function, derivative = np.sinh, np.cosh


class Cosh(_OfInput):
    """y = cosh x;  ∂L/∂x = g sinh x."""

    function, derivative = np.cosh, np.sinh


class Asinh(_OfInput):
    """y = arsinh x;  ∂L/∂x = g / √(x² + 1)."""

    function, derivative = np.arcsinh, staticmethod(lambda x: 1 / np.sqrt(x * x + 1))


class Acosh(_OfInput):
    """y = arcosh x (x ≥ 1);  ∂L/∂x = g / √(x² − 1)."""

    function, derivative = np.arccosh, staticmethod(lambda x: 1 / np.sqrt(x * x - 1))


class Atanh(_OfInput):
    """y = artanh x (|x| < 1);  ∂L/∂x = g / (1 − x²)."""

    function, derivative = np.arctanh, staticmethod(lambda x: 1 / (1 - x * x))


class CopySign(Function):
    """y = |a| · sign(b) (the sign bit of b, so −0 counts as negative);  ∂L/∂a = g y/a (0 where a = 0, as in
    PyTorch);  no gradient for b (y is piecewise constant in b)."""

    def forward(self, a, b):
        y = np.copysign(a, b)
        self.save_for_backward(a, y)
        return y

    def backward(self, g):
        a, y = self.saved
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = np.where(a == 0, 0, y / a).astype(g.dtype, copy=False)
        return (unbroadcast(g * ratio, a.shape), None)


class LogAddExp(Function):
    """y = log(eᵃ + eᵇ);  ∂L/∂a = g σ(a − b),  ∂L/∂b = g σ(b − a), from y without overflow: e^{a − y}."""

    def forward(self, a, b):
        y = np.logaddexp(a, b)
        self.save_for_backward(a, b, y)
        return y

    def backward(self, g):
        a, b, y = self.saved
        pa, pb = self.parents
        return (unbroadcast(g * np.exp(a - y), a.shape) if pa is not None else None,
                unbroadcast(g * np.exp(b - y), b.shape) if pb is not None else None)  # fmt: skip


# ------------------------------------------------------------------------------------------------ public API
def sin(x):
    return Sin.apply(x)


def cos(x):
    return Cos.apply(x)


def erf(x):
    """The error function, erf x = (2/√π) ∫₀ˣ e^{−t²} dt."""
    return Erf.apply(x)


def rsqrt(x):
    """The reciprocal square root 1/√x."""
    return Rsqrt.apply(x)


def log2(x):
    return Log2.apply(x)


def log10(x):
    return Log10.apply(x)


def exp2(x):
    return Exp2.apply(x)


def lerp(input, end, weight):
    """input + weight · (end − input), as ``torch.lerp``; ``weight`` is a scalar or a tensor."""
    end = end if isinstance(end, Tensor) else Tensor(np.asarray(end, dtype=input.dtype))
    return ar.add(input, ar.mul(weight, ar.sub(end, input)))


def tan(x):
    return Tan.apply(x)


def asin(x):
    return Asin.apply(x)


def acos(x):
    return Acos.apply(x)


def sinh(x):
    return Sinh.apply(x)


def cosh(x):
    return Cosh.apply(x)


def asinh(x):
    return Asinh.apply(x)


def acosh(x):
    return Acosh.apply(x)


def atanh(x):
    return Atanh.apply(x)


arcsin, arccos, arcsinh, arccosh, arctanh = asin, acos, asinh, acosh, atanh  # NumPy's names, which PyTorch has too


def copysign(input, other):
    """|input| with the sign of ``other`` (a tensor or a scalar; the sign bit, so −0 is negative)."""
    return CopySign.apply(*ar.tensor_pair(input, other))


def logaddexp(input, other):
    """log(e^input + e^other), without overflow."""
    return LogAddExp.apply(*ar.tensor_pair(input, other))
