"""More elementwise functions: trigonometry, the error function, exponentials and logarithms in other bases, the
reciprocal square root, and linear interpolation. Each is smooth on its domain; ``lerp`` is built from the
arithmetic nodes.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import erf as _erf

from neurones.autodiff.function import Function
from neurones.autodiff.tensor import Tensor
from neurones.ops import arithmetic as ar

_TWO_OVER_SQRT_PI = 2 / math.sqrt(math.pi)
_LN2, _LN10 = math.log(2), math.log(10)


class Sin(Function):
    """y = sin x;  ∂L/∂x = g cos x."""

    def forward(self, x):
        self.save_for_backward(x)
        return np.sin(x)

    def backward(self, g):
        (x,) = self.saved
        return (g * np.cos(x),)


class Cos(Function):
    """y = cos x;  ∂L/∂x = −g sin x."""

    def forward(self, x):
        self.save_for_backward(x)
        return np.cos(x)

    def backward(self, g):
        (x,) = self.saved
        return (-g * np.sin(x),)


class Erf(Function):
    """y = erf x = (2/√π) ∫₀ˣ e^{−t²} dt;  ∂L/∂x = g (2/√π) e^{−x²}."""

    def forward(self, x):
        self.save_for_backward(x)
        return _erf(x)

    def backward(self, g):
        (x,) = self.saved
        return (g * (_TWO_OVER_SQRT_PI * np.exp(-x * x)),)


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


class Log2(Function):
    """y = log₂ x;  ∂L/∂x = g / (x ln 2)."""

    def forward(self, x):
        self.save_for_backward(x)
        return np.log2(x)

    def backward(self, g):
        (x,) = self.saved
        return (g / (x * _LN2),)


class Log10(Function):
    """y = log₁₀ x;  ∂L/∂x = g / (x ln 10)."""

    def forward(self, x):
        self.save_for_backward(x)
        return np.log10(x)

    def backward(self, g):
        (x,) = self.saved
        return (g / (x * _LN10),)


class Exp2(Function):
    """y = 2ˣ;  ∂L/∂x = g y ln 2."""

    def forward(self, x):
        y = np.exp2(x)
        self.save_for_backward(y)
        return y

    def backward(self, g):
        (y,) = self.saved
        return (g * y * _LN2,)


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
