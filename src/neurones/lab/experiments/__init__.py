"""The experiments, one module per theory topic. Importing this package registers every one of them."""

from neurones.lab.experiments import (
    init_propagation,
    mnist1d_reference,
    ode_cifar10,
    ode_convergence,
    ode_limit_synthetic,
    ode_long_training,
    ode_mnist1d,
    ode_width_pl,
    resnet_depth_scaling,
    stochastic_depth,
    vanishing_gradients,
)

__all__ = [
    "init_propagation",
    "mnist1d_reference",
    "ode_cifar10",
    "ode_convergence",
    "ode_limit_synthetic",
    "ode_long_training",
    "ode_mnist1d",
    "ode_width_pl",
    "resnet_depth_scaling",
    "stochastic_depth",
    "vanishing_gradients",
]
