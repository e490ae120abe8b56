"""Grad modes and anomaly mode as switches: nesting, decorators, restoring the state on errors.

What they do to the graph (nothing recorded under no_grad, the op named by an anomaly) is tested in test_engine.py.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import neurones as nr
from neurones.errors import AnomalyError
from tests.helpers import leaf


def test_nested_no_grad_and_enable_grad_restore_each_level():
    x = leaf([1.0])
    with nr.no_grad():
        with nr.no_grad():
            assert not nr.is_grad_enabled()
        assert not nr.is_grad_enabled()
        with nr.enable_grad():
            with nr.no_grad():
                assert not (x * 2.0).requires_grad
            assert (x * 2.0).requires_grad
        assert not nr.is_grad_enabled()
    assert nr.is_grad_enabled()


@pytest.mark.parametrize("mode", [True, False, 0, 1])
def test_set_grad_enabled_sets_and_restores(mode):
    x = leaf([1.0])
    for outer in (nr.no_grad, nr.enable_grad):
        with outer():
            before = nr.is_grad_enabled()
            with nr.set_grad_enabled(mode):
                assert nr.is_grad_enabled() is bool(mode)
                assert (x * 2.0).requires_grad is bool(mode)
            assert nr.is_grad_enabled() is before


def test_decorators_switch_the_mode_inside_the_function_only():
    @nr.no_grad()
    def without(x):
        assert not nr.is_grad_enabled()
        return x * 2.0

    @nr.enable_grad()
    def with_grad(x):
        assert nr.is_grad_enabled()
        return x * 2.0

    @nr.set_grad_enabled(False)
    def switched_off(x):
        return x * 2.0

    x = leaf([1.0])
    assert not without(x).requires_grad and not switched_off(x).requires_grad
    assert nr.is_grad_enabled()
    with nr.no_grad():
        assert with_grad(x).requires_grad
        assert not nr.is_grad_enabled()


def test_a_decorated_function_may_recurse():
    @nr.no_grad()
    def depth(n):
        assert not nr.is_grad_enabled()
        return 0 if n == 0 else 1 + depth(n - 1)

    assert depth(5) == 5
    assert nr.is_grad_enabled()


@pytest.mark.parametrize("switch", [nr.no_grad, nr.enable_grad, lambda: nr.set_grad_enabled(False)])
def test_state_is_restored_after_an_exception_inside_the_block(switch):
    for outer in (nr.no_grad, nr.enable_grad):
        with outer():
            before = nr.is_grad_enabled()
            with pytest.raises(KeyError), switch():
                raise KeyError("boom")
            assert nr.is_grad_enabled() is before


def test_state_is_restored_after_an_exception_inside_a_decorated_function():
    @nr.no_grad()
    def fails():
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        fails()
    assert nr.is_grad_enabled()


def test_detect_anomaly_nested_and_restored():
    assert not nr.is_anomaly_enabled()
    with nr.detect_anomaly():
        assert nr.is_anomaly_enabled()
        with nr.detect_anomaly():
            assert nr.is_anomaly_enabled()
        assert nr.is_anomaly_enabled()
    assert not nr.is_anomaly_enabled()


def test_detect_anomaly_is_restored_after_its_own_error():
    x = leaf([-1.0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with pytest.raises(AnomalyError, match="NaN"), nr.detect_anomaly():
            x.log()
    assert not nr.is_anomaly_enabled()


def test_detect_anomaly_as_a_decorator():
    @nr.detect_anomaly()
    def overflow(x):
        assert nr.is_anomaly_enabled()
        return x.exp()

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with pytest.raises(AnomalyError, match=r"Exp produced Inf"):
            overflow(leaf([1000.0]))
    assert not nr.is_anomaly_enabled()
    with nr.detect_anomaly():
        np.testing.assert_allclose(overflow(leaf([0.0])).data, [1.0])


def test_anomaly_errors_are_floating_point_errors():
    with nr.detect_anomaly(), pytest.raises(FloatingPointError), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        leaf([0.0]) / 0.0


def test_anomaly_checks_forward_even_under_no_grad():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with nr.detect_anomaly(), nr.no_grad(), pytest.raises(AnomalyError, match="Log"):
            nr.tensor([0.0]).log()


def test_anomaly_in_backward_of_a_graph_built_outside_the_mode():
    x = leaf([0.0])
    y = x.sqrt()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with nr.detect_anomaly(), pytest.raises(AnomalyError, match=r"Sqrt\.backward produced Inf.*input 0"):
            y.backward(np.ones(1))
    assert not nr.is_anomaly_enabled()


def test_finite_graphs_run_unchanged_under_anomaly_mode(rng):
    data = rng.standard_normal(4)
    x = leaf(data)
    with nr.detect_anomaly():
        (x.exp() * x).sum().backward()
    np.testing.assert_allclose(x.grad.data, np.exp(data) * (1 + data), rtol=1e-14)


def test_set_grad_enabled_as_a_statement_switches_at_once():
    try:
        nr.set_grad_enabled(False)
        assert not nr.is_grad_enabled()
        x = nr.tensor([1.0], requires_grad=True)
        assert (x * 2.0).grad_fn is None
    finally:
        nr.set_grad_enabled(True)
    assert nr.is_grad_enabled()


def test_set_grad_enabled_as_decorator_does_not_leak_at_definition():
    @nr.set_grad_enabled(False)
    def inside():
        return nr.is_grad_enabled()

    assert nr.is_grad_enabled()
    assert inside() is False
    assert nr.is_grad_enabled()
