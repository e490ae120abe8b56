"""Activation modules (elementwise nonlinearities, softmax) and value clipping, over the functional ops.

Each module holds its hyper-parameters and calls the op of :mod:`neurones.functional` with PyTorch's semantics.
PyTorch's ``inplace=True`` flag is accepted so that ported code runs, and shown in the repr, but the result is
computed out of place: neurones records no in-place op (the values are the same; only the input is not
overwritten).
"""

from __future__ import annotations

import warnings

from neurones import functional as F
from neurones.nn.module import Module


class ReLU(Module):
    """``max(x, 0)``; its subgradient at 0 is 0."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, x):
        return F.relu(x)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class LeakyReLU(Module):
    """``x`` for ``x ≥ 0``, ``negative_slope·x`` below (He's initialization gain for it is √(2/(1 + slope²)))."""

    def __init__(self, negative_slope: float = 1e-2, inplace: bool = False) -> None:
        super().__init__()
        self.negative_slope = negative_slope
        self.inplace = inplace

    def forward(self, x):
        return F.leaky_relu(x, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace else "")


class ELU(Module):
    """``x`` for ``x > 0``, ``alpha·(eˣ − 1)`` below."""

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        self.alpha = alpha
        self.inplace = inplace

    def forward(self, x):
        return F.elu(x, self.alpha)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}" + (", inplace=True" if self.inplace else "")


class Sigmoid(Module):
    """``1/(1 + e⁻ˣ)``; its derivative is at most 1/4, the source of vanishing gradients in deep sigmoid nets."""

    def forward(self, x):
        return F.sigmoid(x)


class Tanh(Module):
    def forward(self, x):
        return F.tanh(x)


class Arctan(Module):
    """``arctan(x)``, the odd, bounded activation of the theory notes (no PyTorch module of that name)."""

    def forward(self, x):
        return F.arctan(x)


class GELU(Module):
    """``x·Φ(x)``; ``approximate="tanh"`` uses the tanh approximation."""

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        self.approximate = approximate

    def forward(self, x):
        return F.gelu(x, approximate=self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class SiLU(Module):
    """``x·sigmoid(x)`` (swish)."""

    def forward(self, x):
        return F.silu(x)


class Softplus(Module):
    """``log(1 + e^{βx})/β``, the identity where ``βx > threshold`` (for numerical stability)."""

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        super().__init__()
        self.beta = beta
        self.threshold = threshold

    def forward(self, x):
        return F.softplus(x, self.beta, self.threshold)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


class Hardtanh(Module):
    """``x`` clipped to ``[min_val, max_val]``."""

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        if max_val <= min_val:
            raise ValueError(f"Hardtanh: max_val ({max_val}) must be larger than min_val ({min_val})")
        self.min_val = min_val
        self.max_val = max_val
        self.inplace = inplace

    def forward(self, x):
        return F.hardtanh(x, self.min_val, self.max_val)

    def extra_repr(self) -> str:
        return f"min_val={self.min_val}, max_val={self.max_val}" + (", inplace=True" if self.inplace else "")


class Clip(Module):
    """Value clipping, the "clipping" node of the lecture notes: ``clamp(x, min, max)`` (either bound optional).

    The gradient is 1 inside ``[min, max]`` (bounds included) and 0 outside.
    """

    def __init__(self, min: float | None = None, max: float | None = None) -> None:
        super().__init__()
        if min is None and max is None:
            raise ValueError("Clip: at least one of min and max must be given")
        if min is not None and max is not None and max < min:
            raise ValueError(f"Clip: max ({max}) must not be smaller than min ({min})")
        self.min = min
        self.max = max

    def forward(self, x):
        return F.clamp(x, self.min, self.max)

    def extra_repr(self) -> str:
        return f"min={self.min}, max={self.max}"


def _legacy_softmax_dim(name: str, ndim: int) -> int:
    """PyTorch's implicit choice when ``dim`` is omitted (deprecated there too): 0 for 0-, 1- and 3-D, else 1."""
    warnings.warn(
        f"Implicit dimension choice for {name} has been deprecated. Change the call to include dim=X as an argument.",
        stacklevel=3,
    )
    return 0 if ndim in (0, 1, 3) else 1


class _NormalizedAlongDim(Module):
    """A module applying ``function(x, dim)`` (softmax and its kin); without ``dim``, PyTorch's legacy choice."""

    function = None

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, x):
        function = type(self).function
        dim = self.dim if self.dim is not None else _legacy_softmax_dim(function.__name__, x.ndim)
        return function(x, dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Softmax(_NormalizedAlongDim):
    """``exp(x_i)/Σ_j exp(x_j)`` along ``dim`` (computed stably, shifted by the maximum)."""

    function = staticmethod(F.softmax)


class Softmin(_NormalizedAlongDim):
    """``exp(−x_i)/Σ_j exp(−x_j)`` along ``dim``: the softmax of −x."""

    function = staticmethod(F.softmin)


class LogSoftmax(_NormalizedAlongDim):
    """``x_i − log Σ_j exp(x_j)`` along ``dim`` (log-sum-exp, stable)."""

    function = staticmethod(F.log_softmax)


class ReLU6(Module):
    """``min(max(x, 0), 6)``."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, x):
        return F.relu6(x)


class Hardsigmoid(Module):
    """``relu6(x + 3)/6``."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, x):
        return F.hardsigmoid(x)


class Hardswish(Module):
    """``x · relu6(x + 3)/6``."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, x):
        return F.hardswish(x)


class LogSigmoid(Module):
    """``log σ(x)``."""

    def forward(self, x):
        return F.logsigmoid(x)


class SELU(Module):
    """``λ elu(x, α)`` with the self-normalizing constants."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, x):
        return F.selu(x)


class CELU(Module):
    """``max(0, x) + min(0, α(e^{x/α} − 1))``."""

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        self.alpha = alpha
        self.inplace = inplace

    def forward(self, x):
        return F.celu(x, self.alpha)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}"


class Mish(Module):
    """``x tanh(softplus(x))``."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, x):
        return F.mish(x)


class Softsign(Module):
    """``x / (1 + |x|)``."""

    def forward(self, x):
        return F.softsign(x)
