"""Anomaly detection: find the op that first produced a NaN or an Inf.

Inside ``with neurones.detect_anomaly():`` every op checks its forward output and every node checks the
cotangents its backward returns; the first non-finite value raises :class:`~neurones.errors.AnomalyError`
naming the op and the line of user code that created it (the creation stack is recorded only in this mode,
because walking the stack on every op would cost more than the op itself).
"""

from __future__ import annotations

import contextlib
import traceback

import numpy as np

from neurones.errors import AnomalyError


class _AnomalyState:
    __slots__ = ("enabled",)

    def __init__(self) -> None:
        self.enabled = False


STATE = _AnomalyState()


def is_anomaly_enabled() -> bool:
    return STATE.enabled


class detect_anomaly(contextlib.ContextDecorator):  # noqa: N801 - named like the PyTorch context manager
    """Raise on the first NaN or Inf produced by an op, in forward or in backward."""

    def __init__(self) -> None:
        self.previous: list[bool] = []

    def __enter__(self):
        self.previous.append(STATE.enabled)
        STATE.enabled = True
        return self

    def __exit__(self, *exc_info) -> bool:
        STATE.enabled = self.previous.pop()
        return False


def creation_site() -> str:
    """The innermost stack frame outside neurones: where the user created the op."""
    for frame in reversed(traceback.extract_stack()[:-1]):
        if "/neurones/" not in frame.filename.replace("\\", "/"):
            return f'File "{frame.filename}", line {frame.lineno}, in {frame.name}: {frame.line}'
    return "<inside neurones>"


def _first_bad(array) -> str | None:
    if array is None or array.dtype.kind not in "fc":
        return None
    if np.isfinite(array).all():
        return None
    return "NaN" if np.isnan(array).any() else "Inf"


def check_forward(fn, output) -> None:
    bad = _first_bad(output)
    if bad is not None:
        raise AnomalyError(
            f"{type(fn).__name__} produced {bad} in its forward output (shape {output.shape}); "
            f"op created at {getattr(fn, 'created_at', creation_site())}"
        )


def check_backward(fn, grads) -> None:
    for index, grad in enumerate(grads):
        bad = _first_bad(grad)
        if bad is not None:
            raise AnomalyError(
                f"{type(fn).__name__}.backward produced {bad} in the gradient of its input {index} "
                f"(shape {grad.shape}); op created at {getattr(fn, 'created_at', '<unknown>')}"
            )
