"""The convolutional residual network of the CIFAR-10 experiment of "Implicit regularization of deep residual networks
towards neural ODEs" (Marion, Wu, Sander & Biau, ICLR 2024; seed 003):

    stem      x ↦ ReLU(BN(conv5×5, stride 3, padding 1 (x)))              (N, 3, 32, 32) → (N, 16, 10, 10)
    blocks    x_{k+1} = x_k + (1/L) BN(conv3×3(σ(BN(conv3×3 x_k))))      k = 0, …, L − 1, 16 channels, 10×10
    head      average pooling 4×4 → flatten → linear 64 → 10             (N, 16, 10, 10) → (N, 16, 2, 2) → (N, 10)

Each block has its own two convolutions and its own two batch normalizations. The 1/L in front of the residual
branch makes the blocks an explicit Euler scheme of step 1/L, as in :class:`~neurones.nn.ode_resnet.ODEResNet`:
when the blocks' weights are samples Z_k = 𝒵(k/L) of a function of depth, the network discretizes a neural ODE.

Initialization of the blocks' convolution weights (``init``):

- ``"constant"`` (smooth): every block gets the same two kernels, one draw of :class:`ConstantInDepth`;
- ``"gp"`` (smooth): the kernels of block k are 𝒵(k/L) for 𝒵 a :class:`GaussianProcessInDepth` (each entry an
  independent Gaussian process in s ∈ [0, 1], RBF kernel of bandwidth ``bandwidth``), so neighbouring blocks have
  nearby kernels;
- ``"iid"``: every block's kernels drawn independently.

All three draw entries of the same variance, set by ``weight_scale``: ``"default"`` is the variance of PyTorch's
default convolution law U(−1/√fan_in, 1/√fan_in), i.e. std 1/√(3 fan_in); ``"he"`` is He's std √(2/fan_in)
(fan_in = 16·3·3 = 144). The laws are Gaussian in all cases, which the Gaussian process needs.

As in the authors' code (``michaelsdr/implicit-regularization-resnets-nodes``, ``resnet.py`` and
``train_tiny.py``): the blocks' convolutions keep their biases (drawn like the kernels, in depth, with PyTorch's
default bias variance 1/(3 fan_in)); each block's second batch normalization starts at weight 0 and bias 0, so the
residual branch is 0 at initialization — the convolutional counterpart of V = 0; and the smooth ``"constant"``
initialization repeats every parameter of one block (kernels, biases, batch-normalization parameters) in all of
them. The stem and the linear head keep PyTorch's default initialization.
"""

from __future__ import annotations

import math

import numpy as np

from neurones.autodiff.grad_mode import no_grad
from neurones.backend import Seed, as_generator
from neurones.nn.activation import GELU, ReLU, Tanh
from neurones.nn.containers import ModuleList
from neurones.nn.conv import Conv2d
from neurones.nn.depth_functions import weights_in_depth
from neurones.nn.linear import Identity, Linear
from neurones.nn.module import Module
from neurones.nn.normalization import BatchNorm2d
from neurones.nn.pooling import AvgPool2d

CONV_INITS = ("constant", "gp", "iid")
WEIGHT_SCALES = ("default", "he")
CONV_ACTIVATIONS = {"gelu": GELU, "relu": ReLU, "tanh": Tanh, "identity": Identity}


def kernel_std(weight_scale: str, fan_in: int) -> float:
    """The standard deviation of a kernel entry: 1/√(3 fan_in) (PyTorch's default law) or √(2/fan_in) (He)."""
    if weight_scale == "default":
        return 1.0 / math.sqrt(3 * fan_in)
    if weight_scale == "he":
        return math.sqrt(2.0 / fan_in)
    raise ValueError(f"weight_scale must be one of {WEIGHT_SCALES}, got {weight_scale!r}")


class ODEConvBlock(Module):
    """x ↦ x + (1/L)·BN(conv3×3(σ(BN(conv3×3 x)))), with ``channels`` channels in and out."""

    def __init__(self, channels: int, depth: int, activation: str = "gelu", *, dtype=None, rng: Seed = None) -> None:
        super().__init__()
        if activation not in CONV_ACTIVATIONS:
            raise ValueError(f"ODEConvBlock: activation must be one of {tuple(CONV_ACTIVATIONS)}, got {activation!r}")
        gen = as_generator(rng)
        self.conv1 = Conv2d(channels, channels, 3, padding=1, dtype=dtype, rng=gen)
        self.bn1 = BatchNorm2d(channels, dtype=dtype)
        self.activation = CONV_ACTIVATIONS[activation]()
        self.conv2 = Conv2d(channels, channels, 3, padding=1, dtype=dtype, rng=gen)
        self.bn2 = BatchNorm2d(channels, dtype=dtype)
        with no_grad():  # the branch starts at 0 (the authors' zeroed second normalization)
            self.bn2.weight.zero_()
            self.bn2.bias.zero_()
        self.step = 1.0 / depth

    def forward(self, x):
        branch = self.bn2(self.conv2(self.activation(self.bn1(self.conv1(x)))))
        return x + branch * self.step

    def extra_repr(self) -> str:
        return f"step=1/{round(1 / self.step)}"


class ODEConvResNet(Module):
    """The paper's CIFAR-10 network: stem, ``depth`` residual blocks of step 1/L, average pooling and a linear head.

    Parameters
    ----------
    depth:
        L, the number of residual blocks.
    init:
        the blocks' kernels: ``"constant"`` or ``"gp"`` (smooth in depth) or ``"iid"`` (see the module docstring).
    activation:
        σ inside the blocks: ``"gelu"`` (default), ``"relu"``, ``"tanh"`` or ``"identity"``.
    weight_scale, bandwidth:
        the kernels' standard deviation (``"default"``: 1/√(3 fan_in); ``"he"``: √(2/fan_in)) and the RBF
        bandwidth ℓ of ``"gp"``.
    channels, num_classes:
        16 and 10 in the paper (the pooled feature map is 2×2, so the head has 4·channels inputs).
    """

    def __init__(self, depth: int, init: str = "constant", activation: str = "gelu", *,
                 weight_scale: str = "default", bandwidth: float = 0.25, channels: int = 16, num_classes: int = 10,
                 dtype=None, rng: Seed = None) -> None:
        super().__init__()
        if depth < 1:
            raise ValueError(f"ODEConvResNet: depth must be at least 1, got {depth}")
        if init not in CONV_INITS:
            raise ValueError(f"ODEConvResNet: init must be one of {CONV_INITS}, got {init!r}")
        gen = as_generator(rng)
        self.depth, self.init, self.activation = depth, init, activation
        self.stem_conv = Conv2d(3, channels, 5, stride=3, padding=1, bias=False, dtype=dtype, rng=gen)
        self.stem_bn = BatchNorm2d(channels, dtype=dtype)
        self.stem_relu = ReLU()
        self.blocks = ModuleList(ODEConvBlock(channels, depth, activation, dtype=dtype, rng=gen) for _ in range(depth))
        self.pool = AvgPool2d(4)
        self.fc = Linear(4 * channels, num_classes, dtype=dtype, rng=gen)
        shape = (channels, channels, 3, 3)
        fan_in = math.prod(shape[1:])
        std, bias_std = kernel_std(weight_scale, fan_in), kernel_std("default", fan_in)
        for name in ("conv1", "conv2"):
            kernels = weights_in_depth(init, shape, depth, std, bandwidth, gen, "ODEConvResNet")
            biases = weights_in_depth(init, (channels,), depth, bias_std, bandwidth, gen, "ODEConvResNet")
            with no_grad():
                for block, kernel, bias in zip(self.blocks, kernels, biases, strict=True):
                    convolution = getattr(block, name)
                    convolution.weight.copy_(kernel.astype(convolution.weight.dtype))
                    convolution.bias.copy_(bias.astype(convolution.bias.dtype))

    def forward(self, x):
        h = self.stem_relu(self.stem_bn(self.stem_conv(x)))
        for block in self.blocks:
            h = block(h)
        return self.fc(self.pool(h).flatten(1))

    def stacked_kernels(self) -> tuple[np.ndarray, np.ndarray]:
        """The blocks' kernels as two arrays of shape (L, C, C, 3, 3) (first and second convolution): copies."""
        first = np.stack([block.conv1.weight.data for block in self.blocks])
        second = np.stack([block.conv2.weight.data for block in self.blocks])
        return first, second

    def extra_repr(self) -> str:
        return f"depth={self.depth}, init={self.init}, activation={self.activation}"
