"""Hessian-vector products ∇²f(θ) v, by central differences of gradients.

The engine builds no graph in backward, so it cannot differentiate a gradient (no forward-over-reverse yet; an
exact ``hvp`` may come with it). A Hessian-vector product is the directional derivative of the gradient,

    ∇²f(θ) v = [∇f(θ + h v) − ∇f(θ − h v)] / (2h) + O(h²),

two backward passes in float64. The error has two parts: truncation, (h²/6) ∇³f(θ)[v, v, ·], and rounding,
about ε‖∇f‖/h with ε the float64 machine epsilon. The step balances them: h = ε^{1/3} · max(1, ‖θ‖_∞) / ‖v‖_∞,
so that the displacement h v is ε^{1/3} ≈ 6·10⁻⁶ of θ's scale. For a quadratic (∇³f = 0) the result is exact up to
rounding (relative error ~10⁻¹⁰ of ‖∇f‖‖v‖/scale); for smooth networks whose derivatives are O(1) on θ's scale, the
relative error is ~10⁻⁹ (measured in the tests against PyTorch's exact forward-over-reverse product).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from neurones.autodiff.tensor import Tensor
from neurones.autodiff.transforms import grad

_STEP = np.finfo(np.float64).eps ** (1 / 3)


def _as_tuple(x) -> tuple:
    return x if isinstance(x, tuple) else (x,)


def hvp(f: Callable, params, v):
    """∇²f(params) v for a scalar function ``f(*params)``, in float64, by central differences of gradients.

    ``params`` is a tensor or a tuple of tensors, ``v`` the same structure (one direction per tensor); the result
    has that structure too. ``f`` is called on float64 copies of the parameters, so it should compute in float64
    (a module run by ``functional_call`` should be ``.double()``). The step is chosen from the scale of
    ``params`` (see the module docstring); accuracy about 10⁻⁹ relative for smooth functions, and exact up to
    rounding for quadratics. ``torch.func.hvp`` returns ``(f(params), ∇²f v)``; this returns ∇²f v alone.
    """
    thetas = tuple(np.asarray(p.data if isinstance(p, Tensor) else p, dtype=np.float64) for p in _as_tuple(params))
    directions = tuple(np.asarray(d.data if isinstance(d, Tensor) else d, dtype=np.float64) for d in _as_tuple(v))
    if len(directions) != len(thetas) or any(d.shape != t.shape for d, t in zip(directions, thetas)):
        raise ValueError(
            f"hvp: v must have the structure of params: shapes {[d.shape for d in directions]} against "
            f"{[t.shape for t in thetas]}"
        )
    v_size = max((float(np.max(np.abs(d))) for d in directions if d.size), default=0.0)
    if v_size == 0:
        products = tuple(Tensor(np.zeros_like(t)) for t in thetas)
    else:
        scale = max([1.0] + [float(np.max(np.abs(t))) for t in thetas if t.size])
        h = _STEP * scale / v_size
        gradient = grad(f, argnums=tuple(range(len(thetas))))
        plus = gradient(*[Tensor(t + h * d) for t, d in zip(thetas, directions)])
        minus = gradient(*[Tensor(t - h * d) for t, d in zip(thetas, directions)])
        products = tuple(Tensor((p.data - m.data) / (2 * h)) for p, m in zip(plus, minus))
    return products if isinstance(params, tuple) else products[0]
