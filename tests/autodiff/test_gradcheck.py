"""gradcheck itself: it passes correct ops and catches a wrong backward, entry by entry and along directions."""

from __future__ import annotations

import re

import numpy as np
import pytest

import neurones as nr
from neurones.autodiff.function import unbroadcast
from neurones.autodiff.gradcheck import FULL_JACOBIAN_LIMIT, gradcheck
from neurones.errors import DTypeError, GradcheckError
from tests.helpers import leaf


class ScaledWrongly(nr.Function):
    """y = x ⊙ w, with a backward off by a factor 1.5 for ``x`` (and right for ``w``)."""

    def forward(self, x, w):
        self.x, self.w = x, w
        return x * w

    def backward(self, g):
        return unbroadcast(g * self.w * 1.5, self.x.shape), unbroadcast(g * self.x, self.w.shape)


class CubeWrongAtOneEntry(nr.Function):
    """y = x³, with the derivative 3x² replaced by 4x² at flat index 4 only."""

    def forward(self, x):
        self.x = x
        return x**3

    def backward(self, g):
        derivative = 3 * self.x**2
        derivative.reshape(-1)[4] = 4 * self.x.reshape(-1)[4] ** 2
        return (g * derivative,)


def test_passes_on_correct_ops(rng):
    a, b = leaf(rng.standard_normal((3, 4))), leaf(rng.standard_normal(4))
    assert gradcheck(lambda x, y: (x * y).exp() - y / (1 + x * x), (a, b))
    assert nr.gradcheck(lambda x: x.log(), leaf(rng.random(5) + 0.5))
    assert nr.gradcheck(lambda x: x * x, leaf(2.0))  # a 0-d input


def test_passes_on_non_contiguous_inputs(rng):
    x = leaf(rng.standard_normal((3, 4)).T)
    assert not x.data.flags.c_contiguous
    assert gradcheck(lambda t: t * t * t, x)


def test_only_inputs_that_require_grad_are_checked(rng):
    w = leaf(rng.standard_normal(3), requires_grad=False)
    assert gradcheck(lambda x, c, scale: x * c * scale, (leaf(rng.standard_normal(3)), w, 2.0))
    with pytest.raises(ValueError, match="no input requires grad"):
        gradcheck(lambda c: c * 2.0, w)


def test_fails_on_a_wrong_backward_naming_the_worst_entry():
    x = leaf(np.arange(1.0, 7.0).reshape(2, 3))
    w = leaf(np.full(3, 2.0))
    with pytest.raises(GradcheckError) as info:
        gradcheck(ScaledWrongly.apply, (x, w))
    message = str(info.value)
    assert "input 0" in message  # w's gradient is right; x's is 1.5 times too large
    position = tuple(int(p) for p in re.search(r"at \((\d+), (\d+)\)", message).groups())
    exact = float(re.search(r"backprop gives (\S+),", message).group(1))
    numeric = float(re.search(r"finite differences give (\S+) ", message).group(1))
    v = np.random.default_rng(0).standard_normal((2, 3))  # gradcheck's cotangent (seed 0)
    expected = 2.0 * v  # ∂⟨v, x ⊙ w⟩/∂x
    worst = np.unravel_index(np.argmax(np.abs(expected)), expected.shape)
    assert position == tuple(int(p) for p in worst)
    np.testing.assert_allclose(numeric, expected[position], rtol=1e-6)
    np.testing.assert_allclose(exact, 1.5 * expected[position], rtol=1e-9)


def test_fails_on_a_single_wrong_entry_and_names_it():
    x = leaf(np.linspace(1.0, 2.0, 6).reshape(3, 2))
    with pytest.raises(GradcheckError, match=r"input 0 at \(2, 0\)"):
        gradcheck(CubeWrongAtOneEntry.apply, x)


class ForgetsToUnbroadcast(nr.Function):
    """y = x + w with w broadcast, whose backward hands w the unreduced cotangent."""

    def forward(self, x, w):
        return x + w

    def backward(self, g):
        return g, g


def test_reports_a_gradient_of_the_wrong_shape():
    x, w = leaf(np.ones((2, 3))), leaf(np.ones(3))
    with pytest.raises(
        GradcheckError, match=r"input 1 has shape \(3,\) but backprop gives a gradient of shape \(2, 3\)$"
    ):
        gradcheck(ForgetsToUnbroadcast.apply, (x, w))


def test_names_the_input_index_among_several():
    x, w = leaf(np.ones(2)), leaf(np.ones(2))
    with pytest.raises(GradcheckError, match="input 1 at"):
        gradcheck(lambda a, b: ScaledWrongly.apply(b, a), (x, w))


def test_directional_mode_for_large_inputs_catches_the_wrong_backward(rng):
    x = leaf(rng.standard_normal(FULL_JACOBIAN_LIMIT + 1))
    w = leaf(rng.standard_normal(FULL_JACOBIAN_LIMIT + 1))
    with pytest.raises(GradcheckError, match=r"along random direction 0: backprop gives \S+, finite differences"):
        gradcheck(ScaledWrongly.apply, (x, w))
    assert gradcheck(lambda a, b: a * b, (x, w))


def test_directional_mode_restores_the_inputs(rng):
    data = rng.standard_normal((30, 20))
    x = leaf(data)
    assert gradcheck(lambda t: (t * t).sum(), x)
    np.testing.assert_array_equal(x.data, data)


def test_entry_mode_restores_the_inputs(rng):
    data = rng.standard_normal((3, 3))
    x = leaf(data)
    gradcheck(lambda t: t.exp(), x)
    np.testing.assert_array_equal(x.data, data)


def test_float32_inputs_are_refused():
    x = nr.tensor(np.ones(3, np.float32), requires_grad=True)
    with pytest.raises(DTypeError, match="input 0 has dtype float32"):
        gradcheck(lambda t: t * 2.0, x)


def test_raise_exception_false_returns_false():
    x, w = leaf(np.ones(3)), leaf(np.ones(3))
    assert gradcheck(ScaledWrongly.apply, (x, w), raise_exception=False) is False
    assert gradcheck(lambda a, b: a * b, (x, w), raise_exception=False) is True
    big = leaf(np.ones(FULL_JACOBIAN_LIMIT + 1))
    assert gradcheck(lambda a: ScaledWrongly.apply(a, big), big, raise_exception=False) is False
