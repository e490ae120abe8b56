"""neurones: deep neural networks from first principles, and a laboratory for the theory of why they train."""

from neurones import ops as _ops  # noqa: F401  (binds the ops onto Tensor)
from neurones.autodiff import (
    Function,
    Tensor,
    detect_anomaly,
    enable_grad,
    is_anomaly_enabled,
    is_grad_enabled,
    no_grad,
    set_grad_enabled,
)

from neurones.autodiff.creation import (
    arange,
    as_tensor,
    empty,
    eye,
    from_numpy,
    full,
    full_like,
    linspace,
    ones,
    ones_like,
    rand,
    randint,
    randn,
    tensor,
    zeros,
    zeros_like,
)
from neurones.autodiff.gradcheck import gradcheck
from neurones.backend import default_generator, manual_seed
from neurones.autodiff.transforms import grad, value_and_grad

__version__ = "0.1.0"
