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

import ctypes
import os
import sys

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
    """Re-seed the process-wide default Generator (used where no ``rng`` is passed) and return it. The seed is an
    integer ≥ 0 (NumPy's seeds are unsigned)."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"manual_seed: the seed must be an integer ≥ 0, got {seed!r}")
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


# glibc's mallopt parameters (malloc.h).
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_TRIM_THRESHOLD = 512 * 1024 * 1024
_MMAP_THRESHOLD = 32 * 1024 * 1024  # glibc's largest allowed value on 64-bit machines


def keep_freed_memory() -> bool:
    """Ask glibc to keep freed memory for reuse instead of returning it to the system at once.

    A training step allocates the activations of every layer, frees them all at the end of backward, and allocates
    them again at the next step. By default glibc returns the freed top of the heap to the system as soon as
    128 KiB are free, and serves arrays above 128 KiB with fresh ``mmap`` calls, so every step pays page faults to
    touch the same memory again: 25% of the time of a deep narrow ResNet step on this machine (benchmarks/).
    Keeping freed memory changes no number and no peak: the process's high-water mark is the same, it just stays
    resident between steps (as with PyTorch's caching allocators). Set ``NEURONES_KEEP_FREED_MEMORY=0`` to opt
    out. Returns True if the allocator was tuned (glibc only).
    """
    if os.environ.get("NEURONES_KEEP_FREED_MEMORY", "1") == "0" or not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD)) and bool(mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD))
