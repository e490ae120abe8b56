"""Test helpers: float64 leaves and hypothesis strategies for shapes that broadcast."""

from __future__ import annotations

import importlib
import os

import numpy as np
import pytest
from hypothesis import strategies as st

import neurones as nr


def leaf(array, requires_grad: bool = True) -> nr.Tensor:
    """A float64 leaf tensor holding a copy of ``array``."""
    return nr.tensor(np.array(array, dtype=np.float64), requires_grad=requires_grad)


def randn_leaf(rng: np.random.Generator, *shape, requires_grad: bool = True) -> nr.Tensor:
    return leaf(rng.standard_normal(shape), requires_grad)


shapes = st.lists(st.integers(1, 4), min_size=0, max_size=3).map(tuple)


@st.composite
def broadcastable_pair(draw):
    """Two shapes that broadcast together: the second drops leading axes and sets some axes to 1."""
    full = draw(st.lists(st.integers(1, 4), min_size=1, max_size=3).map(tuple))
    keep = draw(st.integers(0, len(full)))
    tail = list(full[len(full) - keep :])
    ones = draw(st.lists(st.booleans(), min_size=len(tail), max_size=len(tail)))
    other = tuple(1 if flag else n for n, flag in zip(tail, ones))
    if draw(st.booleans()):
        return full, other
    return other, full


def reference_library(name: str):
    """Import a reference library the tests compare against (torch, threadpoolctl, mnist1d).

    Outside CI a missing one skips the test; under ``CI=true`` it fails it, because a comparison that skips in CI
    proves nothing (``.ci/run`` installs the ``test`` extra, which pins them).
    """
    try:
        return importlib.import_module(name)
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail(f"the reference library {name!r} is missing in CI: the test extra must install it")
        pytest.skip(f"{name} is not installed (pip install -e '.[test]')")
