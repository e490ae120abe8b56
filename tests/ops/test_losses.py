"""Losses: values and gradients against torch.nn.functional and NumPy formulas, gradient checks, stability."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import special

import neurones as nr
from neurones import functional as F
from neurones.errors import DTypeError, ShapeError
from neurones.ops.losses import CrossEntropy
from tests.helpers import leaf, reference_library

REDUCTIONS = ("mean", "sum", "none")


def _torch():
    return reference_library("torch")


def _backward(out, rng):
    """Backpropagate a random cotangent of the loss's shape; return it for the reference."""
    v = rng.standard_normal(out.shape)
    out.backward(v)
    return v


def _assert_close(mine, theirs):
    np.testing.assert_allclose(mine, theirs.detach().numpy(), rtol=1e-10, atol=1e-12)


# --------------------------------------------------------------------------------------------------- mse_loss
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_mse_loss_matches_formula(reduction, rng):
    x, t = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    squared = (x - t) ** 2
    expected = {"mean": squared.mean(), "sum": squared.sum(), "none": squared}[reduction]
    np.testing.assert_allclose(F.mse_loss(nr.tensor(x), nr.tensor(t), reduction).data, expected, rtol=1e-12)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@given(shape=st.lists(st.integers(1, 4), min_size=0, max_size=3).map(tuple), seed=st.integers(0, 2**16))
def test_mse_loss_gradcheck_input_and_target(reduction, shape, seed):
    rng = np.random.default_rng(seed)
    x, t = leaf(rng.standard_normal(shape)), leaf(rng.standard_normal(shape))
    assert nr.gradcheck(lambda x, t: F.mse_loss(x, t, reduction), (x, t))


def test_mse_loss_broadcasts_target_with_a_warning_like_torch(rng):
    torch = _torch()
    x, t = rng.standard_normal((3, 4)), rng.standard_normal(4)
    xs = leaf(x)
    with pytest.warns(UserWarning, match=r"mse_loss: target shape \(4,\) differs from input shape \(3, 4\)"):
        out = F.mse_loss(xs, t)
    out.backward()
    tx = torch.tensor(x, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t_out = torch.nn.functional.mse_loss(tx, torch.tensor(t))
    t_out.backward()
    _assert_close(out.data, t_out)
    _assert_close(xs.grad.data, tx.grad)


def test_mse_loss_accepts_array_targets_and_keeps_float32():
    x = nr.ones(2, 3, requires_grad=True)
    out = F.mse_loss(x, np.zeros((2, 3)))
    out.backward()
    assert out.dtype == np.float32 and x.grad.dtype == np.float32
    np.testing.assert_allclose(x.grad.data, np.full((2, 3), 2 / 6), rtol=1e-6)


# ------------------------------------------------------------------------------------- cross_entropy (indices)
# (logits shape, target shape): batched, unbatched, and spatial (N, C, d1, d2)
INDEX_LAYOUTS = [((5, 4), (5,)), ((4,), ()), ((3, 4, 2, 2), (3, 2, 2))]


def _class_case(rng, layout, ignore):
    logits_shape, target_shape = layout
    n_classes = logits_shape[0] if len(logits_shape) == 1 else logits_shape[1]
    logits = rng.standard_normal(logits_shape) * 2
    target = rng.integers(0, n_classes, target_shape)
    if ignore and target.size > 1:
        target.reshape(-1)[::3] = -100
    return logits, target, rng.uniform(0.2, 2.0, n_classes)


@pytest.mark.parametrize(
    ("layout", "use_weight", "ignore", "smoothing", "reduction"),
    list(itertools.product(INDEX_LAYOUTS, [False, True], [False, True], [0.0, 0.25], REDUCTIONS)),
)
def test_cross_entropy_with_class_indices_matches_torch(layout, use_weight, ignore, smoothing, reduction):
    torch = _torch()
    rng = np.random.default_rng(7)
    logits, target, weight = _class_case(rng, layout, ignore)
    weight = weight if use_weight else None
    x = leaf(logits)
    out = F.cross_entropy(x, target, weight=weight, reduction=reduction, label_smoothing=smoothing)
    v = _backward(out, rng)
    tx = torch.tensor(logits, requires_grad=True)
    t_out = torch.nn.functional.cross_entropy(
        tx,
        torch.tensor(target),
        weight=None if weight is None else torch.tensor(weight),
        reduction=reduction,
        label_smoothing=smoothing,
    )
    t_out.backward(torch.tensor(v))
    assert out.shape == tuple(t_out.shape)
    _assert_close(out.data, t_out)
    _assert_close(x.grad.data, tx.grad)


@given(
    layout=st.sampled_from(INDEX_LAYOUTS),
    use_weight=st.booleans(),
    ignore=st.booleans(),
    smoothing=st.sampled_from([0.0, 0.1, 0.6]),
    reduction=st.sampled_from(REDUCTIONS),
    seed=st.integers(0, 2**16),
)
def test_cross_entropy_with_class_indices_gradcheck(layout, use_weight, ignore, smoothing, reduction, seed):
    logits, target, weight = _class_case(np.random.default_rng(seed), layout, ignore)
    loss = lambda x: F.cross_entropy(
        x, target, weight=weight if use_weight else None, reduction=reduction, label_smoothing=smoothing
    )
    assert nr.gradcheck(loss, leaf(logits))


def test_cross_entropy_gradient_is_softmax_minus_one_hot(rng):
    logits, target = rng.standard_normal((6, 5)), rng.integers(0, 5, 6)
    x = leaf(logits)
    F.cross_entropy(x, target).backward()
    expected = special.softmax(logits, axis=1) - np.eye(5)[target]
    np.testing.assert_allclose(x.grad.data, expected / 6, rtol=1e-12)


def test_label_smoothing_is_a_mixture_with_the_uniform_distribution(rng):
    logits, target, eps = rng.standard_normal((4, 3)), rng.integers(0, 3, 4), 0.3
    log_p = special.log_softmax(logits, axis=1)
    smoothed = (1 - eps) * np.eye(3)[target] + eps / 3
    expected = -(smoothed * log_p).sum(axis=1).mean()
    np.testing.assert_allclose(F.cross_entropy(nr.tensor(logits), target, label_smoothing=eps).item(), expected)


def test_cross_entropy_is_one_node_and_targets_get_no_gradient(rng):
    x = leaf(rng.standard_normal((3, 4)))
    target = nr.tensor(np.array([0, 3, 1]))
    out = F.cross_entropy(x, target)
    assert type(out.grad_fn) is CrossEntropy and out.grad_fn.parents == (x._edge,)
    out.backward()
    assert target.grad is None


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cross_entropy_is_stable_for_huge_logits(dtype):
    logits = np.array([[1e4, -1e4, 0.0], [1e4, -1e4, 0.0], [-1e4, -1e4, -1e4]], dtype=dtype)
    target = np.array([0, 1, 2])
    x = nr.tensor(logits, requires_grad=True)
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
        warnings.simplefilter("error")
        out = F.cross_entropy(x, target, reduction="none")
        out.backward(np.ones(3, dtype))
    assert out.dtype == dtype and x.grad.dtype == dtype
    np.testing.assert_allclose(out.data, [0.0, 2e4, np.log(3)], rtol=1e-6)
    expected = np.array([[0, 0, 0], [1, -1, 0], [1 / 3, 1 / 3, -2 / 3]])
    np.testing.assert_allclose(x.grad.data, expected, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_every_target_ignored_gives_nan_loss_and_zero_gradient_like_torch(smoothing):
    for loss in (lambda x, t: F.cross_entropy(x, t, label_smoothing=smoothing), F.nll_loss):
        x = nr.zeros(2, 3, requires_grad=True)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            out = loss(x, np.array([-100, -100]))
            out.backward()
        assert np.isnan(out.item())
        np.testing.assert_array_equal(x.grad.data, np.zeros((2, 3)))


# ----------------------------------------------------------------------------------- cross_entropy (probabilities)
PROB_LAYOUTS = [(5, 4), (4,), (3, 4, 2)]


def _prob_case(rng, shape):
    class_axis = 0 if len(shape) == 1 else 1
    target = special.softmax(rng.standard_normal(shape) * 2, axis=class_axis)
    return rng.standard_normal(shape) * 2, target, rng.uniform(0.2, 2.0, shape[class_axis])


@pytest.mark.parametrize(
    ("shape", "use_weight", "smoothing", "reduction"),
    list(itertools.product(PROB_LAYOUTS, [False, True], [0.0, 0.2], REDUCTIONS)),
)
def test_cross_entropy_with_probabilities_matches_torch(shape, use_weight, smoothing, reduction):
    torch = _torch()
    rng = np.random.default_rng(11)
    logits, target, weight = _prob_case(rng, shape)
    weight = weight if use_weight else None
    x, t = leaf(logits), leaf(target)
    out = F.cross_entropy(x, t, weight=weight, reduction=reduction, label_smoothing=smoothing)
    v = _backward(out, rng)
    tx, tt = torch.tensor(logits, requires_grad=True), torch.tensor(target, requires_grad=True)
    t_out = torch.nn.functional.cross_entropy(
        tx, tt, weight=None if weight is None else torch.tensor(weight), reduction=reduction, label_smoothing=smoothing
    )
    t_out.backward(torch.tensor(v))
    _assert_close(out.data, t_out)
    _assert_close(x.grad.data, tx.grad)
    _assert_close(t.grad.data, tt.grad)


@given(
    shape=st.sampled_from(PROB_LAYOUTS),
    use_weight=st.booleans(),
    smoothing=st.sampled_from([0.0, 0.3]),
    reduction=st.sampled_from(REDUCTIONS),
    seed=st.integers(0, 2**16),
)
def test_cross_entropy_with_probabilities_gradcheck(shape, use_weight, smoothing, reduction, seed):
    logits, target, weight = _prob_case(np.random.default_rng(seed), shape)
    loss = lambda x, t: F.cross_entropy(
        x, t, weight=weight if use_weight else None, reduction=reduction, label_smoothing=smoothing
    )
    assert nr.gradcheck(loss, (leaf(logits), leaf(target)))


def test_one_hot_probabilities_equal_class_indices(rng):
    logits, target = rng.standard_normal((4, 3)), rng.integers(0, 3, 4)
    by_index = F.cross_entropy(nr.tensor(logits), target, label_smoothing=0.1)
    by_probs = F.cross_entropy(nr.tensor(logits), np.eye(3)[target], label_smoothing=0.1)
    np.testing.assert_allclose(by_index.item(), by_probs.item(), rtol=1e-12)


# ------------------------------------------------------------------------------------------------------- nll_loss
@pytest.mark.parametrize(
    ("layout", "use_weight", "ignore", "reduction"),
    list(itertools.product(INDEX_LAYOUTS, [False, True], [False, True], REDUCTIONS)),
)
def test_nll_loss_matches_torch(layout, use_weight, ignore, reduction):
    torch = _torch()
    rng = np.random.default_rng(3)
    logits, target, weight = _class_case(rng, layout, ignore)
    weight = weight if use_weight else None
    class_axis = 0 if len(layout[0]) == 1 else 1
    log_probs = special.log_softmax(logits, axis=class_axis)
    x = leaf(log_probs)
    out = F.nll_loss(x, target, weight=weight, reduction=reduction)
    v = _backward(out, rng)
    tx = torch.tensor(log_probs, requires_grad=True)
    t_out = torch.nn.functional.nll_loss(
        tx, torch.tensor(target), weight=None if weight is None else torch.tensor(weight), reduction=reduction
    )
    t_out.backward(torch.tensor(v))
    _assert_close(out.data, t_out)
    _assert_close(x.grad.data, tx.grad)


def test_log_softmax_then_nll_equals_cross_entropy(rng):
    logits, target = rng.standard_normal((5, 3)), rng.integers(0, 3, 5)
    a, b = leaf(logits), leaf(logits)
    F.nll_loss(F.log_softmax(a, 1), target).backward()
    F.cross_entropy(b, target).backward()
    np.testing.assert_allclose(a.grad.data, b.grad.data, rtol=1e-12)


@given(layout=st.sampled_from(INDEX_LAYOUTS), reduction=st.sampled_from(REDUCTIONS), seed=st.integers(0, 2**16))
def test_nll_loss_gradcheck(layout, reduction, seed):
    logits, target, weight = _class_case(np.random.default_rng(seed), layout, ignore=True)
    assert nr.gradcheck(lambda x: F.nll_loss(x, target, weight=weight, reduction=reduction), leaf(logits))


# ------------------------------------------------------------------------------------------ binary cross-entropy
@pytest.mark.parametrize(
    ("use_weight", "use_pos_weight", "reduction"), list(itertools.product([False, True], [False, True], REDUCTIONS))
)
def test_binary_cross_entropy_with_logits_matches_torch(use_weight, use_pos_weight, reduction):
    torch = _torch()
    rng = np.random.default_rng(5)
    logits, target = rng.standard_normal((4, 3)) * 3, rng.uniform(0, 1, (4, 3))
    weight = rng.uniform(0.5, 2.0, (4, 1)) if use_weight else None
    pos_weight = rng.uniform(0.5, 3.0, 3) if use_pos_weight else None
    x, t = leaf(logits), leaf(target)
    out = F.binary_cross_entropy_with_logits(x, t, weight=weight, reduction=reduction, pos_weight=pos_weight)
    v = _backward(out, rng)
    tx, tt = torch.tensor(logits, requires_grad=True), torch.tensor(target, requires_grad=True)
    t_out = torch.nn.functional.binary_cross_entropy_with_logits(
        tx,
        tt,
        weight=None if weight is None else torch.tensor(weight),
        reduction=reduction,
        pos_weight=None if pos_weight is None else torch.tensor(pos_weight),
    )
    t_out.backward(torch.tensor(v))
    _assert_close(out.data, t_out)
    _assert_close(x.grad.data, tx.grad)
    _assert_close(t.grad.data, tt.grad)


@given(use_pos_weight=st.booleans(), reduction=st.sampled_from(REDUCTIONS), seed=st.integers(0, 2**16))
def test_binary_cross_entropy_with_logits_gradcheck(use_pos_weight, reduction, seed):
    rng = np.random.default_rng(seed)
    x, t = leaf(rng.standard_normal((3, 2)) * 3), leaf(rng.uniform(0, 1, (3, 2)))
    pos_weight = rng.uniform(0.5, 3.0, 2) if use_pos_weight else None
    loss = lambda x, t: F.binary_cross_entropy_with_logits(x, t, reduction=reduction, pos_weight=pos_weight)
    assert nr.gradcheck(loss, (x, t))


def test_binary_cross_entropy_with_logits_matches_formula(rng):
    x, t = rng.standard_normal(6) * 3, rng.uniform(0, 1, 6)
    s = special.expit(x)
    expected = -(t * np.log(s) + (1 - t) * np.log(1 - s))
    out = F.binary_cross_entropy_with_logits(nr.tensor(x), nr.tensor(t), reduction="none")
    np.testing.assert_allclose(out.data, expected, rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_binary_cross_entropy_with_logits_is_stable(dtype):
    x = nr.tensor(np.array([1e4, -1e4, 1e4, -1e4], dtype=dtype), requires_grad=True)
    t = np.array([1.0, 0.0, 0.0, 1.0], dtype=dtype)
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
        warnings.simplefilter("error")
        out = F.binary_cross_entropy_with_logits(x, t, reduction="none", pos_weight=np.array([2.0]))
        out.backward(np.ones(4, dtype))
    assert out.dtype == dtype
    np.testing.assert_allclose(out.data, [0.0, 0.0, 1e4, 2e4], rtol=1e-6)
    np.testing.assert_allclose(x.grad.data, [0.0, 0.0, 1.0, -2.0], rtol=1e-6)


@pytest.mark.parametrize(("use_weight", "reduction"), list(itertools.product([False, True], REDUCTIONS)))
def test_binary_cross_entropy_matches_torch(use_weight, reduction):
    torch = _torch()
    rng = np.random.default_rng(9)
    p = np.concatenate([rng.uniform(0.01, 0.99, 6), [0.0, 1.0]])
    target = np.concatenate([rng.uniform(0, 1, 6), [1.0, 0.0]])  # log 0 is clamped at -100 in both
    weight = rng.uniform(0.5, 2.0, 8) if use_weight else None
    x, t = leaf(p), leaf(target)
    out = F.binary_cross_entropy(x, t, weight=weight, reduction=reduction)
    v = _backward(out, rng)
    tx, tt = torch.tensor(p, requires_grad=True), torch.tensor(target, requires_grad=True)
    t_out = torch.nn.functional.binary_cross_entropy(
        tx, tt, weight=None if weight is None else torch.tensor(weight), reduction=reduction
    )
    t_out.backward(torch.tensor(v))
    _assert_close(out.data, t_out)
    # At p ∈ {0, 1} the gradient divides by the floor 1e-12, which PyTorch holds in float32 (9.99999996e-13).
    np.testing.assert_allclose(x.grad.data, tx.grad.numpy(), rtol=1e-8)
    # The target's gradient is that of the clamped loss, log(1 − p) − log p with both logs ≥ −100: finite at
    # p ∈ {0, 1}, where PyTorch (which does not clamp it) returns ±inf.
    _assert_close(t.grad.data[:6], tt.grad[:6])
    scale = (1 / 8 if reduction == "mean" else 1.0) * (1.0 if weight is None else weight[6:])
    cotangent = v if reduction != "none" else v[6:]
    np.testing.assert_allclose(t.grad.data[6:], np.array([100.0, -100.0]) * scale * cotangent, rtol=1e-12)


def test_binary_cross_entropy_gradcheck(rng):
    x, t = leaf(rng.uniform(0.05, 0.95, (3, 2))), leaf(rng.uniform(0, 1, (3, 2)))
    assert nr.gradcheck(F.binary_cross_entropy, (x, t))


# ---------------------------------------------------------------------------------------------------- errors
def test_shape_errors_name_the_op_and_shapes():
    with pytest.raises(ShapeError, match=r"cross_entropy: target of shape \(4,\) does not fit input of shape \(3, 5\)"):
        F.cross_entropy(nr.zeros(3, 5), np.zeros(4, dtype=np.int64))
    with pytest.raises(ShapeError, match=r"cross_entropy: probability target of shape \(3, 4\)"):
        F.cross_entropy(nr.zeros(3, 5), np.zeros((3, 4)))
    with pytest.raises(ShapeError, match=r"cross_entropy: weight of shape \(4,\) does not fit 5 classes"):
        F.cross_entropy(nr.zeros(3, 5), np.zeros(3, dtype=np.int64), weight=np.ones(4))
    with pytest.raises(ShapeError, match=r"nll_loss: target of shape \(3, 1\)"):
        F.nll_loss(nr.zeros(3, 5), np.zeros((3, 1), dtype=np.int64))
    with pytest.raises(ShapeError, match=r"binary_cross_entropy_with_logits: target of shape \(3,\)"):
        F.binary_cross_entropy_with_logits(nr.zeros(3, 1), np.zeros(3))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the broadcasting warning comes before the error
        with pytest.raises(ShapeError, match=r"mse_loss: input of shape \(3,\) and target of shape \(4,\)"):
            F.mse_loss(nr.zeros(3), np.zeros(4))


def test_target_and_argument_errors():
    with pytest.raises(ShapeError, match=r"cross_entropy: input must have a class axis, got shape \(\)"):
        F.cross_entropy(nr.tensor(1.0), np.array(0))
    with pytest.raises(IndexError, match="cross_entropy: target class 5 is out of range for 5 classes"):
        F.cross_entropy(nr.zeros(2, 5), np.array([0, 5]))
    with pytest.raises(IndexError, match="nll_loss: target class -1"):
        F.nll_loss(nr.zeros(2, 5), np.array([-1, 0]))
    with pytest.raises(DTypeError, match="nll_loss: class-index targets must be integers"):
        F.nll_loss(nr.zeros(2, 5), np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match="mse_loss: reduction must be 'mean', 'sum' or 'none', got 'avg'"):
        F.mse_loss(nr.zeros(2), nr.zeros(2), reduction="avg")
    with pytest.raises(ValueError, match="label_smoothing"):
        F.cross_entropy(nr.zeros(2, 5), np.array([0, 1]), label_smoothing=1.5)
    with pytest.raises(ValueError, match="binary_cross_entropy: every element of the input must lie in"):
        F.binary_cross_entropy(nr.tensor([1.5]), nr.tensor([1.0]))


def test_losses_keep_float32(rng):
    x = nr.tensor(rng.standard_normal((4, 3)).astype(np.float32), requires_grad=True)
    for out in (
        F.cross_entropy(x, np.array([0, 1, 2, 0]), label_smoothing=0.1, weight=np.ones(3)),
        F.cross_entropy(x, np.full((4, 3), 1 / 3, np.float32)),
        F.nll_loss(x, np.array([0, 1, 2, 0])),
        F.binary_cross_entropy_with_logits(x, np.ones((4, 3))),
    ):
        x.grad = None
        out.backward()
        assert out.dtype == np.float32 and x.grad.dtype == np.float32
