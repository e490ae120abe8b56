"""Reverse-mode transforms of functions of tensors, as ``torch.func`` names them: ``vjp``, ``jacrev``, ``grad``,
``grad_and_value``.

For f : ℝⁿ → ℝᵐ with Jacobian J = ∂f/∂x, the vector–Jacobian product is vᵀJ, one backward pass of f's graph;
``jacrev`` stacks the m products with the basis vectors eᵢ, the rows of J. The primals are never modified: f is
differentiated with respect to fresh leaves that share their data.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from neurones.autodiff.grad_mode import enable_grad
from neurones.autodiff.tensor import Tensor
from neurones.autodiff.transforms import grad, value_and_grad
from neurones.errors import DTypeError

__all__ = ["grad", "grad_and_value", "jacrev", "vjp"]


def _leaf(primal, op: str) -> Tensor:
    if not isinstance(primal, Tensor):
        raise TypeError(f"{op}: expected tensors as primals, got {type(primal).__name__}")
    if primal.dtype.kind != "f":
        raise DTypeError(f"{op}: can only differentiate with respect to floating tensors, got dtype {primal.dtype}")
    return primal.detach().requires_grad_(True)


def _outputs(result, op: str) -> tuple:
    outputs = result if isinstance(result, tuple) else (result,)
    if not all(isinstance(out, Tensor) for out in outputs):
        raise TypeError(f"{op}: the function must return a tensor or a tuple of tensors")
    return outputs


def _pull_back(outputs: tuple, cotangents: tuple, leaves: Sequence[Tensor]) -> tuple:
    """Σ_k v_kᵀ ∂out_k/∂leaf for every leaf (zeros where an output does not depend on it); the graph is kept."""
    for leaf in leaves:
        leaf.grad = None
    for out, v in zip(outputs, cotangents):
        if out.requires_grad:
            out.backward(v, retain_graph=True)
    return tuple(Tensor(np.zeros_like(leaf.data)) if leaf.grad is None else leaf.grad for leaf in leaves)


def vjp(f: Callable, *primals, has_aux: bool = False):
    """``(f(*primals), vjp_fn)``, where ``vjp_fn(v)`` returns the tuple of vᵀ ∂f/∂primalᵢ, one per primal.

    ``v`` has the shape of f's output (a tuple of them when f returns a tuple). ``vjp_fn`` may be called many
    times: the graph of f is kept for it. With ``has_aux=True`` f returns ``(output, aux)`` and the result is
    ``(output, vjp_fn, aux)``.
    """
    leaves = [_leaf(p, "vjp") for p in primals]
    with enable_grad():
        result = f(*leaves)
    output, aux = result if has_aux else (result, None)
    outputs = _outputs(output, "vjp")

    def vjp_fn(cotangents):
        cotangents = cotangents if isinstance(cotangents, tuple) else (cotangents,)
        if len(cotangents) != len(outputs):
            raise ValueError(f"vjp: {len(cotangents)} cotangents for {len(outputs)} outputs")
        return _pull_back(outputs, cotangents, leaves)

    detached = tuple(out.detach() for out in outputs)
    detached = detached if isinstance(output, tuple) else detached[0]
    return (detached, vjp_fn, aux) if has_aux else (detached, vjp_fn)


def jacrev(f: Callable, argnums: int | Sequence[int] = 0, has_aux: bool = False) -> Callable:
    """A function computing the Jacobian of f with respect to ``args[argnums]`` by reverse mode, one backward pass
    per output entry, as ``torch.func.jacrev``: of shape ``output.shape + input.shape``.

    A tuple ``argnums`` gives a tuple of Jacobians; a function returning a tuple gives a tuple (per output) of
    those. With ``has_aux=True`` f returns ``(output, aux)`` and the result is ``(jacobian, aux)``.
    """
    many = not isinstance(argnums, int)
    positions = tuple(argnums) if many else (argnums,)

    def jacobian(*args):
        args = list(args)
        leaves = []
        for position in positions:
            args[position] = _leaf(args[position], "jacrev")
            leaves.append(args[position])
        with enable_grad():
            result = f(*args)
        output, aux = result if has_aux else (result, None)
        outputs = _outputs(output, "jacrev")
        per_output = []
        for out in outputs:
            rows = [np.empty((out.data.size, *leaf.shape), leaf.dtype) for leaf in leaves]
            basis = np.zeros(out.data.size, out.dtype)
            for k in range(out.data.size):
                basis[k] = 1
                for row, g in zip(rows, _pull_back((out,), (basis.reshape(out.shape),), leaves)):
                    row[k] = g.data
                basis[k] = 0
            jacobians = tuple(Tensor(row.reshape(out.shape + leaf.shape)) for row, leaf in zip(rows, leaves))
            per_output.append(jacobians if many else jacobians[0])
        jac = tuple(per_output) if isinstance(output, tuple) else per_output[0]
        return (jac, aux) if has_aux else jac

    return jacobian


def grad_and_value(f: Callable, argnums: int | Sequence[int] = 0, has_aux: bool = False) -> Callable:
    """As ``torch.func.grad_and_value``: a function returning ``(∇f, f)`` (``(∇f, (f, aux))`` with ``has_aux``).

    ``neurones.value_and_grad`` is the same transform with the pair in JAX's order, ``(f, ∇f)``.
    """
    value_then_grad = value_and_grad(f, argnums, has_aux)

    def wrapped(*args, **kwargs):
        value, gradients = value_then_grad(*args, **kwargs)
        return gradients, value

    return wrapped
