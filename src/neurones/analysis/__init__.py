"""Instruments that measure networks: propagation statistics, residual trajectories, ..."""

from neurones.analysis.propagation import LayerStatistics, layer_statistics
from neurones.analysis.residual import ResidualTrajectory, residual_trajectory

__all__ = ["LayerStatistics", "ResidualTrajectory", "layer_statistics", "residual_trajectory"]
