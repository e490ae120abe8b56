"""The Winograd F(2×2, 3×3) prototype of benchmarks/winograd.py computes the library's convolution and gradients."""

from __future__ import annotations

import numpy as np
import pytest
from benchmarks.winograd import WinogradConv2d, _arrays, im2col_step


@pytest.mark.parametrize("shape", [(2, 3, 5, 7), (3, 2, 6, 6), (1, 1, 3, 4)])
def test_winograd_matches_im2col_in_float64(shape):
    x, w, b, g = _arrays(shape, (4, shape[1], 3, 3), dtype=np.float64)
    conv = WinogradConv2d(x.shape, w.shape, ((1, 1), (1, 1)), np.float64, chunk=2)
    ours = (conv.forward(x, w, b), *conv.backward(g))
    for got, want in zip(ours, im2col_step(x, w, b, g), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-11, atol=1e-12)
