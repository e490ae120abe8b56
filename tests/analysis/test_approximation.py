"""Approximation constructions on exact answers: interpolants, the multiplication gate and tree, best polynomials."""

from __future__ import annotations

import math

import numpy as np
import pytest

import neurones as nr
from neurones.analysis.approximation import (
    best_uniform_fit,
    best_uniform_polynomial_error,
    multiplication_gate,
    piecewise_affine,
    product_tree,
    relu_interpolant,
)


def _evaluate(net, x):
    return net(nr.tensor(np.asarray(x, dtype=np.float64).reshape(len(x), -1))).data[:, 0]


def test_a_triangle_function_is_exact_with_the_notes_units():
    net = relu_interpolant([-1.0, 0.0, 1.0], [0.0, 1.0, 0.0])  # 1 − |x| on [−1, 1]
    x = np.linspace(-1, 1, 1001)
    np.testing.assert_allclose(_evaluate(net, x), 1 - np.abs(x), atol=1e-15)
    assert net[0].out_features == 3  # p + 1 units for p = 2 pieces
    assert net[2].bias is None  # the constant comes from (x + M)₊ + (−x + M)₊, not from a bias


def test_an_affine_function_and_a_constant_need_no_interior_knot():
    affine = relu_interpolant([-2.0, 2.0], [-3.0, 5.0])  # 2x + 1
    x = np.linspace(-2, 2, 101)
    np.testing.assert_allclose(_evaluate(affine, x), 2 * x + 1, atol=1e-14)
    constant = relu_interpolant([-2.0, 2.0], [0.7, 0.7])
    np.testing.assert_allclose(_evaluate(constant, x), 0.7, atol=1e-15)
    outside = _evaluate(constant, [3.0])  # beyond M the two units no longer add up to 2M
    assert outside[0] == pytest.approx(0.7 + 0.7 / 4 * (3 - 2))  # c·(x + M) with c = f(−M)/(2M)


def test_random_piecewise_functions_are_reproduced():
    rng = np.random.default_rng(0)
    knots = np.concatenate([[-1.5], np.sort(rng.uniform(-1.5, 1.5, 9)), [1.5]])
    values = rng.standard_normal(knots.size)
    x = np.concatenate([np.linspace(-1.5, 1.5, 5001), knots])
    np.testing.assert_allclose(_evaluate(relu_interpolant(knots, values), x), piecewise_affine(knots, values)(x),
                               atol=1e-12)


@pytest.mark.parametrize(("knots", "values", "message"), [
    ([-1.0, 1.0, 0.0], [0, 0, 0], "strictly increasing"),
    ([-1.0, 0.0, 0.0, 1.0], [0, 0, 0, 0], "strictly increasing"),
    ([-1.0, 1.0], [0, 0, 0], "same length"),
    ([-1.0, 2.0], [0, 0], "symmetric interval"),
    ([1.0], [0.0], "at least two"),
])
def test_bad_knots_are_named(knots, values, message):
    with pytest.raises(ValueError, match=message):
        relu_interpolant(knots, values)


def test_the_gate_multiplies_with_an_error_quadratic_in_lambda():
    rng = np.random.default_rng(1)
    xy = rng.uniform(-1, 1, (500, 2))
    for activation in ("softplus", "gelu"):
        errors = [np.max(np.abs(_evaluate(multiplication_gate(activation, lam), xy) - xy.prod(axis=1)))
                  for lam in (0.2, 0.1, 0.05)]
        assert errors[0] / errors[1] == pytest.approx(4, rel=0.05)
        assert errors[1] / errors[2] == pytest.approx(4, rel=0.05)
    # softplus: σ(u) + σ(−u) − 2 log 2 = 2 log cosh(u/2) = u²/4 − u⁴/96 + …, so the error is
    # −λ²[(x+y)⁴ − (x−y)⁴]/96 = −λ²xy(x² + y²)/12
    x, y = 0.5, -0.8
    exact_error = -(0.05**2) * x * y * (x * x + y * y) / 12
    assert _evaluate(multiplication_gate("softplus", 0.05), [[x, y]])[0] - x * y == pytest.approx(exact_error, rel=0.01)
    with pytest.raises(ValueError, match="σ″"):
        multiplication_gate("tanh", 0.1)  # tanh″(0) = 0: no gate
    with pytest.raises(ValueError, match="λ must be"):
        multiplication_gate("softplus", 0.0)


def test_the_product_tree_counts_its_neurons_and_multiplies():
    rng = np.random.default_rng(2)
    for n in range(2, 7):
        tree = product_tree(n, "softplus", 0.02)
        x = rng.uniform(-1, 1, (300, n))
        assert np.max(np.abs(_evaluate(tree, x) - x.prod(axis=1))) < 1e-3
        odd_levels = sum(1 for level in range(8) if math.ceil(n / 2**level) % 2 == 1 and math.ceil(n / 2**level) > 1)
        assert tree.neurons == 4 * (n - 1) + 2 * odd_levels <= 4 * n
    with pytest.raises(ValueError, match="n must be"):
        product_tree(1)


def test_best_uniform_polynomials_match_chebyshev():
    assert best_uniform_polynomial_error(np.abs, 1) == pytest.approx(0.5, abs=1e-9)  # |x| by a line
    assert best_uniform_polynomial_error(lambda x: x**3, 2) == pytest.approx(0.25, abs=1e-9)  # x³ − ¾x = T₃/4
    assert best_uniform_polynomial_error(lambda x: x**2, 2) == pytest.approx(0.0, abs=1e-9)
    error, coefficients = best_uniform_fit(np.column_stack([np.ones(5), np.arange(5.0)]), np.arange(5.0) * 3 + 1)
    assert error == pytest.approx(0, abs=1e-9) and coefficients == pytest.approx([1, 3])
    with pytest.raises(ValueError, match="degree"):
        best_uniform_polynomial_error(np.abs, -1)
