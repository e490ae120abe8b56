"""Convolution layers ``Conv1d`` (inputs ``(N, C, L)``) and ``Conv2d`` (inputs ``(N, C, H, W)``), and their
transposes ``ConvTranspose1d/2d``, as PyTorch's.

The weight has shape ``(out_channels, in_channels/groups, *kernel_size)``; its default initialization is PyTorch's
(see :mod:`neurones.nn.linear`): ``U(−1/√fan_in, 1/√fan_in)`` for weights and bias, with
``fan_in = in_channels/groups · ∏kernel_size``.
"""

from __future__ import annotations

from neurones import functional as F
from neurones.backend import Seed
from neurones.nn.linear import reset_default_parameters
from neurones.nn.module import Module
from neurones.nn.parameter import empty_parameter

_PADDING_STRINGS = ("same", "valid")
_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def _ntuple(value, n: int, name: str) -> tuple:
    """``value`` repeated ``n`` times if it is an integer, else checked to have ``n`` entries."""
    if isinstance(value, int):
        return (value,) * n
    value = tuple(value)
    if len(value) != n:
        raise ValueError(f"{name} must be an int or a tuple of {n} ints, got {value}")
    return value


class _ConvNd(Module):
    """What ``Conv1d`` and ``Conv2d`` share: argument checks, parameters, initialization and repr."""

    spatial_dims = 0

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size,
        stride=1,
        padding=0,
        dilation=1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        *,
        dtype=None,
        rng: Seed = None,
    ) -> None:
        super().__init__()
        n = self.spatial_dims
        if not isinstance(groups, int) or groups <= 0:
            raise ValueError(f"groups must be a positive integer, got {groups!r}")
        if in_channels % groups != 0:
            raise ValueError(f"in_channels ({in_channels}) must be divisible by groups ({groups})")
        if out_channels % groups != 0:
            raise ValueError(f"out_channels ({out_channels}) must be divisible by groups ({groups})")
        if padding_mode not in _PADDING_MODES:
            raise ValueError(f"padding_mode must be one of {_PADDING_MODES}, got {padding_mode!r}")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = _ntuple(kernel_size, n, "kernel_size")
        self.stride = _ntuple(stride, n, "stride")
        self.dilation = _ntuple(dilation, n, "dilation")
        if isinstance(padding, str):
            if padding not in _PADDING_STRINGS:
                raise ValueError(f"Invalid padding string {padding!r}, should be one of {_PADDING_STRINGS}")
            if padding == "same" and any(s != 1 for s in self.stride):
                raise ValueError("padding='same' is not supported for strided convolutions")
            self.padding = padding
        else:
            self.padding = _ntuple(padding, n, "padding")
        self.groups = groups
        self.padding_mode = padding_mode
        self._pad_widths = self._explicit_pad_widths()
        self.weight = empty_parameter((out_channels, in_channels // groups, *self.kernel_size), dtype)
        if bias:
            self.bias = empty_parameter((out_channels,), dtype)
        else:
            self.register_parameter("bias", None)
        self.reset_parameters(rng)

    def _explicit_pad_widths(self) -> tuple:
        """``F.pad`` widths (last spatial dim first, ``(before, after)`` each) for the non-zero padding modes, which
        pad the input explicitly and then convolve without padding. ``"same"`` puts the odd unit after."""
        widths = []
        for axis in reversed(range(self.spatial_dims)):
            if self.padding == "same":
                total = self.dilation[axis] * (self.kernel_size[axis] - 1)
                widths += [total // 2, total - total // 2]
            elif self.padding == "valid":
                widths += [0, 0]
            else:
                widths += [self.padding[axis], self.padding[axis]]
        return tuple(widths)

    def reset_parameters(self, rng: Seed = None) -> None:
        reset_default_parameters(self.weight, self.bias, rng)

    def forward(self, x):
        conv = self.convolution
        if self.padding_mode == "zeros":
            return conv(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)
        x = F.pad(x, self._pad_widths, mode=self.padding_mode)
        return conv(x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)

    def extra_repr(self) -> str:
        n = self.spatial_dims
        text = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0,) * n:
            text += f", padding={self.padding}"
        if self.dilation != (1,) * n:
            text += f", dilation={self.dilation}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if self.bias is None:
            text += ", bias=False"
        if self.padding_mode != "zeros":
            text += f", padding_mode={self.padding_mode}"
        return text


class Conv1d(_ConvNd):
    """1-D cross-correlation over ``(N, C_in, L)`` with a kernel ``(C_out, C_in/groups, k)``.

    ``padding`` is an int, a 1-tuple, ``"valid"`` (none) or ``"same"`` (output length = input length; stride 1);
    ``padding_mode`` is ``"zeros"``, ``"reflect"``, ``"replicate"`` or ``"circular"``.
    """

    spatial_dims = 1
    convolution = staticmethod(F.conv1d)


class Conv2d(_ConvNd):
    """2-D cross-correlation over ``(N, C_in, H, W)`` with a kernel ``(C_out, C_in/groups, kH, kW)``.

    ``padding`` is an int, a pair, ``"valid"`` (none) or ``"same"`` (output size = input size; stride 1);
    ``padding_mode`` is ``"zeros"``, ``"reflect"``, ``"replicate"`` or ``"circular"``.
    """

    spatial_dims = 2
    convolution = staticmethod(F.conv2d)


class _ConvTransposeNd(Module):
    """The transposed convolution layers: weight ``(in_channels, out_channels/groups, *kernel_size)``, PyTorch's
    default initialization (its fan-in counted on that weight, ``out_channels/groups · ∏kernel_size``)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size,
        stride=1,
        padding=0,
        output_padding=0,
        groups: int = 1,
        bias: bool = True,
        dilation=1,
        *,
        dtype=None,
        rng: Seed = None,
    ) -> None:
        super().__init__()
        n = self.spatial_dims
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"in_channels ({in_channels}) and out_channels ({out_channels}) must divide by groups")
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = _ntuple(kernel_size, n, "kernel_size")
        self.stride = _ntuple(stride, n, "stride")
        self.padding = _ntuple(padding, n, "padding")
        self.output_padding = _ntuple(output_padding, n, "output_padding")
        self.dilation = _ntuple(dilation, n, "dilation")
        self.weight = empty_parameter((in_channels, out_channels // groups, *self.kernel_size), dtype)
        if bias:
            self.bias = empty_parameter((out_channels,), dtype)
        else:
            self.register_parameter("bias", None)
        reset_default_parameters(self.weight, self.bias, rng)

    def forward(self, x):
        return self.convolution(
            x, self.weight, self.bias, self.stride, self.padding, self.output_padding, self.groups, self.dilation
        )

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
            + (f", padding={self.padding}" if any(self.padding) else "")
            + (f", output_padding={self.output_padding}" if any(self.output_padding) else "")
        )


class ConvTranspose1d(_ConvTransposeNd):
    """The transposed 1-D convolution (the adjoint of ``Conv1d``'s input-to-output map) over ``(N, C_in, L)``."""

    spatial_dims = 1
    convolution = staticmethod(F.conv_transpose1d)


class ConvTranspose2d(_ConvTransposeNd):
    """The transposed 2-D convolution (the adjoint of ``Conv2d``'s input-to-output map) over ``(N, C_in, H, W)``."""

    spatial_dims = 2
    convolution = staticmethod(F.conv_transpose2d)
