"""Hessian-vector products ∇²f(θ) v, by central differences of gradients, and the Hessian's extreme eigenvalues
from them by Lanczos iterations.

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

from collections.abc import Callable, Sequence

import numpy as np
from scipy.sparse import linalg as sparse_linalg

from neurones.autodiff.tensor import Tensor
from neurones.autodiff.transforms import grad
from neurones.func.functional_call import functional_call

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


def model_loss(model, loss_fn: Callable, inputs, targets) -> tuple[Callable[..., Tensor], tuple[Tensor, ...]]:
    """``(loss, params)``: the function θ ↦ ``loss_fn(model(inputs; θ), targets)`` of the model's parameters (by
    :func:`~neurones.func.functional_call`, in the order of ``named_parameters``) and their current values, the
    arguments :func:`hessian_extreme_eigenvalues` and :func:`neurones.func.hvp` take."""
    names = [name for name, _ in model.named_parameters()]
    inputs = inputs if isinstance(inputs, Tensor) else Tensor(np.asarray(inputs))
    targets = targets if isinstance(targets, Tensor) else Tensor(np.asarray(targets))

    def loss(*params):
        return loss_fn(functional_call(model, dict(zip(names, params)), (inputs,)), targets)

    return loss, tuple(p for _, p in model.named_parameters())


def _hessian_operator(loss: Callable[..., Tensor], params: Sequence[Tensor]) -> sparse_linalg.LinearOperator:
    params = tuple(Tensor(np.asarray(p.data, dtype=np.float64)) for p in params)
    shapes = [p.shape for p in params]
    sizes = [int(np.prod(shape)) for shape in shapes]
    total = sum(sizes)

    def product(vector):
        pieces = np.split(np.asarray(vector, dtype=np.float64).ravel(), np.cumsum(sizes)[:-1])
        directions = tuple(Tensor(piece.reshape(shape)) for piece, shape in zip(pieces, shapes))
        return np.concatenate([h.data.ravel() for h in hvp(loss, params, directions)])

    return sparse_linalg.LinearOperator((total, total), matvec=product, dtype=np.float64)


def hessian_extreme_eigenvalues(loss: Callable[..., Tensor], params: Sequence[Tensor], rng: np.random.Generator,
                                tol: float = 1e-6) -> tuple[float, float]:
    """(λ_min, λ_max) of ∇² loss(*params) by Lanczos on Hessian-vector products (float64 central differences of
    gradients, :func:`neurones.func.hvp`; ``loss`` should compute in float64)."""
    operator = _hessian_operator(loss, params)
    start = rng.standard_normal(operator.shape[0])
    largest = sparse_linalg.eigsh(operator, k=1, which="LA", v0=start, tol=tol)[0][0]
    smallest = sparse_linalg.eigsh(operator, k=1, which="SA", v0=start, tol=tol)[0][0]
    return float(smallest), float(largest)


def hessian_max_eigenvalue(loss: Callable[..., Tensor], params: Sequence[Tensor], rng: np.random.Generator,
                           tol: float = 1e-6) -> float:
    """λ_max of ∇² loss(*params), the sharpness that gradient descent's step 2/λ_max is measured against (the
    largest algebraic eigenvalue, by Lanczos as :func:`hessian_extreme_eigenvalues`)."""
    operator = _hessian_operator(loss, params)
    return float(sparse_linalg.eigsh(operator, k=1, which="LA", v0=rng.standard_normal(operator.shape[0]),
                                     tol=tol)[0][0])
