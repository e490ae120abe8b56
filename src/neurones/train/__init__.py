"""Training: the ``fit`` loop, ``evaluate``, callbacks, checkpoints that resume a run bit for bit, schedules, and
full-batch gradient descent with its recorders."""

from neurones.train.callbacks import Callback, Checkpoint, EarlyStopping, LambdaCallback, ProgressBar
from neurones.train.checkpoint import load_checkpoint, module_generators, read_checkpoint, save_checkpoint
from neurones.train.full_batch import GDHistory, full_batch_gd
from neurones.train.gradient_flow import FlowHistory, gradient_flow
from neurones.train.history import History
from neurones.train.loop import evaluate, fit
from neurones.train.metrics import accuracy
from neurones.train.recorders import (
    Displacement,
    GradientNormSquared,
    HessianMaxEigenvalue,
    PatternStability,
    PLRatio,
    Recorder,
    relu_inputs,
    relu_patterns,
)
from neurones.train.schedules import (
    DeficitSchedule,
    DropoutSchedule,
    LearningRateRestart,
    StochasticDepthSchedule,
    drop_rates,
)
from neurones.train.state import TrainingState

__all__ = [
    "Callback",
    "Checkpoint",
    "DeficitSchedule",
    "Displacement",
    "DropoutSchedule",
    "EarlyStopping",
    "FlowHistory",
    "GDHistory",
    "GradientNormSquared",
    "HessianMaxEigenvalue",
    "History",
    "LambdaCallback",
    "LearningRateRestart",
    "PLRatio",
    "PatternStability",
    "ProgressBar",
    "Recorder",
    "StochasticDepthSchedule",
    "TrainingState",
    "accuracy",
    "drop_rates",
    "evaluate",
    "fit",
    "full_batch_gd",
    "gradient_flow",
    "load_checkpoint",
    "module_generators",
    "read_checkpoint",
    "relu_inputs",
    "relu_patterns",
    "save_checkpoint",
]
