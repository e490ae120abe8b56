"""The array backend: NumPy, the default floating dtype, and seeded random generators.

Everything numerical in neurones goes through NumPy arrays. This module fixes the conventions that every layer
above relies on:

* the default floating dtype is ``float32`` (what deep-learning code uses; ``float64`` is supported end to end and
  is what gradient checks use);
* randomness is reproducible by construction: functions that draw numbers take an explicit
  ``numpy.random.Generator`` (or an integer seed) as ``rng=``. Where ``rng`` is omitted (code ported from
  PyTorch, ``nn.Linear(3, 4)``), numbers come from one process-wide default Generator which, like PyTorch's, starts
  from a fixed seed and is re-seeded by :func:`manual_seed`: the same program gives the same numbers.
"""

from __future__ import annotations

import numpy as np

from neurones.errors import DTypeError

DEFAULT_DTYPE = np.dtype(np.float32)
FLOAT_DTYPES = (np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64))

Seed = int | np.random.Generator | None


INITIAL_SEED = 67280421310721  # PyTorch's default initial seed, for the same spirit of determinism


class _DefaultGenerator:
    __slots__ = ("generator",)

    def __init__(self) -> None:
        self.generator = np.random.default_rng(INITIAL_SEED)


_DEFAULT = _DefaultGenerator()


def manual_seed(seed: int) -> np.random.Generator:
    """Re-seed the process-wide default Generator (used where no ``rng`` is passed) and return it."""
    _DEFAULT.generator = np.random.default_rng(seed)
    return _DEFAULT.generator


def default_generator() -> np.random.Generator:
    return _DEFAULT.generator


def as_generator(rng: Seed) -> np.random.Generator:
    """Return a Generator: ``rng`` itself if it is one, a new one seeded with ``rng`` if it is an integer, and the
    process-wide default Generator if it is ``None``."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None:
        return _DEFAULT.generator
    if isinstance(rng, (int, np.integer)):
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
