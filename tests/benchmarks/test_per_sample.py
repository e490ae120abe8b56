"""The per-example gradient benchmark: its three ways compute the same gradients, and its section renders."""

from __future__ import annotations

import numpy as np

from benchmarks import per_sample
from tests.helpers import reference_library


def test_the_three_ways_agree():
    reference_library("torch")
    ours = per_sample.neurones_candidates()
    batched, loop = ours["neurones batched"](), ours["neurones loop"]()
    assert set(batched) == set(loop) == {"0.weight", "0.bias", "2.weight", "2.bias"}
    for name in batched:
        assert batched[name].shape == (per_sample.BATCH, *loop[name].shape[1:])
        np.testing.assert_allclose(batched[name], loop[name], rtol=1e-4, atol=1e-6)
    theirs = per_sample.torch_candidate()["torch vmap"]()
    assert theirs["0.weight"].shape == batched["0.weight"].shape


def test_the_section_states_both_ratios():
    record = {f"{name} {setting}": seconds for name, seconds in
              (("neurones batched", 0.02), ("neurones loop", 0.15), ("torch vmap", 0.04))
              for setting in ("default", "1 thread")}
    record.update({"speedup over loop": 7.5, "ratio to torch vmap": 0.5})
    text = "\n".join(per_sample.render(record))
    assert "**7.5×** faster (target ≥ 5×: holds)" in text
    assert "ratio **0.50**" in text
    assert "| neurones loop | 150.0 | 150.0 |" in text
