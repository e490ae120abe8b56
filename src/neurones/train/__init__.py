"""Training: the ``fit`` loop, ``evaluate``, callbacks, and checkpoints that resume a run bit for bit."""

from neurones.train.callbacks import Callback, Checkpoint, EarlyStopping, LambdaCallback, ProgressBar
from neurones.train.checkpoint import load_checkpoint, module_generators, read_checkpoint, save_checkpoint
from neurones.train.history import History
from neurones.train.loop import evaluate, fit
from neurones.train.metrics import accuracy
from neurones.train.state import TrainingState

__all__ = [
    "Callback",
    "Checkpoint",
    "EarlyStopping",
    "History",
    "LambdaCallback",
    "ProgressBar",
    "TrainingState",
    "accuracy",
    "evaluate",
    "fit",
    "load_checkpoint",
    "module_generators",
    "read_checkpoint",
    "save_checkpoint",
]
