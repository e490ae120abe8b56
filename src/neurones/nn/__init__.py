"""Neural-network building blocks, as ``torch.nn``: ``Module``, ``Parameter``, containers, layers, ``init``.

``neurones.nn.functional`` is :mod:`neurones.functional` itself (PyTorch's ``torch.nn.functional``), so both
``import neurones.nn.functional as F`` and ``from neurones import functional as F`` give the same module.
"""

import sys

from neurones import functional
from neurones.nn import depth_functions, init, utils
from neurones.nn.activation import (
    CELU,
    ELU,
    GELU,
    SELU,
    Arctan,
    Clip,
    Hardsigmoid,
    Hardswish,
    Hardtanh,
    LeakyReLU,
    LogSigmoid,
    LogSoftmax,
    Mish,
    ReLU,
    ReLU6,
    Sigmoid,
    SiLU,
    Softmax,
    Softmin,
    Softplus,
    Softsign,
    Tanh,
)
from neurones.nn.containers import ModuleDict, ModuleList, Sequential
from neurones.nn.conv import Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d
from neurones.nn.depth_functions import ConstantInDepth, GaussianProcessInDepth, iid_in_depth
from neurones.nn.dropout import Dropout, Dropout2d
from neurones.nn.hooks import RemovableHandle
from neurones.nn.linear import Flatten, Identity, Linear
from neurones.nn.loss import (
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    HuberLoss,
    KLDivLoss,
    L1Loss,
    MSELoss,
    NLLLoss,
)
from neurones.nn.mean_field import Centered, MeanFieldTwoLayer
from neurones.nn.module import IncompatibleKeys, Module
from neurones.nn.normalization import BatchNorm1d, BatchNorm2d, GroupNorm, LayerNorm
from neurones.nn.ntk import NTKLinear, ntk_mlp
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
    "CELU",
    "ELU",
    "GELU",
    "SELU",
    "AdaptiveAvgPool1d",
    "AdaptiveAvgPool2d",
    "Arctan",
    "AvgPool1d",
    "AvgPool2d",
    "BCELoss",
    "BCEWithLogitsLoss",
    "BatchNorm1d",
    "BatchNorm2d",
    "Centered",
    "Clip",
    "ConstantInDepth",
    "Conv1d",
    "Conv2d",
    "ConvTranspose1d",
    "ConvTranspose2d",
    "CrossEntropyLoss",
    "Dropout",
    "Dropout2d",
    "Flatten",
    "GaussianProcessInDepth",
    "GroupNorm",
    "Hardsigmoid",
    "Hardswish",
    "Hardtanh",
    "HuberLoss",
    "Identity",
    "IncompatibleKeys",
    "KLDivLoss",
    "L1Loss",
    "LayerNorm",
    "LeakyReLU",
    "Linear",
    "LogSigmoid",
    "LogSoftmax",
    "MSELoss",
    "MaxPool1d",
    "MaxPool2d",
    "MeanFieldTwoLayer",
    "Mish",
    "Module",
    "ModuleDict",
    "ModuleList",
    "NLLLoss",
    "NTKLinear",
    "ODEConvBlock",
    "ODEConvResNet",
    "ODEResNet",
    "ODEResidualBlock",
    "Parameter",
    "ReLU",
    "ReLU6",
    "ReLUMaxPool1d",
    "ReLUMaxPool2d",
    "RemovableHandle",
    "ResBlock",
    "Residual",
    "ScaledResNet",
    "ScaledResidualBlock",
    "Sequential",
    "SiLU",
    "Sigmoid",
    "Softmax",
    "Softplus",
    "Softsign",
    "StochasticDepth",
    "Tanh",
    "depth_functions",
    "expected_depth",
    "functional",
    "iid_in_depth",
    "init",
    "linear_decay_survival",
    "ntk_mlp",
    "utils",
]
