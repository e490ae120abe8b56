"""Activation functions: the elementwise non-linearities f of a layer a = f(z), and the softmax family.

Every function here is numerically stable for inputs of any magnitude a float can hold (±1e4 and beyond in float32
and float64): exponentials are only ever taken of non-positive numbers or where overflow gives the exact limit,
and softmax subtracts the maximum before exponentiating. Derivatives are computed from the saved output where the
function allows it (σ′ = y(1 − y), tanh′ = 1 − y², ReLU′ = [y > 0]), which saves keeping the input alive.

Conventions at the points where a function is not differentiable are PyTorch's, so gradients match it bit for
bit in sign and support:

* ``relu′(0) = 0`` (the subgradient of the lecture notes, "Mise en œuvre de Neurones", §I.2);
* ``leaky_relu′(0) = negative_slope`` (slope 1 only for x > 0);
* ``elu′(0) = α`` (the left derivative αeˣ at 0; equal to the right one when α = 1);
* ``hardtanh′ = 0`` at both clipping bounds (slope 1 only strictly inside);
* ``softplus`` is the identity, with derivative 1, where βx > threshold;
* ``relu6′`` and ``hardsigmoid′`` are 0 at their two corners; ``hardswish′(−3) = 0`` and ``hardswish′(3) = 1``
  (PyTorch's: 0 up to −3, (2x + 3)/6 strictly between, 1 from 3 on).

``relu6``, ``hardsigmoid``, ``logsigmoid``, ``selu``, ``celu``, ``mish`` and ``softsign`` are compositions of the
nodes here and of arithmetic, whose chain rule gives PyTorch's derivatives everywhere.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
from scipy.special import erf

from neurones.autodiff.function import Function
from neurones.errors import DimError
from neurones.ops import arithmetic as ar

_SQRT_HALF = math.sqrt(0.5)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_GELU_CUBIC = 0.044715  # the coefficient of the tanh approximation of GELU (Hendrycks & Gimpel, 2016)


def _logistic(x: np.ndarray) -> np.ndarray:
    """σ(x) = 1 / (1 + e⁻ˣ), in a fresh array. Where e⁻ˣ overflows to +∞ the result is 0, the exact limit."""
    e = np.negative(x, out=np.empty_like(x))  # out= keeps a 0-d input an array, so the in-place steps work
    with np.errstate(over="ignore"):
        np.exp(e, out=e)
    e += 1
    return np.reciprocal(e, out=e)


_ZEROS: dict = {}
_ZEROS_KEPT = 64  # distinct activation shapes remembered; a network has a handful, a shape sweep more


def shared_zeros_like(x: np.ndarray) -> np.ndarray:
    """A read-only array of zeros shaped like ``x``, cached by shape and dtype.

    ``np.maximum(x, zeros)`` runs NumPy's vectorized array–array loop, more than twice as fast on small arrays as
    ``np.maximum(x, 0)``, whose scalar operand takes a slower path (64×64 float32: 0.9 µs against 2.2 µs).
    """
    key = (x.shape, x.dtype)
    zeros = _ZEROS.get(key)
    if zeros is None:
        if len(_ZEROS) >= _ZEROS_KEPT:
            _ZEROS.clear()
        zeros = _ZEROS[key] = np.zeros(x.shape, x.dtype)
        zeros.flags.writeable = False
    return zeros


def normal_cdf(x: np.ndarray) -> np.ndarray:
    """Φ(x) = ½(1 + erf(x/√2)), the standard normal CDF, in a fresh array (GELU's costly part: erf)."""
    cdf = erf(x * _SQRT_HALF)
    cdf += 1
    cdf *= 0.5
    return cdf


def gelu_slope(x: np.ndarray, cdf: np.ndarray) -> np.ndarray:
    """GELU′(x) = Φ(x) + x φ(x), φ(x) = e^{−x²/2}/√(2π), in a fresh array, given ``cdf`` = Φ(x)."""
    slope = np.exp(x * x * -0.5)
    slope *= _INV_SQRT_2PI
    slope *= x
    slope += cdf
    return slope


# ------------------------------------------------------------------------------ kernels: σ and σ′ on arrays
# One implementation of each activation that the fused residual block (ops/residual.py) also runs: the node below
# and the block call the same forward/derivative pair. ``in_place`` lets a kernel write over its argument (the
# block's fresh products; a graph node must leave its input and its cotangent alone).
def relu_forward(x: np.ndarray, in_place: bool = False) -> tuple[np.ndarray, tuple]:
    """(max(x, 0), (y,)): ReLU′ is read from the output."""
    y = np.maximum(x, shared_zeros_like(x), out=x) if in_place else np.maximum(x, shared_zeros_like(x))
    return y, (y,)


def relu_times_derivative(g: np.ndarray, y: np.ndarray, in_place: bool = False) -> np.ndarray:
    """g ⊙ [y > 0] (ReLU′(0) = 0)."""
    # The mask written as 0.0/1.0 in g's dtype, then multiplied: multiplying by a bool mask costs a cast per
    # entry (measured 0.53 → 0.43 ms on 1.6M float32 entries).
    mask = np.greater(y, 0, out=np.empty(y.shape, g.dtype), casting="unsafe")
    return np.multiply(g, mask, out=g if in_place else mask)


def leaky_relu_forward(x: np.ndarray, negative_slope: float, in_place: bool = False) -> tuple[np.ndarray, tuple]:
    """(x for x > 0 else s·x, (x > 0,)): the mask, since the output's sign says nothing when s ≤ 0."""
    positive = x > 0
    return np.where(positive, x, x * negative_slope), (positive,)


def leaky_relu_times_derivative(g: np.ndarray, positive: np.ndarray, negative_slope: float,
                                in_place: bool = False) -> np.ndarray:
    """g where x > 0, s·g elsewhere (so s at 0, as in PyTorch)."""
    return np.where(positive, g, g * negative_slope)


def tanh_forward(x: np.ndarray, in_place: bool = False) -> tuple[np.ndarray, tuple]:
    """(tanh x, (y,)): tanh′ = 1 − y² is read from the output."""
    y = np.tanh(x, out=x if in_place else None)
    return y, (y,)


def tanh_times_derivative(g: np.ndarray, y: np.ndarray, in_place: bool = False) -> np.ndarray:
    """g ⊙ (1 − y²)."""
    slope = np.multiply(y, y, out=np.empty_like(y))  # out= keeps a 0-d input an array, so the next steps work
    np.subtract(1, slope, out=slope)
    return np.multiply(g, slope, out=g if in_place else slope)


def gelu_forward(x: np.ndarray, in_place: bool = False) -> tuple[np.ndarray, tuple]:
    """(x Φ(x), (x, Φ(x))): GELU′ needs x, and Φ again (erf is the costly part), so the output is always fresh."""
    cdf = normal_cdf(x)
    return x * cdf, (x, cdf)


def gelu_times_derivative(g: np.ndarray, x: np.ndarray, cdf: np.ndarray, in_place: bool = False) -> np.ndarray:
    """g ⊙ (Φ(x) + x φ(x))."""
    return np.multiply(g, gelu_slope(x, cdf), out=g if in_place else None)


def sigmoid_forward(x: np.ndarray, in_place: bool = False) -> tuple[np.ndarray, tuple]:
    """(σ(x), (y,)): σ′ = y (1 − y) is read from the output."""
    y = _logistic(x)
    if in_place:
        x[...] = y
        y = x
    return y, (y,)


def sigmoid_times_derivative(g: np.ndarray, y: np.ndarray, in_place: bool = False) -> np.ndarray:
    """g ⊙ y (1 − y)."""
    slope = np.subtract(1, y, out=np.empty_like(y))
    np.multiply(slope, y, out=slope)
    return np.multiply(g, slope, out=g if in_place else slope)


def identity_forward(x: np.ndarray, in_place: bool = False) -> tuple[np.ndarray, tuple]:
    return x if in_place else x.copy(), ()


def identity_times_derivative(g: np.ndarray, in_place: bool = False) -> np.ndarray:
    return g if in_place else g.copy()


class Kernel(NamedTuple):
    """An activation on arrays: ``forward(x, in_place) -> (σ(x), needs)`` and ``times_derivative(g, *needs,
    in_place) -> g ⊙ σ′(x)``; leaky ReLU's take ``negative_slope`` after the arrays."""

    forward: Callable
    times_derivative: Callable


KERNELS = {
    "relu": Kernel(relu_forward, relu_times_derivative),
    "leaky_relu": Kernel(leaky_relu_forward, leaky_relu_times_derivative),
    "tanh": Kernel(tanh_forward, tanh_times_derivative),
    "sigmoid": Kernel(sigmoid_forward, sigmoid_times_derivative),
    "gelu": Kernel(gelu_forward, gelu_times_derivative),
    "identity": Kernel(identity_forward, identity_times_derivative),
}


def array_activation(name: str, negative_slope: float = 0.01) -> Callable[[np.ndarray], np.ndarray]:
    """σ as a plain function of arrays (a fresh result; the argument is left alone), for code outside the graph
    (an ODE integrator, a kernel quadrature). ``name`` is one of :data:`KERNELS`."""
    if name not in KERNELS:
        raise ValueError(f"activation must be one of {tuple(KERNELS)}, got {name!r}")
    forward = KERNELS[name].forward
    if name == "leaky_relu":
        return lambda u: forward(np.asarray(u), negative_slope)[0]
    return lambda u: forward(np.asarray(u))[0]


def array_activation_and_slope(name: str, negative_slope: float = 0.01) -> Callable[[np.ndarray], tuple]:
    """u ↦ (σ(u), σ′(u)) on arrays (fresh results), from the same kernel as the graph nodes, for code that needs
    a layer's Jacobian outside the graph (a forward-mode recursion, a quadrature). ``name`` is one of
    :data:`KERNELS`."""
    if name not in KERNELS:
        raise ValueError(f"activation must be one of {tuple(KERNELS)}, got {name!r}")
    kernel = KERNELS[name]
    extra = (negative_slope,) if name == "leaky_relu" else ()

    def evaluate(u):
        u = np.asarray(u, dtype=np.float64)
        value, needs = kernel.forward(u, *extra)
        return value, kernel.times_derivative(np.ones_like(u), *needs, *extra)

    return evaluate


# ------------------------------------------------------------------------------------------------ graph nodes
class Sigmoid(Function):
    """y = σ(x) = 1 / (1 + e⁻ˣ);  ∂L/∂x = g y (1 − y)."""

    def forward(self, x):
        y = _logistic(x)
        self.save_for_backward(y)
        return y

    def backward(self, g):
        (y,) = self.saved
        gy = g * y
        return (gy - gy * y,)


class Tanh(Function):
    """y = tanh x;  ∂L/∂x = g (1 − y²)."""

    def forward(self, x):
        y, needs = tanh_forward(x)
        self.save_for_backward(*needs)
        return y

    def backward(self, g):
        return (tanh_times_derivative(g, *self.saved),)


class ReLU(Function):
    """y = max(x, 0);  ∂L/∂x = g [y > 0], with the subgradient ReLU′(0) = 0."""

    def forward(self, x):
        y, _ = relu_forward(x)  # what ReLU′ needs is y itself
        self.save_for_backward(y)
        return y

    def backward(self, g):
        return (relu_times_derivative(g, *self.saved),)


class LeakyReLU(Function):
    """y = x for x > 0, s·x otherwise;  ∂L/∂x = g for x > 0, s·g otherwise (so s at x = 0, as in PyTorch)."""

    def forward(self, x, negative_slope):
        y, needs = leaky_relu_forward(x, negative_slope)
        self.slope = negative_slope
        self.save_for_backward(*needs)
        return y

    def backward(self, g):
        return (leaky_relu_times_derivative(g, *self.saved, self.slope),)


class ELU(Function):
    """y = x for x > 0, α(eˣ − 1) otherwise;  ∂L/∂x = g for x > 0, g αeˣ = g (y + α) otherwise (α at x = 0)."""

    def forward(self, x, alpha):
        positive = x > 0
        self.alpha = alpha
        # expm1 of the clipped input: the branch not taken must not overflow for large positive x.
        y = np.where(positive, x, np.expm1(np.minimum(x, 0)) * alpha)
        self.save_for_backward(positive, y)
        return y

    def backward(self, g):
        positive, y = self.saved
        return (np.where(positive, g, g * (y + self.alpha)),)


class GELU(Function):
    """y = x Φ(x) with Φ(x) = ½(1 + erf(x/√2)) the standard normal CDF;  ∂L/∂x = g (Φ(x) + x φ(x)),
    φ(x) = e^{−x²/2}/√(2π). Smooth everywhere."""

    def forward(self, x):
        y, needs = gelu_forward(x)
        self.save_for_backward(*needs)
        return y

    def backward(self, g):
        return (gelu_times_derivative(g, *self.saved),)


class GELUTanh(Function):
    """y = ½ x (1 + tanh u) with u = √(2/π)(x + 0.044715 x³), PyTorch's ``approximate="tanh"``;
    ∂L/∂x = g [½(1 + tanh u) + ½ x (1 − tanh² u) √(2/π)(1 + 3·0.044715 x²)]."""

    def forward(self, x):
        x2 = x * x
        t = np.tanh(x * (1 + _GELU_CUBIC * x2) * _SQRT_2_OVER_PI)
        self.save_for_backward(x, t)
        return x * (1 + t) * 0.5

    def backward(self, g):
        x, t = self.saved
        du = (1 + 3 * _GELU_CUBIC * x * x) * _SQRT_2_OVER_PI
        return (g * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * du),)


class Softplus(Function):
    """y = (1/β) log(1 + e^{βx}), and y = x where βx > threshold (PyTorch's cut-off);
    ∂L/∂x = g σ(βx), and g where βx > threshold.

    Computed as (max(βx, 0) + log1p(e^{−|βx|})) / β, which never exponentiates a positive number.
    """

    def forward(self, x, beta, threshold):
        bx = x * beta if beta != 1 else x
        self.threshold = threshold
        soft = np.log1p(np.exp(-np.abs(bx)))
        soft += np.maximum(bx, 0)
        if beta != 1:
            soft /= beta
        self.save_for_backward(bx)
        return np.where(bx > threshold, x, soft)

    def backward(self, g):
        (bx,) = self.saved
        return (np.where(bx > self.threshold, g, g * _logistic(bx)),)


class SiLU(Function):
    """y = x σ(x) (also called swish);  ∂L/∂x = g σ(x) (1 + x (1 − σ(x)))."""

    def forward(self, x):
        s = _logistic(x)
        self.save_for_backward(x, s)
        return x * s

    def backward(self, g):
        x, s = self.saved
        return (g * s * (1 + x * (1 - s)),)


class Arctan(Function):
    """y = arctan x;  ∂L/∂x = g / (1 + x²)."""

    def forward(self, x):
        self.save_for_backward(x)
        return np.arctan(x)

    def backward(self, g):
        (x,) = self.saved
        return (g / (1 + x * x),)


class Hardtanh(Function):
    """y = clip(x, min_val, max_val);  ∂L/∂x = g strictly inside (min_val, max_val), 0 elsewhere (bounds
    included, as in PyTorch)."""

    def forward(self, x, min_val, max_val):
        inside = (x > min_val) & (x < max_val)
        self.save_for_backward(inside)
        return np.clip(x, min_val, max_val)

    def backward(self, g):
        (inside,) = self.saved
        return (g * inside,)


class Hardswish(Function):
    """y = x · relu6(x + 3)/6 (MobileNetV3);  ∂L/∂x = 0 for x ≤ −3, g (2x + 3)/6 for −3 < x < 3, g from 3 on."""

    def forward(self, x):
        self.save_for_backward(x)
        return x * np.clip(x + 3, 0, 6) / 6

    def backward(self, g):
        (x,) = self.saved
        slope = np.where(x <= -3, 0, np.where(x < 3, x / 3 + 0.5, 1))
        return ((g * slope).astype(g.dtype, copy=False),)


# -------------------------------------------------------------------------------------------- softmax family
def _axis(op: str, dim: int, ndim: int) -> int:
    if not -max(ndim, 1) <= dim < max(ndim, 1):
        raise DimError(f"{op}: dim {dim} is out of range for a tensor with {ndim} dimensions")
    return dim % ndim if ndim else None


class Softmax(Function):
    """yᵢ = e^{xᵢ} / Σⱼ e^{xⱼ} along ``dim``;  ∂L/∂x = y ⊙ (g − Σⱼ gⱼ yⱼ) along ``dim``.

    The maximum along ``dim`` is subtracted before exponentiating (softmax is invariant to it), so every
    exponent is ≤ 0 and the largest term is exactly 1: no overflow, and the denominator is ≥ 1.
    """

    def forward(self, x, dim):
        y = np.subtract(x, x.max(axis=dim, keepdims=True), out=np.empty_like(x))
        np.exp(y, out=y)
        y /= y.sum(axis=dim, keepdims=True)
        self.dim = dim
        self.save_for_backward(y)
        return y

    def backward(self, g):
        (y,) = self.saved
        gy = g * y
        gy -= y * gy.sum(axis=self.dim, keepdims=True)
        return (gy,)


class LogSoftmax(Function):
    """yᵢ = xᵢ − log Σⱼ e^{xⱼ} along ``dim``;  ∂L/∂x = g − e^y Σⱼ gⱼ along ``dim``.

    Computed as (x − m) − log Σⱼ e^{xⱼ − m} with m the maximum along ``dim``: the log-sum-exp never overflows
    and, its largest term being 1, never takes the log of a number below 1.
    """

    def forward(self, x, dim):
        y = x - x.max(axis=dim, keepdims=True)
        y -= np.log(np.exp(y).sum(axis=dim, keepdims=True))
        self.dim = dim
        self.save_for_backward(y)
        return y

    def backward(self, g):
        (y,) = self.saved
        grad = np.exp(y)
        grad *= -g.sum(axis=self.dim, keepdims=True)
        grad += g
        return (grad,)


# ------------------------------------------------------------------------------------------------ public API
def sigmoid(x):
    """The logistic function σ(x) = 1 / (1 + e⁻ˣ)."""
    return Sigmoid.apply(x)


def tanh(x):
    return Tanh.apply(x)


def relu(x):
    """max(x, 0), with ReLU′(0) = 0."""
    return ReLU.apply(x)


def leaky_relu(x, negative_slope: float = 0.01):
    """x for x > 0, ``negative_slope``·x otherwise; the derivative at 0 is ``negative_slope``."""
    return LeakyReLU.apply(x, negative_slope=negative_slope)


def elu(x, alpha: float = 1.0):
    """x for x > 0, α(eˣ − 1) otherwise; the derivative at 0 is α."""
    return ELU.apply(x, alpha=alpha)


def gelu(x, approximate: str = "none"):
    """x Φ(x) with Φ the standard normal CDF (exact, through erf), or its tanh approximation if
    ``approximate="tanh"``."""
    if approximate == "none":
        return GELU.apply(x)
    if approximate == "tanh":
        return GELUTanh.apply(x)
    raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")


def softplus(x, beta: float = 1.0, threshold: float = 20.0):
    """(1/β) log(1 + e^{βx}), a smooth ReLU; the identity where βx > ``threshold`` (PyTorch's convention)."""
    return Softplus.apply(x, beta=beta, threshold=threshold)


def silu(x):
    """x σ(x)."""
    return SiLU.apply(x)


def arctan(x):
    return Arctan.apply(x)


atan = arctan


def hardtanh(x, min_val: float = -1.0, max_val: float = 1.0):
    """clip(x, min_val, max_val); the derivative is 0 at the bounds."""
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val ({min_val}) must not exceed max_val ({max_val})")
    return Hardtanh.apply(x, min_val=min_val, max_val=max_val)


def relu6(x):
    """min(max(x, 0), 6): ``hardtanh(x, 0, 6)``."""
    return hardtanh(x, 0.0, 6.0)


def hardsigmoid(x):
    """relu6(x + 3)/6, a piecewise-linear sigmoid; slope 1/6 strictly inside (−3, 3)."""
    return ar.div(hardtanh(ar.add(x, 3.0), 0.0, 6.0), 6.0)


def hardswish(x):
    """x · relu6(x + 3)/6."""
    return Hardswish.apply(x)


def logsigmoid(x):
    """log σ(x) = −softplus(−x), computed without the softplus cut-off so that it is exact for every x."""
    return ar.neg(softplus(ar.neg(x), threshold=math.inf))


SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def selu(x):
    """λ elu(x, α) with Klambauer et al.'s self-normalizing constants λ ≈ 1.0507, α ≈ 1.6733."""
    return ar.mul(elu(x, SELU_ALPHA), SELU_SCALE)


def celu(x, alpha: float = 1.0):
    """max(0, x) + min(0, α(e^{x/α} − 1)) = α elu(x/α, 1); its derivative is continuous at 0 for every α."""
    if alpha == 0:
        raise ValueError("celu: alpha must not be 0")
    return ar.mul(elu(ar.div(x, alpha), 1.0), alpha)


def mish(x):
    """x tanh(softplus(x)) (Misra, 2019), the softplus without cut-off."""
    return ar.mul(x, tanh(softplus(x, threshold=math.inf)))


def softsign(x):
    """x / (1 + |x|)."""
    return ar.div(x, ar.add(ar.abs(x), 1.0))


def softmax(x, dim: int):
    """Normalized exponentials along ``dim``: non-negative, summing to 1."""
    return Softmax.apply(x, dim=_axis("softmax", dim, x.ndim))


def softmin(x, dim: int):
    """softmax(−x) along ``dim``: large weights on the smallest entries."""
    return softmax(ar.neg(x), dim)


def log_softmax(x, dim: int):
    """log(softmax(x, dim)), computed without forming the softmax."""
    return LogSoftmax.apply(x, dim=_axis("log_softmax", dim, x.ndim))
