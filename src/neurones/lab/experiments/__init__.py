"""The experiments, one module per theory topic. Importing this package registers every one of them."""

from neurones.lab.experiments import (
    init_propagation,
    mnist1d_reference,
    resnet_depth_scaling,
    stochastic_depth,
    vanishing_gradients,
)

__all__ = ["init_propagation", "mnist1d_reference", "resnet_depth_scaling", "stochastic_depth", "vanishing_gradients"]
