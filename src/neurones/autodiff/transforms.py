"""Functional transforms: gradients of Python functions of tensors, in the style of JAX.

``grad(f)(x)`` is ``∇f(x)`` for a function returning a scalar tensor. The arguments are not modified: the
transform differentiates with respect to fresh leaves that share their data, so ``x.grad`` is left untouched.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from neurones.autodiff.grad_mode import enable_grad
from neurones.errors import GradientError


def value_and_grad(f: Callable, argnums: int | Sequence[int] = 0, has_aux: bool = False) -> Callable:
    """Return a function computing ``(f(*args), ∇_{args[argnums]} f(*args))``.

    With ``has_aux=True``, ``f`` returns ``(value, aux)`` and the result is ``((value, aux), grads)``.
    Gradients are tensors (a tuple of them when ``argnums`` is a sequence).
    """
    from neurones.autodiff.tensor import Tensor

    many = not isinstance(argnums, int)
    positions = tuple(argnums) if many else (argnums,)

    def wrapped(*args, **kwargs):
        args = list(args)
        leaves = []
        for position in positions:
            if not isinstance(args[position], Tensor):
                raise TypeError(f"grad: argument {position} must be a Tensor, got {type(args[position]).__name__}")
            leaf = args[position].detach().requires_grad_(True)
            args[position] = leaf
            leaves.append(leaf)
        with enable_grad():
            result = f(*args, **kwargs)
        value, aux = result if has_aux else (result, None)
        if not isinstance(value, Tensor) or value.data.size != 1:
            raise GradientError("grad: the function must return a scalar tensor")
        if value.requires_grad:  # a value that does not depend on the arguments has zero gradients
            value.backward()
        grads = tuple(leaf.grad if leaf.grad is not None else Tensor(leaf.data * 0) for leaf in leaves)
        out_value = (value.detach(), aux) if has_aux else value.detach()
        return out_value, (grads if many else grads[0])

    return wrapped


def grad(f: Callable, argnums: int | Sequence[int] = 0, has_aux: bool = False) -> Callable:
    """Return a function computing the gradient of scalar-valued ``f`` with respect to ``args[argnums]``."""
    vg = value_and_grad(f, argnums, has_aux)

    def wrapped(*args, **kwargs):
        value, grads = vg(*args, **kwargs)
        return (grads, value[1]) if has_aux else grads

    return wrapped
