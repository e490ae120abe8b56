"""Progress bars for long work: tqdm on standard error, shown only when it is a terminal."""

from __future__ import annotations

import sys
from collections.abc import Iterable

from tqdm.auto import tqdm


def progress(iterable: Iterable | None = None, *, total: int | None = None, desc: str | None = None) -> tqdm:
    """Wrap ``iterable`` (or count to ``total`` with ``.update``) in a bar that stays silent when stderr is not a
    TTY (tests, CI logs, pipes) and disappears when done, so that only results remain on screen."""
    return tqdm(iterable, total=total, desc=desc, disable=None, leave=False, file=sys.stderr, dynamic_ncols=True)
