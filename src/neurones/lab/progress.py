"""Progress for long work: a tqdm bar on a terminal, plain timestamped lines everywhere else.

A bar on a terminal redraws itself in place and disappears when done, so only results remain on screen. When
standard error is not a terminal (a redirected log, CI, a batch job) a bar would print nothing useful, yet a
silent job of ten minutes looks dead: there, :func:`progress` writes one line when the work starts, one every
``HEARTBEAT_S`` seconds with the elapsed time and an estimate of what remains, and one when it ends.
"""

from __future__ import annotations

import contextlib
import contextvars
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from typing import Any, TextIO

from tqdm.auto import tqdm

HEARTBEAT_S = 30.0
"""Seconds between two progress lines when standard error is not a terminal."""


def duration(seconds: float) -> str:
    """``42 s``, ``3 min 05 s``, ``1 h 02 min``: a duration for people."""
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{seconds:.0f} s" if seconds >= 10 else f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def is_terminal(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


class LineProgress:
    """The non-terminal counterpart of a tqdm bar: ``update``, iteration and ``with`` work the same way. A daemon
    thread writes the status line every ``heartbeat_s`` seconds, so that a step that lasts minutes is not silent."""

    def __init__(
        self,
        iterable: Iterable | None = None,
        *,
        total: int | None = None,
        desc: str | None = None,
        stream: TextIO | None = None,
        heartbeat_s: float = HEARTBEAT_S,
    ) -> None:
        self.iterable = iterable
        self.total = total if total is not None else _length(iterable)
        self.desc = desc or "working"
        self.stream = stream if stream is not None else sys.stderr
        self.done = 0
        self.postfix = ""
        self.started = time.monotonic()
        self._stop = threading.Event()
        self._lock = threading.Lock()  # a beat and close() never interleave: "done" is always the last line
        self._write(f"{self.desc}: started" + (f" ({self.total} steps)" if self.total else ""))
        self._heartbeat = threading.Thread(target=self._beat, args=(heartbeat_s,), daemon=True)
        self._heartbeat.start()

    def __iter__(self) -> Iterator[Any]:
        try:
            for item in self.iterable:
                yield item
                self.update(1)
        finally:
            self.close()

    def update(self, count: int = 1) -> None:
        self.done += count

    def set_postfix(self, refresh: bool = True, **values: Any) -> None:
        """Values shown at the end of the next status line (``loss=0.31``), as tqdm's ``set_postfix``."""
        self.postfix = ", ".join(f"{key}={value}" for key, value in values.items())

    def status(self) -> str:
        elapsed = time.monotonic() - self.started
        text = f"{self.desc}: {self.done}" + (f"/{self.total}" if self.total else "") + f", {duration(elapsed)} elapsed"
        if self.total and 0 < self.done < self.total:
            text += f", about {duration(elapsed * (self.total - self.done) / self.done)} left"
        return text + (f" ({self.postfix})" if self.postfix else "")

    def close(self) -> None:
        with self._lock:
            if not self._stop.is_set():
                self._stop.set()
                self._write(f"{self.desc}: done in {duration(time.monotonic() - self.started)}")

    def _beat(self, interval: float) -> None:
        while not self._stop.wait(interval):
            with self._lock:
                if not self._stop.is_set():  # close() may have run since the wait ended
                    self._write(self.status())

    def __enter__(self) -> LineProgress:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def _write(self, line: str) -> None:
        print(line, file=self.stream, flush=True)


_SILENCED = contextvars.ContextVar("neurones_progress_silenced", default=False)


@contextlib.contextmanager
def silenced() -> Iterator[None]:
    """No progress output inside the block: for work whose caller reports progress itself (the experiments of a
    report, running side by side, would otherwise interleave their bars)."""
    token = _SILENCED.set(True)
    try:
        yield
    finally:
        _SILENCED.reset(token)


def progress(iterable: Iterable | None = None, *, total: int | None = None, desc: str | None = None):
    """Wrap ``iterable`` (or count to ``total`` with ``.update``): a tqdm bar when stderr is a terminal, otherwise
    a :class:`LineProgress` when the work is named (``desc``); unnamed inner loops stay silent off a terminal."""
    silent = _SILENCED.get()
    if silent or is_terminal(sys.stderr) or desc is None:
        return tqdm(
            iterable, total=total, desc=desc, disable=True if silent else None, leave=False, file=sys.stderr,
            dynamic_ncols=True,
        )
    return LineProgress(iterable, total=total, desc=desc)


def _length(iterable) -> int | None:
    try:
        return len(iterable)
    except TypeError:
        return None
