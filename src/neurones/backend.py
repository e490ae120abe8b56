"""The array backend: NumPy, the default floating dtype, and seeded random generators.

Everything numerical in neurones goes through NumPy arrays. This module fixes the conventions that every layer
above relies on:

* the default floating dtype is ``float32`` (what deep-learning code uses; ``float64`` is supported end to end and
  is what gradient checks use);
* randomness never comes from a hidden global state: functions that draw numbers take an explicit
  ``numpy.random.Generator`` (or an integer seed, turned into one by :func:`as_generator`).
"""

from __future__ import annotations

import numpy as np

from neurones.errors import DTypeError

DEFAULT_DTYPE = np.dtype(np.float32)
FLOAT_DTYPES = (np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64))

Seed = int | np.random.Generator | None


def as_generator(rng: Seed) -> np.random.Generator:
    """Return a Generator: ``rng`` itself if it is one, else ``numpy.random.default_rng(rng)``.

    ``None`` gives a generator seeded from the operating system; pass an integer for reproducible numbers.
    """
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or isinstance(rng, (int, np.integer)):
        return np.random.default_rng(rng)
    raise TypeError(f"expected a numpy.random.Generator, an integer seed or None, got {type(rng).__name__}")


def as_dtype(dtype) -> np.dtype:
    """Normalize a dtype given as a NumPy dtype, a type, or a name such as ``"float64"``."""
    try:
        return np.dtype(dtype)
    except TypeError as exc:
        raise DTypeError(f"not a dtype: {dtype!r}") from exc


def is_floating(dtype: np.dtype) -> bool:
    return dtype.kind == "f"
