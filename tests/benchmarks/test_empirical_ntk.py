"""The empirical-NTK benchmark: both ways compute the same kernel, and its section renders."""

from __future__ import annotations

import numpy as np
from benchmarks.run import SECTIONS, render

from benchmarks import empirical_ntk
from tests.helpers import reference_library


def test_both_ways_compute_the_same_kernel():
    torch = reference_library("torch")
    ours = empirical_ntk.neurones_candidate()["neurones"]()
    assert ours.shape == (empirical_ntk.POINTS, empirical_ntk.POINTS)
    theirs = empirical_ntk.torch_candidates()["torch float64"]()[:, :, 0, 0]
    assert isinstance(theirs, torch.Tensor)
    np.testing.assert_allclose(ours, theirs.numpy(), rtol=1e-10)


def test_the_section_states_the_ratio_and_the_memory():
    record = {f"{name} {setting}": seconds for name, seconds in
              (("neurones", 0.01), ("torch float32", 0.3), ("torch float64", 0.6))
              for setting in ("default", "1 thread")}
    record.update({"ratio": 0.033, "neurones peak MiB": 10.4, "jacobian float32 MiB": 278.0})
    text = "\n".join(empirical_ntk.render(record))
    assert "ratio **0.03** (target ≤ 2: holds)" in text and "10.4 MiB" in text and "278 MiB" in text
    assert "| torch float64 | 600.0 | 600.0 |" in text
    assert empirical_ntk in SECTIONS
    assert "Empirical neural tangent kernel" in render([], None, None, {empirical_ntk.KEY: record})
