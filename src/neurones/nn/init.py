"""Weight initialization, as ``torch.nn.init``: in-place draws with the variance that keeps signals alive in depth.

Why these variances ("Rien ne sert de courir, il faut partir à point", § Une meilleure initialisation). Write a
layer as ``z^l = W^l x^l`` with ``x^l = f(z^{l−1})``, weights i.i.d., centred and symmetric, independent of the
inputs. Summing ``n_in`` independent products (``n_in`` = fan_in)::

    Var[z^l] = n_in · Var[w] · E[(x^l)²]

and the goal (1) is ``Var[z^l] = Var[z^1]`` at every depth, so we need ``n_in · Var[w] · E[f(z)²] = Var[z]``:

* **odd f, linear regime** (identity, tanh or arctan near 0; Exercise 2): ``E[x²] = Var[z]``, hence
  ``Var[w] = 1/n_in`` (LeCun). The backward pass gives the same condition with ``n_out`` (fan_out); Glorot and
  Bengio take the average: ``Var[w] = 2/(n_in + n_out)`` (Xavier/Glorot).
* **ReLU** (Exercise 4): ``z`` symmetric, so ReLU keeps exactly half of its second moment: ``E[x²] = ½ Var[z]``,
  hence ``Var[w] = 2/n`` (He/Kaiming), with ``n`` = fan_in (forward pass) or fan_out (backward pass).
* **leaky ReLU** of slope ``α`` (annex Leaky ReLU): ``E[x²] = (1 + α²)/2 · Var[z]``, hence
  ``Var[w] = 2/((1 + α²) n)``.

In PyTorch's vocabulary ``Var[w] = gain²/fan`` where ``gain² = Var[z]/E[f(z)²]`` (:func:`calculate_gain`).
Each law comes in two forms (Exercises 3 and 5): normal ``N(0, σ²)`` with ``σ² = Var[w]``, or uniform ``U(−a, a)``,
whose variance is ``a²/3``, so ``a = √(3 Var[w])`` (Glorot: ``a = √(6/(n_in + n_out))``; He: ``a = √(6/n)``).

For a convolution kernel of shape ``(out_channels, in_channels/groups, k₁, k₂, ...)`` a unit sums over
``in_channels/groups · k₁k₂…`` inputs: that is fan_in; fan_out is ``out_channels · k₁k₂…``
(:func:`calculate_fan_in_and_fan_out`).

Every initializer writes into ``tensor`` in place without recording (it is a parameter update, not an op of the
graph), draws from ``rng`` (a ``numpy.random.Generator`` or an integer seed; ``None`` uses the process-wide default
Generator, re-seeded by ``neurones.manual_seed``) and returns the tensor. PyTorch's ``generator=`` is ``rng=`` here.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
from scipy import special

from neurones.autodiff.grad_mode import no_grad
from neurones.autodiff.tensor import Tensor
from neurones.backend import Seed, as_generator

_LINEAR_NONLINEARITIES = (
    "linear",
    "conv1d",
    "conv2d",
    "conv3d",
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose3d",
    "sigmoid",
)


# ------------------------------------------------------------------------------------------------------ gain, fans
def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The gain ``g`` such that ``Var[w] = g²/fan`` keeps ``Var[z]`` constant through ``nonlinearity``.

    ``g² = Var[z] / E[f(z)²]`` for ``z`` centred and symmetric (see the module docstring):

    ============================  ============================  ================================================
    nonlinearity                  gain                          why
    ============================  ============================  ================================================
    linear, conv*, sigmoid        1                             identity (sigmoid: PyTorch's convention)
    tanh                          5/3                           PyTorch's value: tanh shrinks E[f(z)²] below Var z
    relu                          √2                            E[relu(z)²] = Var[z]/2 (Exercise 4)
    leaky_relu (slope α=param)    √(2/(1 + α²))                 E[f(z)²] = (1 + α²)/2 · Var[z]; α defaults to 0.01
    selu                          3/4                           PyTorch's value (self-normalizing nets use 1)
    ============================  ============================  ================================================
    """
    if nonlinearity in _LINEAR_NONLINEARITIES:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3.0
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (int, float)) and not isinstance(param, bool):
            slope = param
        else:
            raise ValueError(f"negative_slope {param!r} is not a valid number")
        return math.sqrt(2.0 / (1.0 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4.0
    raise ValueError(f"Unsupported nonlinearity {nonlinearity!r}")


def calculate_fan_in_and_fan_out(tensor: Tensor) -> tuple[int, int]:
    """``(fan_in, fan_out)`` of a weight of shape ``(out, in, *kernel)``: ``(in·∏kernel, out·∏kernel)``.

    A linear weight ``(out_features, in_features)`` has fan_in = in_features, fan_out = out_features; a convolution
    kernel multiplies both by its receptive field ``∏kernel``. Weights of fewer than 2 dimensions have no fans.
    """
    shape = _checked(tensor, "calculate_fan_in_and_fan_out").shape
    if len(shape) < 2:
        raise ValueError(
            f"Fan in and fan out can not be computed for tensor with fewer than 2 dimensions (shape {shape})"
        )
    receptive_field = math.prod(shape[2:])
    return shape[1] * receptive_field, shape[0] * receptive_field


_calculate_fan_in_and_fan_out = calculate_fan_in_and_fan_out


def _calculate_correct_fan(tensor: Tensor, mode: str) -> int:
    mode = mode.lower()
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"Mode {mode!r} not supported, please use one of 'fan_in', 'fan_out'")
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


# ------------------------------------------------------------------------------------------------------ plumbing
def _checked(tensor, name: str) -> Tensor:
    if not isinstance(tensor, Tensor):
        raise TypeError(f"{name}: expected a Tensor, got {type(tensor).__name__}")
    return tensor


def _sample_dtype(tensor: Tensor) -> np.dtype:
    """Draw float32 tensors in float32 (half the work); anything else in float64 before the cast."""
    return np.dtype(np.float32) if tensor.dtype == np.float32 else np.dtype(np.float64)


def _write(tensor: Tensor, values) -> Tensor:
    """Copy ``values`` into ``tensor`` in place, unrecorded; this also stamps the tensor as modified."""
    with no_grad():
        tensor.copy_(values)
    return tensor


def _is_empty(tensor: Tensor) -> bool:
    if tensor.data.size == 0:
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=3)
        return True
    return False


# ------------------------------------------------------------------------------------------------- basic laws
def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0, rng: Seed = None) -> Tensor:
    """Fill with draws of ``U(a, b)`` (variance ``(b − a)²/12``)."""
    _checked(tensor, "uniform_")
    values = as_generator(rng).random(tensor.shape, dtype=_sample_dtype(tensor))
    values *= float(b) - float(a)
    values += float(a)
    return _write(tensor, values)


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, rng: Seed = None) -> Tensor:
    """Fill with draws of ``N(mean, std²)``."""
    _checked(tensor, "normal_")
    values = as_generator(rng).standard_normal(tensor.shape, dtype=_sample_dtype(tensor))
    values *= float(std)
    values += float(mean)
    return _write(tensor, values)


def trunc_normal_(
    tensor: Tensor, mean: float = 0.0, std: float = 1.0, a: float = -2.0, b: float = 2.0, rng: Seed = None
) -> Tensor:
    """Fill with draws of ``N(mean, std²)`` conditioned on ``[a, b]`` (``a``, ``b`` are absolute bounds).

    Sampled exactly by inversion: ``x = mean + std·Φ⁻¹(u)`` with ``u ~ U(Φ(α), Φ(β))``, ``α = (a − mean)/std``,
    ``β = (b − mean)/std``; the final clip only guards the float rounding of ``Φ⁻¹`` at the bounds.
    """
    _checked(tensor, "trunc_normal_")
    low, high = special.ndtr((a - mean) / std), special.ndtr((b - mean) / std)
    u = as_generator(rng).uniform(low, high, size=tensor.shape)
    values = special.ndtri(u)
    values *= std
    values += mean
    np.clip(values, a, b, out=values)
    return _write(tensor, values)


def constant_(tensor: Tensor, val: float) -> Tensor:
    with no_grad():
        _checked(tensor, "constant_").fill_(val)
    return tensor


def ones_(tensor: Tensor) -> Tensor:
    return constant_(tensor, 1.0)


def zeros_(tensor: Tensor) -> Tensor:
    return constant_(tensor, 0.0)


def eye_(tensor: Tensor) -> Tensor:
    """Fill a 2-D tensor with the identity (ones on the main diagonal of a rectangular matrix)."""
    if _checked(tensor, "eye_").ndim != 2:
        raise ValueError(f"eye_: only tensors with 2 dimensions are supported, got shape {tensor.shape}")
    return _write(tensor, np.eye(*tensor.shape))


def dirac_(tensor: Tensor, groups: int = 1) -> Tensor:
    """Fill a convolution kernel ``(out, in, *k)`` (3 to 5 dimensions) with the Dirac delta: the convolution is the
    identity on the first ``min(out/groups, in)`` channels of each group (a residual connection written as an
    initialization)."""
    shape = _checked(tensor, "dirac_").shape
    if len(shape) not in (3, 4, 5):
        raise ValueError(f"dirac_: only tensors with 3, 4, or 5 dimensions are supported, got shape {shape}")
    if shape[0] % groups != 0:
        raise ValueError(f"dirac_: dim 0 ({shape[0]}) must be divisible by groups ({groups})")
    out_per_group = shape[0] // groups
    diagonal = np.arange(min(out_per_group, shape[1]))
    rows = (np.arange(groups)[:, None] * out_per_group + diagonal).ravel()
    cols = np.tile(diagonal, groups)
    centre = tuple(size // 2 for size in shape[2:])
    values = np.zeros(shape)
    values[(rows, cols, *centre)] = 1.0
    return _write(tensor, values)


def orthogonal_(tensor: Tensor, gain: float = 1.0, rng: Seed = None) -> Tensor:
    """Fill with a (semi-)orthogonal matrix times ``gain``, the tensor seen as ``(shape[0], rest)``.

    The Q factor of a Gaussian matrix, with column signs fixed by ``sign(diag R)``, is Haar distributed (uniform on
    the orthogonal group): every singular value is 1, so the linear map preserves norms exactly, not only in mean.
    """
    if _checked(tensor, "orthogonal_").ndim < 2:
        raise ValueError(f"orthogonal_: only tensors with 2 or more dimensions are supported, got {tensor.shape}")
    if tensor.data.size == 0:
        return tensor
    rows = tensor.shape[0]
    cols = tensor.data.size // rows
    flat = as_generator(rng).standard_normal((rows, cols))
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    q *= np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return _write(tensor, (q * gain).reshape(tensor.shape))


# ----------------------------------------------------------------------------------- variance-preserving laws
def xavier_uniform_(tensor: Tensor, gain: float = 1.0, rng: Seed = None) -> Tensor:
    """Glorot uniform: ``U(−a, a)``, ``a = gain·√(6/(fan_in + fan_out))``, so ``Var = 2 gain²/(fan_in + fan_out)``."""
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor)
    bound = math.sqrt(3.0) * gain * math.sqrt(2.0 / (fan_in + fan_out))
    return uniform_(tensor, -bound, bound, rng=rng)


def xavier_normal_(tensor: Tensor, gain: float = 1.0, rng: Seed = None) -> Tensor:
    """Glorot normal: ``N(0, σ²)`` with ``σ² = 2 gain²/(fan_in + fan_out)``."""
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)), rng=rng)


def kaiming_uniform_(
    tensor: Tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu", rng: Seed = None
) -> Tensor:
    """He uniform: ``U(−b, b)`` with ``b = gain·√(3/fan)``, ``gain = calculate_gain(nonlinearity, a)``.

    With the defaults (leaky ReLU of slope ``a = 0``, i.e. ReLU) ``Var = 2/fan_in``. PyTorch's default
    initialization of ``Linear`` and ``Conv`` weights is this law with ``a = √5``: gain² = 2/(1 + 5) = 1/3, hence
    ``U(−1/√fan_in, 1/√fan_in)`` and ``Var = 1/(3 fan_in)``.
    """
    if _is_empty(_checked(tensor, "kaiming_uniform_")):
        return tensor
    fan = _calculate_correct_fan(tensor, mode)
    bound = math.sqrt(3.0) * calculate_gain(nonlinearity, a) / math.sqrt(fan)
    return uniform_(tensor, -bound, bound, rng=rng)


def kaiming_normal_(
    tensor: Tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu", rng: Seed = None
) -> Tensor:
    """He normal: ``N(0, σ²)`` with ``σ = gain/√fan`` (defaults: ``σ² = 2/fan_in``, the ReLU case)."""
    if _is_empty(_checked(tensor, "kaiming_normal_")):
        return tensor
    fan = _calculate_correct_fan(tensor, mode)
    return normal_(tensor, 0.0, calculate_gain(nonlinearity, a) / math.sqrt(fan), rng=rng)


def lecun_uniform_(tensor: Tensor, rng: Seed = None) -> Tensor:
    """LeCun uniform: ``U(−a, a)`` with ``a = √(3/fan_in)``, so ``Var = 1/fan_in`` (odd f, forward pass only)."""
    fan_in, _ = calculate_fan_in_and_fan_out(tensor)
    bound = math.sqrt(3.0 / fan_in)
    return uniform_(tensor, -bound, bound, rng=rng)


def lecun_normal_(tensor: Tensor, rng: Seed = None) -> Tensor:
    """LeCun normal: ``N(0, 1/fan_in)``."""
    fan_in, _ = calculate_fan_in_and_fan_out(tensor)
    return normal_(tensor, 0.0, 1.0 / math.sqrt(fan_in), rng=rng)


glorot_uniform_ = xavier_uniform_
glorot_normal_ = xavier_normal_
he_uniform_ = kaiming_uniform_
he_normal_ = kaiming_normal_
