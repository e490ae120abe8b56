"""The engine: tensors, the op contract, the backward walk, grad modes, anomaly mode and gradient checks."""

from neurones.autodiff.anomaly import detect_anomaly, is_anomaly_enabled
from neurones.autodiff.function import Function, unbroadcast
from neurones.autodiff.grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from neurones.autodiff.tensor import Tensor

__all__ = [
    "Function",
    "Tensor",
    "detect_anomaly",
    "enable_grad",
    "is_anomaly_enabled",
    "is_grad_enabled",
    "no_grad",
    "set_grad_enabled",
    "unbroadcast",
]
