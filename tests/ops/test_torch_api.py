"""PyTorch's API where users expect it: each function below is called the same way in neurones and in PyTorch on
the same float64 inputs. Values must agree; for differentiable ones the gradients of a random cotangent must agree
with PyTorch's and pass a finite-difference gradient check.

Inputs keep away from the points where a function is not differentiable (ties, rounding jumps, |x| at 0), where
the conventions are tested separately.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pytest

import neurones as nr
import neurones.functional as F
from neurones import nn
from tests.helpers import reference_library


def normal(*shape):
    return lambda rng: rng.standard_normal(shape)


def positive(*shape):
    return lambda rng: rng.uniform(0.5, 2.0, shape)


def spread(*shape):
    """Well separated values (no ties, no value within 0.05 of a half-integer): for sorting and rounding."""
    return lambda rng: (rng.permutation(int(np.prod(shape))).reshape(shape) + 0.3) * 0.7


def probabilities(*shape):
    def draw(rng):
        p = rng.uniform(0.1, 1.0, shape)
        return p / p.sum(axis=-1, keepdims=True)

    return draw


def integers(low, high, *shape):
    return lambda rng: rng.integers(low, high, shape)


def mask(*shape):
    return lambda rng: rng.random(shape) > 0.4


@dataclass
class Case:
    name: str
    ours: Callable
    theirs: Callable  # (torch, *tensors) -> tensor
    inputs: list
    differentiable: tuple = (0,)  # positions of the float inputs to differentiate
    rtol: float = 1e-12
    id: str = field(default="")
    smooth: bool = True  # False at a tie or a kink on purpose: the gradient is PyTorch's convention, not a derivative

    def __post_init__(self):
        self.id = self.id or self.name


CASES = [
    # elementwise
    Case("sin", lambda x: nr.sin(x), lambda t, x: t.sin(x), [normal(3, 4)]),
    Case("cos", lambda x: x.cos(), lambda t, x: t.cos(x), [normal(3, 4)]),
    Case("erf", lambda x: nr.erf(x), lambda t, x: t.erf(x), [normal(3, 4)]),
    Case("rsqrt", lambda x: x.rsqrt(), lambda t, x: t.rsqrt(x), [positive(3, 4)]),
    Case("log2", lambda x: nr.log2(x), lambda t, x: t.log2(x), [positive(5)]),
    Case("log10", lambda x: x.log10(), lambda t, x: t.log10(x), [positive(5)]),
    Case("exp2", lambda x: nr.exp2(x), lambda t, x: t.exp2(x), [normal(5)]),
    Case("lerp", lambda a, b, w: nr.lerp(a, b, w), lambda t, a, b, w: t.lerp(a, b, w),
         [normal(3, 4), normal(3, 4), positive(4)], differentiable=(0, 1, 2)),
    Case("lerp-scalar", lambda a, b: a.lerp(b, 0.3), lambda t, a, b: a.lerp(b, 0.3), [normal(3), normal(3)], (0, 1)),
    Case("exp", lambda x: nr.exp(x), lambda t, x: t.exp(x), [normal(4)]),
    Case("log", lambda x: nr.log(x), lambda t, x: t.log(x), [positive(4)]),
    Case("sqrt", lambda x: nr.sqrt(x), lambda t, x: t.sqrt(x), [positive(4)]),
    Case("abs", lambda x: nr.abs(x), lambda t, x: t.abs(x), [spread(4)]),
    Case("clamp", lambda x: nr.clamp(x, 0.5, 2.0), lambda t, x: t.clamp(x, 0.5, 2.0), [spread(6)]),
    Case("maximum", lambda a, b: nr.maximum(a, b), lambda t, a, b: t.maximum(a, b), [normal(5), normal(5)], (0, 1)),
    Case("minimum", lambda a, b: nr.minimum(a, b), lambda t, a, b: t.minimum(a, b), [normal(5), normal(5)], (0, 1)),
    Case("add", lambda a, b: nr.add(a, b), lambda t, a, b: t.add(a, b), [normal(2, 3), normal(3)], (0, 1)),
    Case("sub", lambda a, b: nr.sub(a, b), lambda t, a, b: t.sub(a, b), [normal(2, 3), normal(3)], (0, 1)),
    Case("mul", lambda a, b: nr.mul(a, b), lambda t, a, b: t.mul(a, b), [normal(2, 3), normal(3)], (0, 1)),
    Case("div", lambda a, b: nr.div(a, b), lambda t, a, b: t.div(a, b), [normal(2, 3), positive(3)], (0, 1)),
    Case("pow", lambda a, b: nr.pow(a, b), lambda t, a, b: t.pow(a, b), [positive(3), normal(3)], (0, 1)),
    Case("sign", lambda x: nr.sign(x), lambda t, x: t.sign(x), [spread(4)]),
    Case("log_softmax", lambda x: nr.log_softmax(x, 1), lambda t, x: t.log_softmax(x, 1), [normal(2, 5)]),
    Case("tan", lambda x: x.tan(), lambda t, x: t.tan(x), [lambda rng: rng.uniform(-1.2, 1.2, 6)]),
    Case("asin", lambda x: nr.asin(x), lambda t, x: t.asin(x), [lambda rng: rng.uniform(-0.9, 0.9, 6)]),
    Case("arccos", lambda x: x.arccos(), lambda t, x: t.arccos(x), [lambda rng: rng.uniform(-0.9, 0.9, 6)]),
    Case("sinh", lambda x: nr.sinh(x), lambda t, x: t.sinh(x), [normal(6)]),
    Case("cosh", lambda x: x.cosh(), lambda t, x: t.cosh(x), [normal(6)]),
    Case("asinh", lambda x: nr.arcsinh(x), lambda t, x: t.asinh(x), [normal(6)]),
    Case("acosh", lambda x: x.acosh(), lambda t, x: t.acosh(x), [lambda rng: rng.uniform(1.2, 4, 6)]),
    Case("atanh", lambda x: nr.atanh(x), lambda t, x: t.atanh(x), [lambda rng: rng.uniform(-0.9, 0.9, 6)]),
    Case("atan", lambda x: nr.atan(x), lambda t, x: t.atan(x), [normal(6)]),
    Case("copysign", lambda a, b: nr.copysign(a, b), lambda t, a, b: t.copysign(a, b), [spread(2, 3), normal(3)]),
    Case("copysign-scalar", lambda a: a.copysign(-1.0), lambda t, a: a.copysign(-1.0), [spread(4)]),
    Case("logaddexp", lambda a, b: nr.logaddexp(a, b), lambda t, a, b: t.logaddexp(a, b),
         [normal(2, 3), lambda rng: 30 * rng.standard_normal(3)], (0, 1)),
    Case("fmod", lambda a, b: nr.fmod(a, b), lambda t, a, b: t.fmod(a, b),
         [lambda rng: -spread(6)(rng), positive(6)], (0, 1)),
    Case("fmod-scalar", lambda a: a.fmod(1.5), lambda t, a: a.fmod(1.5), [lambda rng: spread(6)(rng) - 2]),
    Case("cummax", lambda x: nr.cummax(x, 1).values, lambda t, x: t.cummax(x, 1).values, [normal(3, 5)]),
    Case("cummax-ties", lambda x: x.cummax(0)[0], lambda t, x: x.cummax(0)[0],
         [lambda rng: np.array([1.0, 3, 3, 2, 5, 5])], smooth=False),
    Case("cummin-indices", lambda x: nr.cummin(x, 0).indices, lambda t, x: t.cummin(x, 0).indices,
         [lambda rng: np.array([[3.0, 1], [1, 1], [1, 2], [0, 2]])], ()),
    Case("logcumsumexp", lambda x: nr.logcumsumexp(x, 1), lambda t, x: t.logcumsumexp(x, 1),
         [lambda rng: 20 * rng.standard_normal((3, 5))]),
    Case("unfold", lambda x: x.unfold(1, 3, 2), lambda t, x: x.unfold(1, 3, 2), [normal(2, 8, 3)]),
    Case("unfold-overlap", lambda x: x.unfold(-1, 4, 1), lambda t, x: x.unfold(-1, 4, 1), [normal(3, 6)]),
    Case("std_mean", lambda x: nr.std_mean(x, 1)[0] * nr.std_mean(x, 1)[1],
         lambda t, x: t.std_mean(x, 1)[0] * t.std_mean(x, 1)[1], [normal(3, 5)]),
    Case("var_mean", lambda x: nr.var_mean(x, axis=0, correction=0)[0] + nr.var_mean(x, 0)[1],
         lambda t, x: t.var_mean(x, 0, correction=0)[0] + t.var_mean(x, 0)[1], [normal(3, 5)]),
    Case("sum-axis", lambda x: x.sum(axis=1), lambda t, x: x.sum(axis=1), [normal(3, 5)]),
    Case("std-axis", lambda x: nr.std(x, axis=0), lambda t, x: t.std(x, axis=0), [normal(3, 5)]),
    Case("max-axis", lambda x: x.max(axis=1).values, lambda t, x: x.max(axis=1).values, [spread(3, 5)]),
    Case("softmin", lambda x: F.softmin(x, 1), lambda t, x: t.nn.functional.softmin(x, 1), [normal(2, 5)]),
    Case("left_shift", lambda a, b: a << b, lambda t, a, b: a << b, [integers(-8, 8, 6), integers(0, 4, 6)], ()),
    Case("right_shift", lambda a: nr.bitwise_right_shift(a, 2), lambda t, a: t.bitwise_right_shift(a, 2),
         [integers(-64, 64, 6)], ()),
    Case("rand-or", lambda a: 6 | a, lambda t, a: 6 | a, [integers(-8, 8, 6)], ()),
    # rounding and integer division: zero gradients
    Case("floor", lambda x: nr.floor(x), lambda t, x: t.floor(x), [spread(6)]),
    Case("ceil", lambda x: x.ceil(), lambda t, x: t.ceil(x), [spread(6)]),
    Case("round", lambda x: nr.round(x), lambda t, x: t.round(x), [spread(6)]),
    Case("round-decimals", lambda x: x.round(decimals=1), lambda t, x: t.round(x, decimals=1),
         [lambda rng: rng.uniform(-3, 3, 6).round(3) + 1e-4]),
    Case("trunc", lambda x: nr.trunc(x), lambda t, x: t.trunc(x), [lambda rng: -spread(6)(rng)]),
    Case("div-trunc", lambda a, b: nr.div(a, b, rounding_mode="trunc"),
         lambda t, a, b: t.div(a, b, rounding_mode="trunc"), [lambda rng: -spread(6)(rng), positive(6)], (0, 1)),
    Case("div-floor", lambda a, b: a.div(b, rounding_mode="floor"),
         lambda t, a, b: a.div(b, rounding_mode="floor"), [lambda rng: -spread(6)(rng), positive(6)], (0, 1)),
    # torch has no derivative for floor_divide (ours is 0 almost everywhere, as for floor): values only
    Case("floordiv", lambda a, b: a // b, lambda t, a, b: a // b, [lambda rng: -spread(6)(rng), positive(6)], ()),
    Case("remainder", lambda a, b: a % b, lambda t, a, b: a % b, [lambda rng: -spread(6)(rng), positive(6)], (0, 1)),
    Case("remainder-scalar", lambda a: nr.remainder(a, 1.5), lambda t, a: t.remainder(a, 1.5), [spread(6)]),
    # selection, masks, scatter
    Case("masked_fill", lambda x, m: x.masked_fill(m, -1.0), lambda t, x, m: x.masked_fill(m, -1.0),
         [normal(3, 4), mask(4)]),
    Case("where-scalars", lambda m: nr.where(m, 1.0, 2.0), lambda t, m: t.where(m, 1.0, 2.0), [mask(5)], ()),
    Case("masked_select", lambda x, m: nr.masked_select(x, m), lambda t, x, m: t.masked_select(x, m),
         [normal(3, 4), mask(3, 1)]),
    Case("scatter", lambda x, i, s: nr.scatter(x, 1, i, s), lambda t, x, i, s: t.scatter(x, 1, i, s),
         [normal(3, 5), lambda rng: np.stack([rng.permutation(5)[:2] for _ in range(3)]), normal(3, 2)], (0, 2)),
    Case("scatter-value", lambda x, i: x.scatter(0, i, value=2.5), lambda t, x, i: x.scatter(0, i, value=2.5),
         [normal(4, 3), lambda rng: np.stack([rng.permutation(4)[:2] for _ in range(3)], axis=1)]),
    Case("scatter_add", lambda x, i, s: nr.scatter_add(x, 0, i, s), lambda t, x, i, s: t.scatter_add(x, 0, i, s),
         [normal(4, 3), integers(0, 4, 5, 3), normal(5, 3)], (0, 2)),
    *[
        Case(f"scatter_reduce-{reduce}-{'self' if include_self else 'no-self'}",
             lambda x, i, s, reduce=reduce, include_self=include_self: x.scatter_reduce(
                 1, i, s, reduce, include_self=include_self),
             lambda t, x, i, s, reduce=reduce, include_self=include_self: x.scatter_reduce(
                 1, i, s, reduce, include_self=include_self),
             [spread(3, 5), integers(0, 5, 3, 4), lambda rng: spread(3, 4)(rng) - 4], (0, 2))
        for reduce in ("sum", "prod", "mean", "amax", "amin") for include_self in (True, False)
    ],
    Case("scatter_reduce-prod-zeros", lambda x, i, s: x.scatter_reduce(0, i, s, "prod"),
         lambda t, x, i, s: x.scatter_reduce(0, i, s, "prod"),
         [lambda rng: np.array([2.0, 0.0, 3.0]), lambda rng: np.array([0, 0, 1, 2, 2]),
          lambda rng: np.array([0.0, 4.0, 5.0, 0.0, 0.0])], (0, 2), smooth=False),
    Case("scatter_reduce-amax-ties", lambda x, i, s: x.scatter_reduce(0, i, s, "amax"),
         lambda t, x, i, s: x.scatter_reduce(0, i, s, "amax"),
         [lambda rng: np.array([5.0, 1.0]), lambda rng: np.array([0, 0, 1]), lambda rng: np.array([5.0, 2.0, 1.0])],
         (0, 2), smooth=False),
    Case("nonzero", lambda m: nr.nonzero(m), lambda t, m: t.nonzero(m), [mask(3, 4)], ()),
    Case("one_hot", lambda y: F.one_hot(y, 5), lambda t, y: t.nn.functional.one_hot(y, 5), [integers(0, 5, 7)], ()),
    # tests and logic
    Case("isnan", lambda x: nr.isnan(x), lambda t, x: t.isnan(x), [lambda rng: np.array([1.0, np.nan, np.inf])], ()),
    Case("isinf", lambda x: x.isinf(), lambda t, x: x.isinf(), [lambda rng: np.array([1.0, np.nan, -np.inf])], ()),
    Case("isfinite", lambda x: nr.isfinite(x), lambda t, x: t.isfinite(x),
         [lambda rng: np.array([1.0, np.nan, np.inf])], ()),
    Case("isclose", lambda a, b: nr.isclose(a, b), lambda t, a, b: t.isclose(a, b),
         [lambda rng: np.array([1.0, 2.0, 3.0]), lambda rng: np.array([1.0 + 1e-9, 2.1, 3.0])], ()),
    Case("all", lambda m: nr.all(m, dim=1), lambda t, m: t.all(m, dim=1), [mask(4, 2)], ()),
    Case("any", lambda m: m.any(), lambda t, m: m.any(), [mask(4, 2)], ()),
    Case("logical_and", lambda a, b: nr.logical_and(a, b), lambda t, a, b: t.logical_and(a, b),
         [mask(6), mask(6)], ()),
    Case("logical_or", lambda a, b: nr.logical_or(a, b), lambda t, a, b: t.logical_or(a, b), [mask(6), mask(6)], ()),
    Case("logical_xor", lambda a, b: nr.logical_xor(a, b), lambda t, a, b: t.logical_xor(a, b),
         [mask(6), mask(6)], ()),
    Case("logical_not", lambda a: nr.logical_not(a), lambda t, a: t.logical_not(a), [mask(6)], ()),
    Case("bitwise_and", lambda a, b: nr.bitwise_and(a, b), lambda t, a, b: t.bitwise_and(a, b),
         [integers(-8, 8, 6), integers(-8, 8, 6)], ()),
    Case("bitwise_or", lambda a, b: a | b, lambda t, a, b: a | b, [integers(-8, 8, 6), integers(-8, 8, 6)], ()),
    Case("bitwise_xor", lambda a, b: a.bitwise_xor(b), lambda t, a, b: a.bitwise_xor(b),
         [integers(-8, 8, 6), integers(-8, 8, 6)], ()),
    Case("bitwise_not", lambda a: ~a, lambda t, a: ~a, [integers(-8, 8, 6)], ()),
    Case("bitwise_and-bool", lambda a, b: a & b, lambda t, a, b: a & b, [mask(6), mask(6)], ()),
    Case("and-or-invert", lambda a, b: (a & ~b) | b, lambda t, a, b: (a & ~b) | b, [mask(6), mask(6)], ()),
    # rearranging
    Case("tril", lambda x: nr.tril(x, -1), lambda t, x: t.tril(x, -1), [normal(2, 4, 5)]),
    Case("triu", lambda x: x.triu(1), lambda t, x: x.triu(1), [normal(4, 5)]),
    Case("flip", lambda x: nr.flip(x, (0, 2)), lambda t, x: t.flip(x, (0, 2)), [normal(2, 3, 4)]),
    Case("roll", lambda x: nr.roll(x, (1, -2), (0, 1)), lambda t, x: t.roll(x, (1, -2), (0, 1)), [normal(3, 5)]),
    Case("roll-flat", lambda x: x.roll(4), lambda t, x: x.roll(4), [normal(3, 5)]),
    Case("repeat", lambda x: x.repeat(2, 1, 3), lambda t, x: x.repeat(2, 1, 3), [normal(2, 3)]),
    Case("repeat_interleave", lambda x: nr.repeat_interleave(x, 2, 1), lambda t, x: t.repeat_interleave(x, 2, 1),
         [normal(2, 3)]),
    Case("repeat_interleave-counts", lambda x, r: x.repeat_interleave(r, 0), lambda t, x, r: x.repeat_interleave(r, 0),
         [normal(3, 2), integers(0, 3, 3)]),
    Case("diagonal", lambda x: nr.diagonal(x, 1, 0, 2), lambda t, x: t.diagonal(x, 1, 0, 2), [normal(4, 2, 5)]),
    Case("diag-vector", lambda x: nr.diag(x, -1), lambda t, x: t.diag(x, -1), [normal(4)]),
    Case("diag-matrix", lambda x: x.diag(1), lambda t, x: x.diag(1), [normal(4, 4)]),
    Case("meshgrid", lambda a, b: nr.meshgrid(a, b, indexing="xy")[0] * nr.meshgrid(a, b, indexing="xy")[1],
         lambda t, a, b: t.meshgrid(a, b, indexing="xy")[0] * t.meshgrid(a, b, indexing="xy")[1],
         [normal(3), normal(4)], (0, 1)),
    Case("cumsum", lambda x: nr.cumsum(x, 1), lambda t, x: t.cumsum(x, 1), [normal(3, 4)]),
    Case("cumprod", lambda x: x.cumprod(0), lambda t, x: x.cumprod(0), [normal(4, 3)]),
    Case("cumprod-zero", lambda x: nr.cumprod(x, 0), lambda t, x: t.cumprod(x, 0),
         [lambda rng: np.array([1.5, 0.0, -2.0, 0.5])]),
    Case("sort", lambda x: nr.sort(x, 1)[0], lambda t, x: t.sort(x, 1)[0], [spread(3, 4)]),
    Case("sort-descending", lambda x: x.sort(0, descending=True).values, lambda t, x: x.sort(0, descending=True).values,
         [spread(3, 4)]),
    Case("sort-indices", lambda x: x.sort(1)[1], lambda t, x: x.sort(1)[1], [spread(3, 4)], ()),
    Case("argsort", lambda x: nr.argsort(x, 0, descending=True), lambda t, x: t.argsort(x, 0, descending=True),
         [spread(3, 4)], ()),
    Case("topk", lambda x: nr.topk(x, 2, 1).values, lambda t, x: t.topk(x, 2, 1).values, [spread(3, 5)]),
    Case("topk-smallest", lambda x: x.topk(3, largest=False)[0], lambda t, x: x.topk(3, largest=False)[0],
         [spread(4, 5)]),
    Case("einsum", lambda a, b: nr.einsum("bij,bjk->bik", a, b), lambda t, a, b: t.einsum("bij,bjk->bik", a, b),
         [normal(2, 3, 4), normal(2, 4, 5)], (0, 1)),
    Case("einsum-trace", lambda a: nr.einsum("ii", a), lambda t, a: t.einsum("ii", a), [normal(4, 4)]),
    Case("einsum-ellipsis", lambda a, b: nr.einsum("...i,i->...", a, b), lambda t, a, b: t.einsum("...i,i->...", a, b),
         [normal(2, 3, 4), normal(4)], (0, 1)),
    Case("einsum-scalar", lambda a: nr.einsum("->", a), lambda t, a: t.einsum("->", a),
         [lambda rng: np.array(rng.standard_normal())]),
    Case("flip-nothing", lambda x: x.flip(()), lambda t, x: x.flip(()), [normal(2, 3)]),
    Case("cumprod-empty", lambda x: x.cumprod(1), lambda t, x: x.cumprod(1), [normal(2, 0, 3)]),
    *[
        Case(f"pad-{mode}-negative", lambda x, mode=mode: F.pad(x, (-1, 2, 2, -1), mode=mode),
             lambda t, x, mode=mode: t.nn.functional.pad(x, (-1, 2, 2, -1), mode=mode), [normal(1, 2, 5, 6)])
        for mode in ("reflect", "replicate", "circular")
    ],
    # activations
    *[
        Case(name, lambda x, name=name: getattr(F, name)(x), lambda t, x, name=name: getattr(t.nn.functional, name)(x),
             [lambda rng: rng.uniform(-5, 5, 20)], rtol=1e-7 if name == "hardsigmoid" else 1e-12)
        for name in ("relu6", "hardswish", "hardsigmoid", "logsigmoid", "selu", "celu", "mish", "softsign", "silu")
    ],
    Case("celu-alpha", lambda x: F.celu(x, 0.5), lambda t, x: t.nn.functional.celu(x, 0.5), [normal(10)]),
    # losses
    Case("l1_loss", lambda x, y: F.l1_loss(x, y), lambda t, x, y: t.nn.functional.l1_loss(x, y),
         [normal(3, 4), normal(3, 4)], (0, 1)),
    Case("huber_loss", lambda x, y: F.huber_loss(x, y, delta=0.7, reduction="sum"),
         lambda t, x, y: t.nn.functional.huber_loss(x, y, delta=0.7, reduction="sum"),
         [normal(3, 4), normal(3, 4)], (0, 1)),
    Case("kl_div", lambda x, y: F.kl_div(x, y, reduction="batchmean"),
         lambda t, x, y: t.nn.functional.kl_div(x, y, reduction="batchmean"),
         [lambda rng: np.log(probabilities(3, 4)(rng)), probabilities(3, 4)], (0, 1)),
    Case("kl_div-log-target", lambda x, y: F.kl_div(x, y, log_target=True, reduction="none"),
         lambda t, x, y: t.nn.functional.kl_div(x, y, log_target=True, reduction="none"),
         [normal(3, 4), normal(3, 4)], (0, 1)),
    # layers as functions
    Case("normalize", lambda x: F.normalize(x, dim=1), lambda t, x: t.nn.functional.normalize(x, dim=1),
         [normal(3, 4)]),
    Case("interpolate-bilinear", lambda x: F.interpolate(x, size=(5, 7), mode="bilinear"),
         lambda t, x: t.nn.functional.interpolate(x, size=(5, 7), mode="bilinear"), [normal(1, 2, 3, 4)]),
    Case("interpolate-linear-corners", lambda x: F.interpolate(x, scale_factor=2.5, mode="linear", align_corners=True),
         lambda t, x: t.nn.functional.interpolate(x, scale_factor=2.5, mode="linear", align_corners=True),
         [normal(2, 2, 4)]),
    Case("interpolate-nearest", lambda x: F.interpolate(x, scale_factor=2), lambda t, x: t.nn.functional.interpolate(
        x, scale_factor=2), [normal(1, 2, 3, 3)]),
    Case("conv_transpose2d", lambda x, w, b: F.conv_transpose2d(x, w, b, stride=2, padding=1, output_padding=1),
         lambda t, x, w, b: t.nn.functional.conv_transpose2d(x, w, b, stride=2, padding=1, output_padding=1),
         [normal(2, 3, 4, 3), normal(3, 2, 3, 3), normal(2)], (0, 1, 2)),
    Case("conv_transpose1d", lambda x, w: F.conv_transpose1d(x, w, groups=2, dilation=2),
         lambda t, x, w: t.nn.functional.conv_transpose1d(x, w, groups=2, dilation=2),
         [normal(2, 4, 5), normal(4, 3, 2)], (0, 1)),
    Case("scaled_dot_product_attention",
         lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True),
         lambda t, q, k, v: t.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True),
         [normal(2, 4, 3), normal(2, 4, 3), normal(2, 4, 5)], (0, 1, 2)),
]


def _inputs(case: Case, seed: int = 0):
    rng = np.random.default_rng(seed)
    return [np.asarray(draw(rng)) for draw in case.inputs]


def _ours(arrays, differentiable):
    return [nr.tensor(a, requires_grad=i in differentiable and a.dtype.kind == "f") for i, a in enumerate(arrays)]


def _theirs(torch, arrays, differentiable):
    return [torch.tensor(a, requires_grad=i in differentiable and a.dtype.kind == "f") for i, a in enumerate(arrays)]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_values_and_gradients_match_torch(case):
    torch = reference_library("torch")
    arrays = _inputs(case)
    ours, theirs = _ours(arrays, case.differentiable), _theirs(torch, arrays, case.differentiable)
    out, expected = case.ours(*ours), case.theirs(torch, *theirs)
    assert out.shape == tuple(expected.shape)
    assert out.dtype.kind == expected.detach().numpy().dtype.kind
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=case.rtol, atol=1e-14)
    if not case.differentiable or not out.requires_grad:
        return
    cotangent = np.random.default_rng(1).standard_normal(out.shape)
    out.backward(cotangent)
    expected.backward(torch.tensor(cotangent))
    for i in case.differentiable:
        if theirs[i].grad is None:
            assert ours[i].grad is None or not np.any(ours[i].grad.data)
            continue
        np.testing.assert_allclose(ours[i].grad.data, theirs[i].grad.numpy(), rtol=max(case.rtol, 1e-10), atol=1e-12)


@pytest.mark.parametrize("case", [c for c in CASES if c.differentiable and c.smooth], ids=lambda c: c.id)
def test_gradcheck(case):
    arrays = _inputs(case, seed=2)
    tensors = _ours(arrays, case.differentiable)
    assert any(t.requires_grad for t in tensors), f"{case.id}: no floating input to differentiate"
    assert nr.gradcheck(case.ours, tensors)


LOSS_MODULES = [
    ("CrossEntropyLoss", dict(label_smoothing=0.1), normal(4, 3), integers(0, 3, 4)),
    ("NLLLoss", dict(reduction="sum"), normal(4, 3), integers(0, 3, 4)),
    ("MSELoss", dict(), normal(4, 3), normal(4, 3)),
    ("L1Loss", dict(reduction="none"), normal(4, 3), normal(4, 3)),
    ("BCELoss", dict(), lambda rng: rng.uniform(0.1, 0.9, (4, 3)), lambda rng: rng.uniform(0, 1, (4, 3))),
    ("BCEWithLogitsLoss", dict(), normal(4, 3), lambda rng: rng.uniform(0, 1, (4, 3))),
    ("HuberLoss", dict(delta=0.5), normal(4, 3), normal(4, 3)),
    ("KLDivLoss", dict(reduction="batchmean"), lambda rng: np.log(probabilities(4, 3)(rng)), probabilities(4, 3)),
]


@pytest.mark.parametrize(("name", "options", "scores", "targets"), LOSS_MODULES, ids=[m[0] for m in LOSS_MODULES])
def test_loss_modules_match_torch(name, options, scores, targets):
    torch = reference_library("torch")
    rng = np.random.default_rng(3)
    x, y = scores(rng), targets(rng)
    ours, theirs = nr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out = getattr(nn, name)(**options)(ours, nr.tensor(y))
    expected = getattr(torch.nn, name)(**options)(theirs, torch.tensor(y))
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-12)
    cotangent = np.ones(out.shape)
    out.backward(cotangent)
    expected.backward(torch.tensor(cotangent))
    np.testing.assert_allclose(ours.grad.data, theirs.grad.numpy(), rtol=1e-10, atol=1e-14)


ACTIVATION_MODULES = ["ReLU6", "Hardswish", "Hardsigmoid", "LogSigmoid", "SELU", "CELU", "Mish", "Softsign", "SiLU"]


@pytest.mark.parametrize("name", ACTIVATION_MODULES)
def test_activation_modules_match_torch(name):
    torch = reference_library("torch")
    x = np.random.default_rng(4).uniform(-5, 5, 30)
    np.testing.assert_allclose(
        getattr(nn, name)()(nr.tensor(x)).data, getattr(torch.nn, name)()(torch.tensor(x)).numpy(), rtol=1e-7
    )


@pytest.mark.parametrize("name", ["ConvTranspose1d", "ConvTranspose2d"])
def test_transposed_convolution_modules_load_torchs_weights(name):
    torch = reference_library("torch")
    spatial = 1 if name.endswith("1d") else 2
    options = dict(in_channels=4, out_channels=6, kernel_size=3, stride=2, padding=1, output_padding=1, groups=2)
    theirs = getattr(torch.nn, name)(**options).double()
    ours = getattr(nn, name)(**options).double()
    assert ours.weight.shape == tuple(theirs.weight.shape)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    x = np.random.default_rng(5).standard_normal((2, 4) + (5,) * spatial)
    np.testing.assert_allclose(ours(nr.tensor(x)).data, theirs(torch.tensor(x)).detach().numpy(), rtol=1e-12)


def names(text: str) -> list[str]:
    return text.split()


TOP_LEVEL = names("""tan asin acos sinh cosh asinh acosh atanh arcsin arccos arctan copysign logaddexp fmod cummax
cummin logcumsumexp std_mean var_mean bitwise_left_shift bitwise_right_shift selu scatter_reduce
bitwise_and bitwise_or bitwise_xor bitwise_not exp log sqrt abs clamp maximum minimum add mul div
pow sign log_softmax masked_fill where tril triu einsum cumsum cumprod all any isnan isinf isfinite isclose allclose
repeat_interleave flip roll floor ceil round trunc floor_divide remainder scatter scatter_add nonzero masked_select
logical_and logical_or logical_not meshgrid diagonal diag lerp erf rsqrt log2 log10 exp2 sin cos sort argsort topk""")
METHODS = names("""tan asin acos sinh cosh asinh acosh atanh copysign logaddexp fmod cummax cummin logcumsumexp
unfold type bitwise_left_shift bitwise_right_shift __lshift__ __rshift__ __rand__ __ror__ __rxor__ scatter_reduce
bitwise_and bitwise_or bitwise_xor bitwise_not exp log sqrt abs clamp maximum minimum add mul div
pow sign log_softmax masked_fill tril triu cumsum cumprod all any isnan isinf isfinite isclose allclose repeat
repeat_interleave flip roll floor ceil round trunc floor_divide remainder scatter scatter_add nonzero masked_select
logical_and logical_or logical_not diagonal diag lerp erf rsqrt log2 log10 exp2 sin cos sort argsort topk""")
FUNCTIONAL = names("""softmin
one_hot normalize interpolate conv_transpose1d conv_transpose2d scaled_dot_product_attention
relu6 hardswish hardsigmoid logsigmoid selu celu mish softsign silu l1_loss huber_loss kl_div mse_loss cross_entropy
nll_loss binary_cross_entropy binary_cross_entropy_with_logits""")
MODULES = names("""Softmin CrossEntropyLoss NLLLoss MSELoss L1Loss BCELoss BCEWithLogitsLoss HuberLoss KLDivLoss
ConvTranspose1d ConvTranspose2d ReLU6 Hardswish Hardsigmoid LogSigmoid SELU CELU Mish Softsign SiLU""")


def test_pytorchs_names_exist_where_torch_has_them():
    torch = reference_library("torch")
    assert [n for n in TOP_LEVEL if not hasattr(nr, n) and hasattr(torch, n)] == []
    assert [n for n in METHODS if not hasattr(nr.Tensor, n) and hasattr(torch.Tensor, n)] == []
    assert [n for n in FUNCTIONAL if not hasattr(F, n) and hasattr(torch.nn.functional, n)] == []
    assert [n for n in MODULES if not hasattr(nn, n) and hasattr(torch.nn, n)] == []


PROMOTIONS = [
    # (operation, dtypes of the operands or Python scalars): PyTorch's result dtype, where NumPy's differs
    ("int32 + float32", lambda a, b: a + b, "int32", "float32"),
    ("float32 * int64", lambda a, b: a * b, "float32", "int64"),
    ("int32 / int32", lambda a, b: a / b, "int32", "int32"),
    ("int32 / 2", lambda a, b: a / 2, "int32", None),
    ("2 / int32", lambda a, b: 2 / a, "int32", None),
    ("int32 * 2.5", lambda a, b: a * 2.5, "int32", None),
    ("int32 ** 2.0", lambda a, b: a**2.0, "int32", None),
    ("int32 + 1", lambda a, b: a + 1, "int32", None),
    ("bool + 1", lambda a, b: a + 1, "bool", None),
    ("bool * 1.5", lambda a, b: a * 1.5, "bool", None),
    ("maximum(int32, float32)", lambda a, b: a.maximum(b), "int32", "float32"),
    ("int32 % 2.5", lambda a, b: a % 2.5, "int32", None),
    ("float64 - int32", lambda a, b: a - b, "float64", "int32"),
]


@pytest.mark.parametrize(("name", "op", "left", "right"), PROMOTIONS, ids=[p[0] for p in PROMOTIONS])
def test_type_promotion_follows_torch(name, op, left, right):
    torch = reference_library("torch")
    rng = np.random.default_rng(0)
    arrays = [np.asarray(rng.integers(1, 5, 4)).astype(d) if d else None for d in (left, right)]
    ours = op(*(nr.tensor(a) if a is not None else None for a in arrays))
    theirs = op(*(torch.tensor(a) if a is not None else None for a in arrays))
    assert ours.dtype == theirs.numpy().dtype, name
    np.testing.assert_allclose(ours.data, theirs.numpy(), rtol=1e-6)


def test_float_gradients_keep_their_dtype_under_promotion():
    # a float32 leaf times an int64 tensor: the product is float32 and so is the gradient (no float64 detour)
    x = nr.tensor(np.array([1.0, 2.0], np.float32), requires_grad=True)
    (x * nr.tensor(np.array([3, 4]))).sum().backward()
    assert x.grad.dtype == np.float32 and x.grad.data.tolist() == [3.0, 4.0]


def test_type_converts_like_to():
    x = nr.tensor(np.array([1, 2], np.int32))
    assert x.type(np.float32).dtype == np.float32 and x.type() == "int32"
    assert nr.tensor(np.array([1.5])).type(np.int64).data.tolist() == [1]


def test_softmin_module_matches_torch():
    torch = reference_library("torch")
    x = np.random.default_rng(0).standard_normal((2, 4))
    np.testing.assert_allclose(nn.Softmin(dim=1)(nr.tensor(x)).data, torch.nn.Softmin(dim=1)(torch.tensor(x)).numpy(),
                               rtol=1e-12)  # fmt: skip


def test_unfold_rejects_windows_that_do_not_fit():
    with pytest.raises(nr.errors.ShapeError, match=r"unfold: size 5 and step 1 do not fit dim 1 of size 4"):
        nr.zeros(2, 4).unfold(1, 5, 1)
