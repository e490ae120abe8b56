"""Thread settings: PyTorch's intra-op threads and NumPy's BLAS threads, set together for a block of work."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

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


def time_at_each_setting(make_candidates: Callable[[], dict], repeats: int) -> dict:
    """``{"<way> <setting>": median seconds, "<way> best": the smallest over settings}`` for the ways that
    ``make_candidates()`` builds afresh at each thread setting (once per setting, then timed alternately)."""
    from benchmarks.timing import median_times

    record: dict = {}
    for threads in SETTINGS:
        with thread_limits(threads):
            medians = median_times(make_candidates(), repeats=repeats, warmup=1, inner=1)
        for name, seconds in medians.items():
            record[f"{name} {label(threads)}"] = seconds
    for name in medians:
        record[f"{name} best"] = min(record[f"{name} {label(t)}"] for t in SETTINGS)
    return record


def milliseconds_table(record: dict, names) -> list[str]:
    """The markdown table of :func:`time_at_each_setting`'s record: one row per way, one column per setting."""
    settings = [label(t) for t in SETTINGS]
    return [
        "| way | " + " | ".join(settings) + " |",
        "|---|" + "---:|" * len(settings),
        *[f"| {name} | " + " | ".join(f"{record[f'{name} {s}'] * 1e3:.1f}" for s in settings) + " |"
          for name in names],
    ]
