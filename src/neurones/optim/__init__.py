"""Optimizers, learning-rate schedules, gradient clipping and penalties Ω(θ), with PyTorch's ``torch.optim`` API.

``neurones.optim.lr_scheduler`` is a submodule, as ``torch.optim.lr_scheduler`` is.
"""

from neurones.optim import lr_scheduler
from neurones.optim.adagrad import Adagrad
from neurones.optim.adam import Adam, AdamW
from neurones.optim.clip_grad import clip_grad_norm_, clip_grad_value_, clip_grads_with_norm_, get_total_norm
from neurones.optim.optimizer import Optimizer
from neurones.optim.penalties import (
    homogeneous_penalty,
    l1_penalty,
    l2_penalty,
    rescale_hidden_units,
    weight_decay_penalty,
)
from neurones.optim.rmsprop import RMSprop
from neurones.optim.sgd import SGD

__all__ = [
    "SGD",
    "Adagrad",
    "Adam",
    "AdamW",
    "Optimizer",
    "RMSprop",
    "clip_grad_norm_",
    "clip_grad_value_",
    "clip_grads_with_norm_",
    "get_total_norm",
    "homogeneous_penalty",
    "l1_penalty",
    "l2_penalty",
    "lr_scheduler",
    "rescale_hidden_units",
    "weight_decay_penalty",
]
