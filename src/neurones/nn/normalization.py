"""Normalization layers: ``BatchNorm1d``, ``BatchNorm2d``, ``LayerNorm``, ``GroupNorm``, with PyTorch's semantics.

Batch normalization normalizes each channel with the statistics of the mini-batch while training, and with
running estimates in evaluation. The running estimates are exponential moving averages updated in place at each
training forward: ``running ← (1 − momentum)·running + momentum·batch`` (the batch variance unbiased, as in
PyTorch); ``momentum=None`` gives the cumulative average ``1/num_batches_tracked``. Without
``track_running_stats`` batch statistics are used in both modes.
"""

from __future__ import annotations

import numbers

import numpy as np

from neurones import functional as F
from neurones.autodiff.tensor import Tensor
from neurones.backend import DEFAULT_DTYPE, as_dtype
from neurones.errors import ShapeError
from neurones.nn import init
from neurones.nn.module import Module
from neurones.nn.parameter import empty_parameter


class _BatchNorm(Module):
    """What ``BatchNorm1d`` and ``BatchNorm2d`` share; subclasses only declare the dimensions of their inputs."""

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        *,
        bias: bool = True,
        dtype=None,
    ) -> None:
        super().__init__()
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        self.register_parameter("weight", empty_parameter((num_features,), dtype) if affine else None)
        self.register_parameter("bias", empty_parameter((num_features,), dtype) if affine and bias else None)
        if track_running_stats:
            dtype = DEFAULT_DTYPE if dtype is None else as_dtype(dtype)
            self.register_buffer("running_mean", Tensor(np.zeros(num_features, dtype=dtype)))
            self.register_buffer("running_var", Tensor(np.ones(num_features, dtype=dtype)))
            self.register_buffer("num_batches_tracked", Tensor(np.array(0, dtype=np.int64)))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)
        self.reset_parameters()

    def reset_running_stats(self) -> None:
        if self.track_running_stats:
            init.zeros_(self.running_mean)
            init.ones_(self.running_var)
            self.num_batches_tracked.fill_(0)

    def reset_parameters(self) -> None:
        self.reset_running_stats()
        if self.affine:
            init.ones_(self.weight)
            if self.bias is not None:
                init.zeros_(self.bias)

    input_dims: tuple[int, ...] = ()
    input_layout = ""

    def forward(self, x):
        if x.ndim not in self.input_dims:
            raise ShapeError(
                f"{type(self).__name__}: expected input of shape {self.input_layout} (got {x.ndim}D input of shape "
                f"{tuple(x.shape)})"
            )
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked.add_(1)
            if self.momentum is None:
                factor = 1.0 / float(self.num_batches_tracked.item())
        # In evaluation, batch statistics are used only when there are no running ones.
        use_batch_stats = self.training or self.running_mean is None
        track = not self.training or self.track_running_stats
        return F.batch_norm(
            x,
            self.running_mean if track else None,
            self.running_var if track else None,
            self.weight,
            self.bias,
            use_batch_stats,
            factor,
            self.eps,
        )

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
            f"bias={self.bias is not None}, track_running_stats={self.track_running_stats}"
        )


class BatchNorm1d(_BatchNorm):
    """Batch normalization of ``(N, C)`` or ``(N, C, L)`` inputs, per channel ``C = num_features``."""

    input_dims = (2, 3)
    input_layout = "(N, C) or (N, C, L)"


class BatchNorm2d(_BatchNorm):
    """Batch normalization of ``(N, C, H, W)`` inputs, per channel ``C = num_features``."""

    input_dims = (4,)
    input_layout = "(N, C, H, W)"


class LayerNorm(Module):
    """Normalize over the trailing ``normalized_shape`` dimensions of each example, then scale and shift
    elementwise (``weight`` and ``bias`` of shape ``normalized_shape``). Same computation in training and eval."""

    def __init__(
        self, normalized_shape, eps: float = 1e-5, elementwise_affine: bool = True, bias: bool = True, *, dtype=None
    ) -> None:
        super().__init__()
        if isinstance(normalized_shape, numbers.Integral):
            normalized_shape = (normalized_shape,)
        self.normalized_shape = tuple(normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        has_weight, has_bias = elementwise_affine, elementwise_affine and bias
        self.register_parameter("weight", empty_parameter(self.normalized_shape, dtype) if has_weight else None)
        self.register_parameter("bias", empty_parameter(self.normalized_shape, dtype) if has_bias else None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        if self.elementwise_affine:
            init.ones_(self.weight)
            if self.bias is not None:
                init.zeros_(self.bias)

    def forward(self, x):
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (
            f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}, "
            f"bias={self.bias is not None}"
        )


class GroupNorm(Module):
    """Normalize ``(N, C, *)`` inputs over groups of ``C/num_groups`` channels (and all positions), per example,
    then scale and shift per channel."""

    def __init__(
        self,
        num_groups: int,
        num_channels: int,
        eps: float = 1e-5,
        affine: bool = True,
        *,
        bias: bool = True,
        dtype=None,
    ) -> None:
        super().__init__()
        if num_channels % num_groups != 0:
            raise ValueError(f"num_channels ({num_channels}) must be divisible by num_groups ({num_groups})")
        self.num_groups = num_groups
        self.num_channels = num_channels
        self.eps = eps
        self.affine = affine
        self.register_parameter("weight", empty_parameter((num_channels,), dtype) if affine else None)
        self.register_parameter("bias", empty_parameter((num_channels,), dtype) if affine and bias else None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        if self.affine:
            init.ones_(self.weight)
            if self.bias is not None:
                init.zeros_(self.bias)

    def forward(self, x):
        return F.group_norm(x, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (
            f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, "
            f"bias={self.bias is not None}"
        )
