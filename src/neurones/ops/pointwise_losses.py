"""Losses that are sums of a pointwise term, composed from elementwise nodes: ``l1_loss``, ``huber_loss`` and
``kl_div``, with PyTorch's signatures and reductions. Their gradients are the chain rule through those nodes:

* L1: ℓ = |x − t|, ∂ℓ/∂x = sign(x − t) (0 where x = t, the subgradient of |·| at 0);
* Huber: ℓ = ½ d² where |d| < δ, δ(|d| − ½δ) elsewhere, with d = x − t (continuously differentiable);
* Kullback–Leibler, input = log q: ℓ = t (log t − x) (0 where t = 0), or eᵗ (t − x) with ``log_target=True``.
"""

from __future__ import annotations

import numpy as np

from neurones.autodiff.tensor import Tensor
from neurones.errors import ShapeError
from neurones.ops import arithmetic as ar
from neurones.ops import reductions as rd

_REDUCTIONS = ("mean", "sum", "none")


def _reduce(loss: Tensor, reduction: str, op: str, batch_mean: bool = False) -> Tensor:
    if reduction == "none":
        return loss
    if reduction == "sum":
        return rd.sum(loss)
    if reduction == "mean":
        return rd.mean(loss)
    if batch_mean and reduction == "batchmean":
        return ar.div(rd.sum(loss), loss.shape[0] if loss.ndim else 1)
    allowed = ", ".join(repr(r) for r in ("none", "batchmean", "sum", "mean") if batch_mean or r != "batchmean")
    raise ValueError(f"{op}: reduction must be one of {allowed}, got {reduction!r}")


def _operands(op: str, input: Tensor, target) -> tuple[Tensor, Tensor]:
    target = target if isinstance(target, Tensor) else Tensor(np.asarray(target, dtype=input.dtype))
    if target.shape != input.shape:
        raise ShapeError(f"{op}: target of shape {target.shape} does not match input of shape {input.shape}")
    return input, target


def l1_loss(input, target, reduction: str = "mean"):
    """Mean (or sum) absolute error |x − t|."""
    input, target = _operands("l1_loss", input, target)
    return _reduce(ar.abs(ar.sub(input, target)), reduction, "l1_loss")


def huber_loss(input, target, reduction: str = "mean", delta: float = 1.0):
    """½ d² for |d| < δ, δ(|d| − ½δ) beyond, d = x − t: quadratic near 0, linear in the tails."""
    if delta <= 0:
        raise ValueError(f"huber_loss: delta must be positive, got {delta}")
    input, target = _operands("huber_loss", input, target)
    d = ar.sub(input, target)
    size = ar.abs(d)
    quadratic = ar.mul(ar.square(d), 0.5)
    linear = ar.mul(ar.sub(size, 0.5 * delta), delta)
    return _reduce(ar.where(size.data < delta, quadratic, linear), reduction, "huber_loss")


def kl_div(input, target, reduction: str = "mean", log_target: bool = False):
    """The Kullback–Leibler divergence of the distribution ``target`` from q, with ``input`` = log q:
    Σ t (log t − log q). ``reduction="batchmean"`` divides the sum by the batch size (the mathematical KL
    per example); PyTorch's default ``"mean"`` divides by the number of entries."""
    input, target = _operands("kl_div", input, target)
    if log_target:
        pointwise = ar.mul(ar.exp(target), ar.sub(target, input))
    else:
        positive = target.data > 0
        safe = ar.where(positive, target, 1.0)  # log t only where t > 0: t log t → 0 at t = 0
        pointwise = ar.where(positive, ar.mul(target, ar.sub(ar.log(safe), input)), ar.mul(ar.neg(target), input))
    return _reduce(pointwise, reduction, "kl_div", batch_mean=True)
