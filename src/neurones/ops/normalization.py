"""Normalization layers as single nodes: batch, layer and group normalization.

Each standardizes x over a set of axes R (M entries per statistic) and applies an affine map:

    μ = mean_R x,  σ² = mean_R (x − μ)²  (biased),  x̂ = (x − μ) / √(σ² + ε),  y = γ x̂ + β.

The backward is the closed form of the whole chain (one node, not the dozen primitive ones). With ĝ = γ g the
cotangent of x̂ and r = 1/√(σ² + ε):

    ∂L/∂x = r (ĝ − mean_R ĝ − x̂ · mean_R(ĝ x̂)),   ∂L/∂γ = Σ g x̂,   ∂L/∂β = Σ g,

where the sums for γ and β run over the axes that γ and β are broadcast along. (Differentiating μ and σ² gives
the two subtracted terms: shifting x does not move x̂, and scaling x along x̂ does not either.) Batch norm
reduces over the same axes as γ is broadcast on, so there ĝ's means are γ/M times ∂L/∂β and ∂L/∂γ, computed once.

* ``batch_norm``: R = every axis but the channels (axis 1). In training it uses the batch statistics and moves
  the running ones in place: running ← (1 − momentum) running + momentum · batch, with the unbiased variance
  σ² M/(M − 1) for running_var, as PyTorch. In evaluation it uses the running statistics, which are constants:
  ∂L/∂x = γ r g.
* ``layer_norm``: R = the trailing ``normalized_shape`` axes; γ, β have that shape.
* ``group_norm``: R = each sample's channels split into ``num_groups`` groups (with their spatial axes); γ, β are
  per channel.
"""

from __future__ import annotations

import numpy as np

from neurones.autodiff.function import Function
from neurones.autodiff.grad_mode import no_grad
from neurones.errors import ShapeError
from neurones.ops.arithmetic import clamp, div
from neurones.ops.reductions import norm


def _affine(xhat: np.ndarray, weight, bias, out: np.ndarray) -> np.ndarray:
    """out = γ x̂ + β (either may be None); ``out`` is a scratch array of x̂'s shape that becomes the result."""
    if weight is None:
        np.copyto(out, xhat)
    else:
        np.multiply(xhat, weight, out=out)
    if bias is not None:
        out += bias
    return out


def _affine_grads(g, xhat, weight, has_bias: bool, parents, axes, shape) -> tuple:
    """∂L/∂γ = Σ g x̂ and ∂L/∂β = Σ g over ``axes``, reshaped to the parameters' ``shape`` (None where not needed)."""
    grads = []
    if weight is not None:
        grads.append((g * xhat).sum(axis=axes).reshape(shape) if parents[len(grads) + 1] is not None else None)
    if has_bias:
        grads.append(g.sum(axis=axes).reshape(shape) if parents[len(grads) + 1] is not None else None)
    return tuple(grads)


def _standardized_grad(ghat: np.ndarray, xhat: np.ndarray, inv_std: np.ndarray, axis) -> np.ndarray:
    """r (ĝ − mean_R ĝ − x̂ mean_R(ĝ x̂)) for statistics over ``axis`` (kept as size-1 axes in ``inv_std``)."""
    mean_g = ghat.mean(axis=axis, keepdims=True)
    mean_gx = (ghat * xhat).mean(axis=axis, keepdims=True)
    gx = xhat * mean_gx
    np.subtract(ghat, gx, out=gx)
    gx -= mean_g
    gx *= inv_std
    return gx


def _split_params(x, params, has_weight: bool, has_bias: bool) -> tuple:
    dtype = x.dtype
    weight = params[0].astype(dtype, copy=False) if has_weight else None
    bias = params[int(has_weight)].astype(dtype, copy=False) if has_bias else None
    return weight, bias


class BatchNorm(Function):
    """y = γ (x − μ_c)/√(σ²_c + ε) + β_c per channel c (axis 1), with batch or running statistics."""

    def forward(self, x, *params, has_weight, has_bias, running_mean, running_var, training, momentum, eps):
        weight, bias = _split_params(x, params, has_weight, has_bias)
        axes = (0, *tuple(range(2, x.ndim)))
        channel_shape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
        out = np.empty_like(x)
        if training:
            mean = x.mean(axis=axes, keepdims=True)
            xhat = x - mean
            var = np.square(xhat, out=out).mean(axis=axes, keepdims=True)
            if running_mean is not None or running_var is not None:
                _update_running_stats(running_mean, running_var, mean, var, x.size // x.shape[1], momentum)
        else:
            mean = running_mean.data.astype(x.dtype, copy=False).reshape(channel_shape)
            var = running_var.data.astype(x.dtype, copy=False).reshape(channel_shape)
            xhat = x - mean
        inv_std = 1 / np.sqrt(var + eps)
        xhat *= inv_std
        if self.parents is not None:
            self.training, self.has_bias, self.axes = training, bias is not None, axes
            self.save_for_backward(xhat, inv_std, weight)
        return _affine(
            xhat,
            None if weight is None else weight.reshape(channel_shape),
            None if bias is None else bias.reshape(channel_shape),
            out,
        )

    def backward(self, g):
        xhat, inv_std, weight = self.saved
        axes = self.axes
        channel_shape = inv_std.shape
        sum_g = g.sum(axis=axes, keepdims=True)
        sum_gx = (g * xhat).sum(axis=axes, keepdims=True)
        gx = None
        if self.parents[0] is not None:
            scale = inv_std if weight is None else inv_std * weight.reshape(channel_shape)
            if self.training:
                count = g.size // g.shape[1]
                gx = xhat * (sum_gx / count)
                np.subtract(g, gx, out=gx)
                gx -= sum_g / count
                gx *= scale
            else:
                gx = g * scale
        grads = []
        if weight is not None:
            grads.append(sum_gx.reshape(-1) if self.parents[1] is not None else None)
        if self.has_bias:
            grads.append(sum_g.reshape(-1) if self.parents[-1] is not None else None)
        return (gx, *grads)


def _update_running_stats(running_mean, running_var, mean, var, count: int, momentum: float) -> None:
    """running ← (1 − momentum) running + momentum · batch, in place (the unbiased variance for running_var)."""
    with no_grad():
        if running_mean is not None:
            running_mean.mul_(1 - momentum).add_(mean.reshape(-1), alpha=momentum)
        if running_var is not None:
            running_var.mul_(1 - momentum).add_(var.reshape(-1) * (count / (count - 1)), alpha=momentum)


class LayerNorm(Function):
    """y = γ ⊙ x̂ + β with x̂ standardized over the trailing axes of γ's shape (one statistic per leading index)."""

    def forward(self, x, *params, has_weight, has_bias, dims, eps):
        weight, bias = _split_params(x, params, has_weight, has_bias)
        axes = tuple(range(x.ndim - dims, x.ndim))
        out = np.empty_like(x)
        xhat = x - x.mean(axis=axes, keepdims=True)
        inv_std = 1 / np.sqrt(np.square(xhat, out=out).mean(axis=axes, keepdims=True) + eps)
        xhat *= inv_std
        if self.parents is not None:
            self.has_bias, self.axes = bias is not None, axes
            self.save_for_backward(xhat, inv_std, weight)
        return _affine(xhat, weight, bias, out)

    def backward(self, g):
        xhat, inv_std, weight = self.saved
        axes = self.axes
        gx = None
        if self.parents[0] is not None:
            gx = _standardized_grad(g if weight is None else g * weight, xhat, inv_std, axes)
        lead = tuple(range(xhat.ndim - len(axes)))
        return (gx, *_affine_grads(g, xhat, weight, self.has_bias, self.parents, lead, xhat.shape[len(lead) :]))


class GroupNorm(Function):
    """y = γ_c x̂ + β_c with x̂ standardized over each sample's group of C/G channels and their spatial axes."""

    def forward(self, x, *params, has_weight, has_bias, num_groups, eps):
        weight, bias = _split_params(x, params, has_weight, has_bias)
        n, c = x.shape[:2]
        channel_shape = (1, c) + (1,) * (x.ndim - 2)
        grouped = x.reshape(n, num_groups, -1)
        xhat = grouped - grouped.mean(axis=2, keepdims=True)
        scratch = np.empty_like(xhat)
        inv_std = 1 / np.sqrt(np.square(xhat, out=scratch).mean(axis=2, keepdims=True) + eps)
        xhat *= inv_std
        xhat = xhat.reshape(x.shape)
        if self.parents is not None:
            self.has_bias, self.channel_shape = bias is not None, channel_shape
            self.save_for_backward(xhat, inv_std, weight)
        return _affine(
            xhat,
            None if weight is None else weight.reshape(channel_shape),
            None if bias is None else bias.reshape(channel_shape),
            scratch.reshape(x.shape),
        )

    def backward(self, g):
        xhat, inv_std, weight = self.saved
        n, groups = inv_std.shape[:2]
        gx = None
        if self.parents[0] is not None:
            ghat = g if weight is None else g * weight.reshape(self.channel_shape)
            gx = _standardized_grad(ghat.reshape(n, groups, -1), xhat.reshape(n, groups, -1), inv_std, axis=2).reshape(
                xhat.shape
            )
        axes = (0, *tuple(range(2, xhat.ndim)))
        return (gx, *_affine_grads(g, xhat, weight, self.has_bias, self.parents, axes, (xhat.shape[1],)))


# ------------------------------------------------------------------------------------------------ public API
def _affine_tensors(op: str, weight, bias, shape: tuple) -> tuple:
    """The given affine parameters (weight, bias, either may be None) as a tuple, after checking their shapes."""
    for name, param in (("weight", weight), ("bias", bias)):
        if param is not None and tuple(param.shape) != shape:
            raise ShapeError(f"{op}: {name} of shape {tuple(param.shape)} does not fit the expected shape {shape}")
    return tuple(p for p in (weight, bias) if p is not None)


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1, eps=1e-5):
    """Batch normalization of (N, C) or (N, C, *) over every axis but the channels, as
    ``torch.nn.functional.batch_norm``.

    In training, normalizes with the batch statistics and, where given, updates ``running_mean`` and
    ``running_var`` (tensors of shape (C,)) in place; otherwise normalizes with the running statistics.
    """
    if input.ndim < 2:
        raise ShapeError(f"batch_norm: expected an input of shape (N, C) or (N, C, *), got {tuple(input.shape)}")
    channels = input.shape[1]
    for name, stat in (("running_mean", running_mean), ("running_var", running_var)):
        if stat is None:
            if not training:
                raise ValueError(f"batch_norm: {name} must be given in evaluation mode (training=False)")
        elif tuple(stat.shape) != (channels,):
            raise ShapeError(f"batch_norm: {name} of shape {tuple(stat.shape)} does not fit {channels} channels")
    if training and input.data.size // channels <= 1:
        raise ValueError(
            f"batch_norm: expected more than 1 value per channel when training, got input of shape {tuple(input.shape)}"
        )
    params = _affine_tensors("batch_norm", weight, bias, (channels,))
    return BatchNorm.apply(
        input,
        *params,
        has_weight=weight is not None,
        has_bias=bias is not None,
        running_mean=running_mean,
        running_var=running_var,
        training=bool(training),
        momentum=float(momentum),
        eps=float(eps),
    )


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Layer normalization over the trailing ``normalized_shape`` axes, as ``torch.nn.functional.layer_norm``."""
    shape = (normalized_shape,) if isinstance(normalized_shape, (int, np.integer)) else tuple(normalized_shape)
    if len(shape) == 0 or tuple(input.shape[input.ndim - len(shape) :]) != shape or input.ndim < len(shape):
        raise ShapeError(f"layer_norm: input of shape {tuple(input.shape)} does not end with normalized_shape {shape}")
    params = _affine_tensors("layer_norm", weight, bias, shape)
    return LayerNorm.apply(
        input, *params, has_weight=weight is not None, has_bias=bias is not None, dims=len(shape), eps=float(eps)
    )


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    """Group normalization of (N, C, *) over groups of C/num_groups channels, as
    ``torch.nn.functional.group_norm``; ``weight`` and ``bias`` are per channel."""
    if input.ndim < 2:
        raise ShapeError(f"group_norm: expected an input of shape (N, C, *), got {tuple(input.shape)}")
    channels = input.shape[1]
    if not isinstance(num_groups, (int, np.integer)) or num_groups < 1 or channels % num_groups:
        raise ShapeError(f"group_norm: {channels} channels cannot be split into num_groups={num_groups!r} groups")
    params = _affine_tensors("group_norm", weight, bias, (channels,))
    return GroupNorm.apply(
        input,
        *params,
        has_weight=weight is not None,
        has_bias=bias is not None,
        num_groups=int(num_groups),
        eps=float(eps),
    )


def normalize(input, p: float = 2.0, dim: int = 1, eps: float = 1e-12):
    """x / max(‖x‖_p, ε) along ``dim``, as ``torch.nn.functional.normalize``: unit vectors, with ε guarding 0."""
    return div(input, clamp(norm(input, p, dim, keepdim=True), min=eps))
