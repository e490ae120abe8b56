"""Neural-network building blocks, as ``torch.nn``: ``Module``, ``Parameter``, containers, layers, ``init``.

``neurones.nn.functional`` is :mod:`neurones.functional` itself (PyTorch's ``torch.nn.functional``), so both
``import neurones.nn.functional as F`` and ``from neurones import functional as F`` give the same module.
"""

import sys

from neurones import functional
from neurones.nn import depth_functions, init, utils
from neurones.nn.activation import (
    ELU,
    GELU,
    Arctan,
    Clip,
    Hardtanh,
    LeakyReLU,
    LogSoftmax,
    ReLU,
    Sigmoid,
    SiLU,
    Softmax,
    Softplus,
    Tanh,
)
from neurones.nn.containers import ModuleDict, ModuleList, Sequential
from neurones.nn.conv import Conv1d, Conv2d
from neurones.nn.depth_functions import ConstantInDepth, GaussianProcessInDepth, iid_in_depth
from neurones.nn.dropout import Dropout, Dropout2d
from neurones.nn.linear import Flatten, Identity, Linear
from neurones.nn.module import IncompatibleKeys, Module
from neurones.nn.normalization import BatchNorm1d, BatchNorm2d, GroupNorm, LayerNorm
from neurones.nn.ode_conv_resnet import ODEConvBlock, ODEConvResNet
from neurones.nn.ode_resnet import ODEResidualBlock, ODEResNet
from neurones.nn.parameter import Parameter
from neurones.nn.pooling import (
    AdaptiveAvgPool1d,
    AdaptiveAvgPool2d,
    AvgPool1d,
    AvgPool2d,
    MaxPool1d,
    MaxPool2d,
    ReLUMaxPool1d,
    ReLUMaxPool2d,
)
from neurones.nn.residual import ResBlock, Residual, StochasticDepth, expected_depth, linear_decay_survival
from neurones.nn.scaled_resnet import ScaledResidualBlock, ScaledResNet

# Make ``import neurones.nn.functional`` resolve to the very module ``neurones.functional``.
sys.modules[__name__ + ".functional"] = functional

__all__ = [
    "ELU",
    "GELU",
    "AdaptiveAvgPool1d",
    "AdaptiveAvgPool2d",
    "Arctan",
    "AvgPool1d",
    "AvgPool2d",
    "BatchNorm1d",
    "BatchNorm2d",
    "Clip",
    "ConstantInDepth",
    "Conv1d",
    "Conv2d",
    "Dropout",
    "Dropout2d",
    "Flatten",
    "GaussianProcessInDepth",
    "GroupNorm",
    "Hardtanh",
    "Identity",
    "IncompatibleKeys",
    "LayerNorm",
    "LeakyReLU",
    "Linear",
    "LogSoftmax",
    "MaxPool1d",
    "MaxPool2d",
    "Module",
    "ModuleDict",
    "ModuleList",
    "ODEConvBlock",
    "ODEConvResNet",
    "ODEResNet",
    "ODEResidualBlock",
    "Parameter",
    "ReLU",
    "ReLUMaxPool1d",
    "ReLUMaxPool2d",
    "ResBlock",
    "Residual",
    "ScaledResNet",
    "ScaledResidualBlock",
    "Sequential",
    "SiLU",
    "Sigmoid",
    "Softmax",
    "Softplus",
    "StochasticDepth",
    "Tanh",
    "depth_functions",
    "expected_depth",
    "functional",
    "iid_in_depth",
    "init",
    "linear_decay_survival",
    "utils",
]
