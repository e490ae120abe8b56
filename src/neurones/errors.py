"""Exceptions raised by neurones.

Every error a user can provoke has its own class, so that code (and tests) can catch the precise failure, and
every message names the op and the values involved, so that a person can act on it. Each class also derives from
the closest built-in exception (``ValueError``, ``TypeError``, ``RuntimeError``...) so that generic handlers work.
"""

from __future__ import annotations


class NeuronesError(Exception):
    """Base class of every error raised on purpose by neurones."""


class ShapeError(NeuronesError, ValueError, RuntimeError):
    """Operands whose shapes do not fit the op; the message names the op and the shapes.

    Also a ``RuntimeError``, which is what PyTorch raises for a shape mismatch (matmul, conv, reshape, permute...),
    so that code written for PyTorch catches it.
    """


class DimError(ShapeError, IndexError):
    """A ``dim`` out of range for the tensor's number of dims; an ``IndexError`` as in PyTorch."""


class DTypeError(NeuronesError, TypeError):
    """An operand of a dtype the op does not accept (for instance gradients on integer tensors)."""


class GradientError(NeuronesError, RuntimeError):
    """``backward`` was called in a way that cannot produce gradients (non-scalar root without a gradient, ...)."""


class GraphFreedError(GradientError):
    """A second backward through a part of the graph whose saved arrays were already released."""


class InplaceError(NeuronesError, RuntimeError):
    """An in-place operation that would corrupt the graph: on a tensor that requires grad while recording, or
    on an array that a node saved for its backward and that changed before the backward ran."""


class AnomalyError(NeuronesError, FloatingPointError):
    """Raised under :func:`neurones.detect_anomaly` when an op produces NaN or Inf in forward or backward."""


class StateDictError(NeuronesError, RuntimeError):
    """``load_state_dict`` got a state dict that does not fit the module; the message lists the missing and the
    unexpected keys and every shape mismatch."""


class GradcheckError(NeuronesError, AssertionError):
    """An analytic gradient disagrees with its finite-difference estimate; the message gives the worst entry."""


class LabError(NeuronesError):
    """A laboratory run that cannot go ahead: the message is one line that a person can act on."""


class UnknownExperimentError(LabError, LookupError):
    """No experiment is registered under the requested name; the message lists the names that are."""


class ConfigError(LabError, ValueError):
    """An experiment configuration key that does not exist, or a value that does not parse as the key's type."""


class OutputError(LabError, OSError):
    """The output directory of a run or a report cannot be created or written."""


class DataFormatError(NeuronesError, ValueError):
    """A data file that cannot be read as the format it claims (truncated, corrupt, wrong header or contents);
    the message names the file and what is wrong."""


class CheckpointError(NeuronesError, RuntimeError):
    """A checkpoint file that cannot be used: truncated, corrupt (checksum mismatch), of an unknown format version,
    or holding state that does not fit the objects it is loaded into; the message names the file and the problem."""
