"""neurones: deep neural networks from first principles, and a laboratory for the theory of why they train."""

from neurones import data, func, nn, optim  # torch.nn's counterpart imports the ops through neurones.functional
from neurones import ops as _ops
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
from neurones.autodiff.transforms import grad, value_and_grad
from neurones.backend import default_generator, keep_freed_memory, manual_seed
from neurones.functional import (  # the ops PyTorch also exposes at top level: neurones.cat, neurones.sum...
    amax,
    amin,
    argmax,
    argmin,
    broadcast_to,
    cat,
    chunk,
    clone,
    concat,
    concatenate,
    flatten,
    gather,
    index_select,
    logsumexp,
    matmul,
    max,
    mean,
    min,
    norm,
    permute,
    prod,
    relu,
    reshape,
    sigmoid,
    softmax,
    split,
    squeeze,
    stack,
    std,
    sum,
    swapaxes,
    t,
    tanh,
    transpose,
    unbind,
    unflatten,
    unsqueeze,
    var,
    where,
)

__version__ = "0.1.0"

keep_freed_memory()
