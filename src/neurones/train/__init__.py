"""Training: the ``fit`` loop, ``evaluate``, callbacks, and checkpoints that resume a run bit for bit."""

from neurones.train.callbacks import Callback, Checkpoint, EarlyStopping, LambdaCallback, ProgressBar
from neurones.train.checkpoint import load_checkpoint, module_generators, read_checkpoint, save_checkpoint
from neurones.train.gradient_flow import FlowHistory, gradient_flow
from neurones.train.history import History
from neurones.train.loop import evaluate, fit
from neurones.train.metrics import accuracy
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
    "DropoutSchedule",
    "EarlyStopping",
    "FlowHistory",
    "History",
    "LambdaCallback",
    "LearningRateRestart",
    "ProgressBar",
    "StochasticDepthSchedule",
    "TrainingState",
    "accuracy",
    "drop_rates",
    "evaluate",
    "fit",
    "gradient_flow",
    "load_checkpoint",
    "module_generators",
    "read_checkpoint",
    "save_checkpoint",
]
