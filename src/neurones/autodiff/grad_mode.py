"""Grad mode: whether operations are recorded in the graph.

Under ``no_grad()`` no node is created and nothing is saved for backward, so inference and parameter updates
cost only the arithmetic. The switch is process-wide (not per thread): neurones runs the graph in one thread.

Both context managers also work as decorators::

    @neurones.no_grad()
    def evaluate(model, x): ...
"""

from __future__ import annotations

import contextlib


class _GradState:
    __slots__ = ("enabled",)

    def __init__(self) -> None:
        self.enabled = True


STATE = _GradState()


def is_grad_enabled() -> bool:
    """True when operations on tensors that require grad are being recorded."""
    return STATE.enabled


class _GradSwitch(contextlib.ContextDecorator):
    """Set grad mode to ``mode`` inside the block, and restore the previous mode on exit (even on error)."""

    def __init__(self, mode: bool) -> None:
        self.mode = mode
        self.previous: list[bool] = []

    def __enter__(self):
        self.previous.append(STATE.enabled)
        STATE.enabled = self.mode
        return self

    def __exit__(self, *exc_info) -> bool:
        STATE.enabled = self.previous.pop()
        return False


def no_grad() -> _GradSwitch:
    """Context manager (and decorator) under which nothing is recorded."""
    return _GradSwitch(False)


def enable_grad() -> _GradSwitch:
    """Context manager (and decorator) that turns recording back on, for instance inside ``no_grad``."""
    return _GradSwitch(True)


class set_grad_enabled(_GradSwitch):  # noqa: N801 - named like the PyTorch function it mirrors
    """Set grad mode to ``mode`` at once, like ``torch.set_grad_enabled``.

    Called as a statement it switches the mode for good; as a context manager it restores the previous mode on
    exit; as a decorator it switches the mode only while the decorated function runs.
    """

    def __init__(self, mode: bool) -> None:
        super().__init__(bool(mode))
        self.previous.append(STATE.enabled)
        STATE.enabled = self.mode

    def __enter__(self):
        return self

    def __call__(self, function):
        # Decorating must not change the mode of the code around the definition: undo the switch made by __init__.
        STATE.enabled = self.previous.pop()
        return super().__call__(function)

    def _recreate_cm(self):
        return _GradSwitch(self.mode)
