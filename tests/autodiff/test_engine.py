"""The backward engine: accumulation, topological order, freed graphs, grad modes, anomalies, in-place checks."""

from __future__ import annotations

import numpy as np
import pytest

import neurones as nr
from neurones.errors import AnomalyError, GradientError, GraphFreedError, InplaceError, ShapeError
from tests.helpers import leaf


def test_scalar_backward_needs_no_gradient():
    x = leaf([1.0, 2.0, 3.0])
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.data, [2.0, 4.0, 6.0])


def test_non_scalar_backward_without_gradient_is_refused():
    x = leaf([1.0, 2.0])
    with pytest.raises(GradientError, match="scalar"):
        (x * 2.0).backward()


def test_gradient_shape_must_match_output():
    x = leaf([1.0, 2.0])
    with pytest.raises(ShapeError, match=r"\(3,\)"):
        (x * 2.0).backward(np.ones(3))


def test_vector_jacobian_product():
    x = leaf([1.0, 2.0])
    (x * x).backward(np.array([1.0, 10.0]))
    np.testing.assert_allclose(x.grad.data, [2.0, 40.0])


def test_leaf_gradients_accumulate_across_calls():
    x = leaf([3.0])
    for _ in range(3):
        (x * 2.0).backward(np.ones(1))
    np.testing.assert_allclose(x.grad.data, [6.0])
    x.grad = None
    (x * 2.0).backward(np.ones(1))
    np.testing.assert_allclose(x.grad.data, [2.0])


def test_same_tensor_twice_in_one_op():
    x = leaf([3.0, -1.0])
    (x * x).backward(np.ones(2))
    np.testing.assert_allclose(x.grad.data, [6.0, -2.0])
    y = leaf([2.0])
    (y + y).backward(np.ones(1))
    np.testing.assert_allclose(y.grad.data, [2.0])


def test_fan_out_sums_all_paths():
    x = leaf([2.0])
    a = x * 3.0
    b = x * x
    c = a * b + a  # d/dx (3x·x² + 3x) = 9x² + 3
    c.backward(np.ones(1))
    np.testing.assert_allclose(x.grad.data, [9 * 4 + 3])


def test_gradients_of_shared_cotangent_are_not_aliased():
    a, b = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    (a + b).backward(np.ones(2))
    a.grad.data *= 10  # in-place edits of one gradient (as clip_grad_norm_ does) must not leak into another
    np.testing.assert_allclose(b.grad.data, [1.0, 1.0])


def test_chain_of_ten_thousand_ops_backpropagates():
    x = leaf([1.0])
    y = x
    for _ in range(10_000):
        y = y * 1.0001
    y.backward(np.ones(1))
    np.testing.assert_allclose(x.grad.data, [1.0001**10_000], rtol=1e-9)


def test_second_backward_through_freed_graph_says_retain_graph():
    x = leaf([1.0])
    y = x.exp() * 2.0
    y.backward(np.ones(1))
    with pytest.raises(GraphFreedError, match="retain_graph=True"):
        y.backward(np.ones(1))


def test_retain_graph_allows_a_second_backward():
    x = leaf([0.5])
    y = x.exp() * x
    y.backward(np.ones(1), retain_graph=True)
    first = x.grad.data.copy()
    y.backward(np.ones(1))
    np.testing.assert_allclose(x.grad.data, 2 * first)


def test_saved_arrays_are_released_after_backward():
    x = leaf(np.ones(3))
    y = x.exp()
    node = y.grad_fn
    assert len(node.saved) == 1 and not node.is_freed()
    y.backward(np.ones(3))
    assert node.is_freed() and node.saved == () and vars(node) == {"_freed": True}


def test_freed_and_unrecorded_nodes_are_told_apart():
    x = leaf(np.ones(3))
    with nr.no_grad():
        unrecorded = nr.ops.arithmetic.Exp()
    y = x.exp()
    recorded = y.grad_fn
    y.sum().backward()
    assert unrecorded.parents is None and not unrecorded.is_freed()
    assert recorded.is_freed()


def test_no_grad_records_nothing():
    x = leaf([1.0])
    with nr.no_grad():
        y = x * 2.0
        assert not nr.is_grad_enabled()
        with nr.enable_grad():
            z = x * 2.0
            assert nr.is_grad_enabled()
    assert nr.is_grad_enabled()
    assert y.grad_fn is None and not y.requires_grad
    assert z.grad_fn is not None


def test_no_grad_as_decorator():
    @nr.no_grad()
    def f(x):
        return x * 2.0

    assert not f(leaf([1.0])).requires_grad


def test_no_node_when_no_input_requires_grad():
    x = leaf([1.0], requires_grad=False)
    assert (x * x).grad_fn is None


def test_retain_grad_on_non_leaf():
    x = leaf([1.0, 2.0])
    h = x * 3.0
    h.retain_grad()
    (h * h).backward(np.ones(2))
    np.testing.assert_allclose(h.grad.data, 2 * h.data)
    np.testing.assert_allclose(x.grad.data, 18 * x.data)


def test_integer_tensors_cannot_require_grad():
    with pytest.raises(nr.errors.DTypeError if hasattr(nr, "errors") else Exception):
        nr.tensor([1, 2], requires_grad=True)


def test_requires_grad_only_on_leaves():
    x = leaf([1.0])
    with pytest.raises(GradientError, match="leaf"):
        (x * 2.0).requires_grad_(False)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the NaN/Inf is the point
def test_anomaly_in_forward_names_the_op_and_the_line():
    x = leaf([0.0, 1.0])
    with nr.detect_anomaly(), pytest.raises(AnomalyError, match=r"Log.*test_engine.py"):
        x.log()


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the NaN/Inf is the point
def test_anomaly_in_backward_names_the_op():
    x = leaf([0.0])
    y = x.sqrt()  # forward is finite (0) but the derivative 1/(2√x) is infinite at 0
    with nr.detect_anomaly(), pytest.raises(AnomalyError, match=r"Sqrt\.backward"):
        y.backward(np.ones(1))


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the NaN/Inf is the point
def test_no_anomaly_check_outside_the_context():
    x = leaf([0.0])
    x.log()  # -inf, silently, as in NumPy


def test_inplace_on_tensor_requiring_grad_is_refused_while_recording():
    x = leaf([1.0])
    with pytest.raises(InplaceError, match="no_grad"):
        x.add_(1.0)
    with nr.no_grad():
        x.add_(1.0)
    np.testing.assert_allclose(x.data, [2.0])


def test_inplace_change_of_saved_input_is_detected_at_backward():
    w = leaf([2.0])
    x = leaf([3.0], requires_grad=False)
    y = w * x
    x.mul_(10.0)
    with pytest.raises(InplaceError, match=r"Mul: saved array 1"):
        y.backward(np.ones(1))


def test_inplace_change_of_saved_output_is_detected_at_backward():
    x = leaf([1.0])
    y = x.exp()
    with nr.no_grad():
        y.mul_(2.0)
    with pytest.raises(InplaceError, match="Exp: saved array 0"):
        y.backward(np.ones(1))


def test_inplace_change_of_unsaved_input_is_harmless():
    w = leaf([2.0])
    x = leaf([3.0], requires_grad=False)
    y = w + x  # Add saves nothing
    x.mul_(10.0)
    y.backward(np.ones(1))
    np.testing.assert_allclose(w.grad.data, [1.0])


def test_setitem_bumps_the_version():
    w = leaf([2.0, 1.0])
    x = leaf([3.0, 4.0], requires_grad=False)
    y = w * x
    x[0] = 5.0
    with pytest.raises(InplaceError):
        y.backward(np.ones(2))


def test_mixed_float_dtypes_promote_and_gradients_keep_each_dtype():
    a = nr.tensor(np.ones(2, np.float32), requires_grad=True)
    b = nr.tensor(np.ones(2, np.float64), requires_grad=True)
    y = a * b
    assert y.dtype == np.float64
    y.backward(np.ones(2))
    assert a.grad.dtype == np.float32 and b.grad.dtype == np.float64


def test_python_scalars_keep_the_dtype():
    a = nr.tensor(np.ones(2, np.float32))
    assert (a * 2.5).dtype == np.float32
    assert (2.5 - a).dtype == np.float32
    assert (a / 3).dtype == np.float32
    assert nr.tensor([1.0, 2.0]).dtype == np.float32


def test_broadcast_mismatch_names_op_and_shapes():
    with pytest.raises(ShapeError, match=r"mul: shapes \(3, 4\) and \(5, 2\)"):
        nr.ones(3, 4) * nr.ones(5, 2)


def test_zero_dimensional_tensors_backpropagate():
    a = leaf(3.0)
    (a * a * a).backward()
    np.testing.assert_allclose(a.grad.data, 27.0)
    assert a.grad.data.shape == ()
