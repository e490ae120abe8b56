"""Exceptions raised by neurones.

Every error a user can provoke has its own class, so that code (and tests) can catch the precise failure, and
every message names the op and the values involved, so that a person can act on it. Each class also derives from
the closest built-in exception (``ValueError``, ``TypeError``, ``RuntimeError``...) so that generic handlers work.
"""

from __future__ import annotations


class NeuronesError(Exception):
    """Base class of every error raised on purpose by neurones."""


class ShapeError(NeuronesError, ValueError):
    """Operands whose shapes do not fit the op; the message names the op and the shapes."""


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


class GradcheckError(NeuronesError, AssertionError):
    """An analytic gradient disagrees with its finite-difference estimate; the message gives the worst entry."""
