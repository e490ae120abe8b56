"""Thread settings: PyTorch's intra-op threads and NumPy's BLAS threads, set together for a block of work."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

SETTINGS = (None, 1)  # each library is timed at its default thread count and at one thread


def label(threads: int | None) -> str:
    """The name of a thread setting in records and tables: "default" or "1 thread"."""
    return "default" if threads is None else f"{threads} thread"


@contextlib.contextmanager
def thread_limits(threads: int | None) -> Iterator[None]:
    """Within the block, BLAS (through threadpoolctl) and PyTorch use ``threads`` threads; ``None`` keeps the
    libraries' defaults (one per core here)."""
    if threads is None:
        yield
        return
    from threadpoolctl import threadpool_limits

    try:
        import torch
    except ImportError:
        torch = None
    previous = torch.get_num_threads() if torch is not None else None
    with threadpool_limits(limits=threads):
        if torch is not None:
            torch.set_num_threads(threads)
        try:
            yield
        finally:
            if torch is not None:
                torch.set_num_threads(previous)
