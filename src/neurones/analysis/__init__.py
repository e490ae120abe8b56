"""Instruments that measure networks: propagation statistics, residual trajectories, neural-ODE limits, ..."""

from neurones.analysis.neural_ode import (
    PiecewiseLinearInDepth,
    distance_to_neural_ode,
    features_at_zero_V,
    integrate_neural_ode,
    network_roughness,
    neural_ode_output,
    pl_ratio,
    roughness,
)
from neurones.analysis.propagation import LayerStatistics, layer_statistics
from neurones.analysis.residual import ResidualTrajectory, residual_trajectory

__all__ = [
    "LayerStatistics",
    "PiecewiseLinearInDepth",
    "ResidualTrajectory",
    "distance_to_neural_ode",
    "features_at_zero_V",
    "integrate_neural_ode",
    "layer_statistics",
    "network_roughness",
    "neural_ode_output",
    "pl_ratio",
    "residual_trajectory",
    "roughness",
]
