"""Elementwise arithmetic: values against NumPy, gradient checks with broadcasting, subgradients at the kinks,
dtype rules (NEP 50), shape errors and the reflected operators."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import neurones as nr
from neurones import functional as F
from neurones.errors import ShapeError
from tests.helpers import broadcastable_pair, leaf, reference_library, shapes


def _values(shape):
    """Float64 arrays of ``shape`` whose entries hypothesis picks, edge values (0, ±3, tiny numbers) included."""
    return hnp.arrays(np.float64, shape, elements=st.floats(-3, 3, allow_nan=False, allow_subnormal=False))


def _off_grid(x):
    """Move values onto k/2 + 1/4: none sits on 0 or on ±1/2 (kinks, clipping bounds), none ties with ``_on_grid``."""
    return np.round(x * 2) / 2 + 0.25


def _on_grid(x):
    return np.round(x * 2) / 2


def _positive(x):
    return np.abs(x) + 0.25


def _away_from_zero(x):
    return np.where(x < 0, x - 0.5, x + 0.5)


# name -> (the op on tensors, the NumPy reference, how to map raw values into the domain of each operand)
BINARY = {
    "add": (F.add, np.add, (None, None)),
    "sub": (F.sub, np.subtract, (None, None)),
    "mul": (F.mul, np.multiply, (None, None)),
    "div": (F.div, np.divide, (None, _away_from_zero)),
    "pow": (F.pow, np.power, (_positive, None)),
    "maximum": (F.maximum, np.maximum, (_off_grid, _on_grid)),
    "minimum": (F.minimum, np.minimum, (_off_grid, _on_grid)),
}

# name -> (the op, the NumPy reference, the domain map); the float64 references are exact formulas
UNARY = {
    "neg": (F.neg, np.negative, None),
    "exp": (F.exp, np.exp, None),
    "log": (F.log, np.log, _positive),
    "log1p": (F.log1p, np.log1p, lambda x: np.abs(x) - 0.75),
    "expm1": (F.expm1, np.expm1, None),
    "sqrt": (F.sqrt, np.sqrt, _positive),
    "abs": (F.abs, np.abs, _off_grid),
    "sign": (F.sign, np.sign, _off_grid),
    "square": (F.square, np.square, None),
}


def _domain(fix, x):
    return x if fix is None else fix(x)


@st.composite
def binary_case(draw):
    shape_a, shape_b = draw(broadcastable_pair())
    return draw(_values(shape_a)), draw(_values(shape_b))


# --------------------------------------------------------------------------------------------------- tensor ⊕ tensor
@pytest.mark.parametrize("name", BINARY)
@given(case=binary_case())
def test_binary_forward_matches_numpy(name, case):
    op, reference, (fix_a, fix_b) = BINARY[name]
    a, b = _domain(fix_a, case[0]), _domain(fix_b, case[1])
    out = op(nr.tensor(a), nr.tensor(b))
    assert out.shape == np.broadcast_shapes(a.shape, b.shape)
    assert out.dtype == np.float64
    np.testing.assert_allclose(out.data, reference(a, b), rtol=1e-14, atol=0)


@pytest.mark.parametrize("name", BINARY)
@given(case=binary_case())
def test_binary_gradcheck_with_broadcasting(name, case):
    op, _, (fix_a, fix_b) = BINARY[name]
    a, b = leaf(_domain(fix_a, case[0])), leaf(_domain(fix_b, case[1]))
    assert nr.gradcheck(op, (a, b))
    assert a.grad.shape == a.shape and b.grad.shape == b.shape


@pytest.mark.parametrize("name", BINARY)
def test_binary_gradient_of_one_operand_only(name, rng):
    op, _, (fix_a, fix_b) = BINARY[name]
    a = leaf(_domain(fix_a, rng.standard_normal((3, 1))))
    b = leaf(_domain(fix_b, rng.standard_normal(4)), requires_grad=False)
    assert nr.gradcheck(lambda x: op(x, b), a)
    assert b.grad is None
    a = leaf(_domain(fix_a, rng.standard_normal(4)), requires_grad=False)
    assert nr.gradcheck(lambda y: op(a, y), leaf(_domain(fix_b, rng.standard_normal((2, 4)))))
    assert a.grad is None


def test_binary_gradients_match_the_analytic_rules(rng):
    a, b = rng.random((2, 3)) + 0.5, rng.random(3) + 0.5
    g = rng.standard_normal((2, 3))
    expected = {
        "add": (g, g.sum(0)),
        "sub": (g, -g.sum(0)),
        "mul": (g * b, (g * a).sum(0)),
        "div": (g / b, (-g * a / b**2).sum(0)),
        "pow": (g * b * a ** (b - 1), (g * a**b * np.log(a)).sum(0)),
    }
    for name, (grad_a, grad_b) in expected.items():
        ta, tb = leaf(a), leaf(b)
        BINARY[name][0](ta, tb).backward(g)
        np.testing.assert_allclose(ta.grad.data, grad_a, rtol=1e-12, err_msg=name)
        np.testing.assert_allclose(tb.grad.data, grad_b, rtol=1e-12, err_msg=name)


def test_pow_exponent_gradient_is_zero_where_the_base_is_zero():
    a, b = leaf([0.0, 2.0]), leaf([2.0, 3.0])
    (a**b).backward(np.ones(2))
    np.testing.assert_allclose(b.grad.data, [0.0, 8.0 * np.log(2.0)])
    np.testing.assert_allclose(a.grad.data, [0.0, 12.0])


def test_integer_pow_error_is_not_reported_as_a_shape_error():
    with pytest.raises(ValueError, match="negative integer powers") as info:
        nr.tensor([2]) ** nr.tensor([-1])
    assert not isinstance(info.value, ShapeError)


# --------------------------------------------------------------------------------------------- tensor ⊕ scalar
# name -> (tensor ⊕ scalar, scalar ⊕ tensor, NumPy references of both, domain of the tensor on each side)
SCALAR = {
    "add": (lambda x: x + 1.5, lambda x: 1.5 + x, lambda x: x + 1.5, lambda x: 1.5 + x, None, None),
    "sub": (lambda x: x - 1.5, lambda x: 1.5 - x, lambda x: x - 1.5, lambda x: 1.5 - x, None, None),
    "mul": (lambda x: x * -2.5, lambda x: -2.5 * x, lambda x: x * -2.5, lambda x: -2.5 * x, None, None),
    "div": (lambda x: x / 4, lambda x: 2 / x, lambda x: x / 4, lambda x: 2 / x, None, _away_from_zero),
    "pow": (lambda x: x**2.5, lambda x: 2.0**x, lambda x: x**2.5, lambda x: 2.0**x, _positive, None),
    "pow_int": (lambda x: x**3, lambda x: 3**x, lambda x: x**3, lambda x: 3.0**x, None, None),
    "square": (lambda x: x**2, F.square, np.square, np.square, None, None),
    "maximum": (
        lambda x: F.maximum(x, 0.5),
        lambda x: F.maximum(-0.5, x),
        lambda x: np.maximum(x, 0.5),
        lambda x: np.maximum(-0.5, x),
        _off_grid,
        _off_grid,
    ),
    "minimum": (
        lambda x: F.minimum(x, 0.5),
        lambda x: F.minimum(-0.5, x),
        lambda x: np.minimum(x, 0.5),
        lambda x: np.minimum(-0.5, x),
        _off_grid,
        _off_grid,
    ),
}


@pytest.mark.parametrize("name", SCALAR)
@pytest.mark.parametrize("side", ["tensor_first", "scalar_first"])
@given(shape=shapes, data=st.data())
def test_scalar_operand_forward_and_gradcheck(name, side, shape, data):
    left, right, ref_left, ref_right, fix_left, fix_right = SCALAR[name]
    op, reference, fix = (left, ref_left, fix_left) if side == "tensor_first" else (right, ref_right, fix_right)
    x = _domain(fix, data.draw(_values(shape)))
    out = op(nr.tensor(x))
    assert out.shape == x.shape and out.dtype == np.float64
    np.testing.assert_allclose(out.data, reference(x), rtol=1e-14, atol=0)
    assert nr.gradcheck(op, leaf(x))


def test_reflected_operators():
    x = leaf([1.0, 2.0, 4.0])
    y = 2 - x
    np.testing.assert_array_equal(y.data, [1.0, 0.0, -2.0])
    y.backward(np.ones(3))
    np.testing.assert_array_equal(x.grad.data, [-1.0, -1.0, -1.0])

    x = leaf([1.0, 2.0, 4.0])
    y = 2 / x
    np.testing.assert_array_equal(y.data, [2.0, 1.0, 0.5])
    y.backward(np.ones(3))
    np.testing.assert_allclose(x.grad.data, [-2.0, -0.5, -0.125])

    x = leaf([0.0, 1.0, 3.0])
    y = 2**x
    np.testing.assert_array_equal(y.data, [1.0, 2.0, 8.0])
    y.backward(np.ones(3))
    np.testing.assert_allclose(x.grad.data, np.log(2) * np.array([1.0, 2.0, 8.0]), rtol=1e-14)


@pytest.mark.parametrize(
    ("expression", "reference"),
    [
        (lambda a, x: a + x, lambda a, x: a + x),
        (lambda a, x: a - x, lambda a, x: a - x),
        (lambda a, x: a * x, lambda a, x: a * x),
        (lambda a, x: a / x, lambda a, x: a / x),
        (lambda a, x: a**x, lambda a, x: a**x),
        (lambda a, x: x - a, lambda a, x: x - a),
        (lambda a, x: x / a, lambda a, x: x / a),
        (lambda a, x: x**a, lambda a, x: x**a),
    ],
)
def test_ndarray_operand_defers_to_tensor_and_reduces_the_gradient(expression, reference, rng):
    a = rng.random((2, 3)) + 0.5  # broadcasts the tensor to a larger shape
    x = leaf(rng.random(3) + 0.5)
    out = expression(a, x)
    assert isinstance(out, nr.Tensor)
    np.testing.assert_allclose(out.data, reference(a, x.data), rtol=1e-14)
    out.backward(np.ones((2, 3)))
    assert x.grad.shape == (3,)
    assert nr.gradcheck(lambda t: expression(a, t), leaf(x.data))


# ----------------------------------------------------------------------------------------------- unary functions
@pytest.mark.parametrize("name", UNARY)
@given(shape=shapes, data=st.data())
def test_unary_forward_matches_numpy(name, shape, data):
    op, reference, fix = UNARY[name]
    x = _domain(fix, data.draw(_values(shape)))
    out = op(nr.tensor(x))
    assert out.shape == x.shape and out.dtype == np.float64
    np.testing.assert_allclose(out.data, reference(x), rtol=1e-14, atol=0)


@pytest.mark.parametrize("name", UNARY)
@given(shape=shapes, data=st.data())
def test_unary_gradcheck(name, shape, data):
    op, _, fix = UNARY[name]
    assert nr.gradcheck(op, leaf(_domain(fix, data.draw(_values(shape)))))


def test_unary_gradients_match_the_analytic_rules(rng):
    x = rng.random(20) + 0.1
    expected = {
        "neg": -np.ones(20),
        "exp": np.exp(x),
        "log": 1 / x,
        "log1p": 1 / (1 + x),
        "expm1": np.exp(x),
        "sqrt": 0.5 / np.sqrt(x),
        "abs": np.ones(20),
        "sign": np.zeros(20),
        "square": 2 * x,
    }
    for name, derivative in expected.items():
        t = leaf(x)
        UNARY[name][0](t).backward(np.ones(20))
        np.testing.assert_allclose(t.grad.data, derivative, rtol=1e-13, err_msg=name)


def test_log1p_and_expm1_are_accurate_for_tiny_inputs():
    x = nr.tensor(np.array([1e-12, -1e-15]))
    np.testing.assert_allclose(F.log1p(x).data, x.data, rtol=1e-10)
    np.testing.assert_allclose(F.expm1(x).data, x.data, rtol=1e-10)


def test_methods_are_the_functions():
    x = nr.tensor(np.array([0.5, 2.0]))
    for name in ("exp", "log", "log1p", "expm1", "sqrt", "abs", "sign", "square", "neg"):
        np.testing.assert_array_equal(getattr(x, name)().data, getattr(F, name)(x).data)
    np.testing.assert_array_equal(abs(-x).data, [0.5, 2.0])
    np.testing.assert_array_equal((-x).data, [-0.5, -2.0])
    assert (+x) is x


# ----------------------------------------------------------------------------------------- subgradient conventions
def test_abs_subgradient_at_zero_is_zero():
    x = leaf([0.0, -0.0, 2.0, -3.0])
    F.abs(x).backward(np.ones(4))
    np.testing.assert_array_equal(x.grad.data, [0.0, 0.0, 1.0, -1.0])


def test_sign_gradient_is_zero_everywhere():
    x = leaf([0.0, -1.0, 2.0])
    y = F.sign(x)
    np.testing.assert_array_equal(y.data, [0.0, -1.0, 1.0])
    y.backward(np.array([5.0, 6.0, 7.0]))
    np.testing.assert_array_equal(x.grad.data, [0.0, 0.0, 0.0])


@pytest.mark.parametrize(("op", "winner_first"), [(F.maximum, [1.0, 1.0, 0.0]), (F.minimum, [1.0, 0.0, 1.0])])
def test_maximum_and_minimum_ties_send_the_gradient_to_the_first_operand(op, winner_first):
    a, b = leaf([1.0, 2.0, -1.0]), leaf([1.0, 0.0, 0.0])
    op(a, b).backward(np.ones(3))
    np.testing.assert_array_equal(a.grad.data, winner_first)
    np.testing.assert_array_equal(b.grad.data, 1 - np.array(winner_first))


def test_maximum_tie_with_a_scalar_follows_the_operand_order():
    x = leaf([0.0])
    F.maximum(x, 0.0).backward(np.ones(1))
    np.testing.assert_array_equal(x.grad.data, [1.0])
    x = leaf([0.0])
    F.maximum(0.0, x).backward(np.ones(1))
    np.testing.assert_array_equal(x.grad.data, [0.0])


def test_maximum_tie_gradient_is_reduced_over_broadcast_axes():
    a, b = leaf([[1.0], [2.0]]), leaf([1.0, 2.0, 3.0])
    F.maximum(a, b).backward(np.ones((2, 3)))
    np.testing.assert_array_equal(a.grad.data, [[1.0], [2.0]])  # row 0: tie at 1; row 1: wins at 1 and ties at 2
    np.testing.assert_array_equal(b.grad.data, [0.0, 1.0, 2.0])


def test_clamp_at_the_bound_keeps_the_gradient():
    x = leaf([-1.0, 1.0, 2.0, -2.0, 0.0])
    y = F.clamp(x, -1.0, 1.0)
    np.testing.assert_array_equal(y.data, [-1.0, 1.0, 1.0, -1.0, 0.0])
    y.backward(np.ones(5))
    np.testing.assert_array_equal(x.grad.data, [1.0, 1.0, 0.0, 0.0, 1.0])


# ------------------------------------------------------------------------------------------------ clamp and where
CLAMPS = {
    "both": ({"min": -0.5, "max": 0.5}, lambda x: np.clip(x, -0.5, 0.5)),
    "min_only": ({"min": -0.5}, lambda x: np.maximum(x, -0.5)),
    "max_only": ({"max": 0.5}, lambda x: np.minimum(x, 0.5)),
}


@pytest.mark.parametrize("bounds", CLAMPS)
@given(shape=shapes, data=st.data())
def test_clamp_forward_and_gradcheck(bounds, shape, data):
    kwargs, reference = CLAMPS[bounds]
    x = _off_grid(data.draw(_values(shape)))
    for clamp in (F.clamp, F.clip, lambda t, **kw: t.clamp(**kw), lambda t, **kw: t.clip(**kw)):
        out = clamp(nr.tensor(x), **kwargs)
        np.testing.assert_array_equal(out.data, reference(x))
    assert nr.gradcheck(lambda t: F.clamp(t, **kwargs), leaf(x))


def test_clamp_needs_a_bound():
    with pytest.raises(ValueError, match="clamp"):
        F.clamp(nr.ones(2))


@given(case=binary_case(), data=st.data())
def test_where_forward_and_gradcheck_with_broadcasting(case, data):
    a, b = case
    condition = data.draw(hnp.arrays(np.bool_, data.draw(st.sampled_from([a.shape, b.shape, ()]))))
    out = F.where(nr.tensor(condition), nr.tensor(a), nr.tensor(b))
    np.testing.assert_array_equal(out.data, np.where(condition, a, b))
    assert nr.gradcheck(lambda x, y: F.where(condition, x, y), (leaf(a), leaf(b)))


def test_where_routes_the_gradient_by_the_condition():
    a, b = leaf([1.0, 2.0, 3.0]), leaf([10.0])
    condition = nr.tensor([True, False, True])
    F.where(condition, a, b).backward(np.array([1.0, 2.0, 4.0]))
    np.testing.assert_array_equal(a.grad.data, [1.0, 0.0, 4.0])
    np.testing.assert_array_equal(b.grad.data, [2.0])


@pytest.mark.parametrize("scalar_side", ["a", "b"])
def test_where_with_a_scalar_branch(scalar_side, rng):
    x = rng.standard_normal((3, 4))
    condition = x > 0
    if scalar_side == "a":
        op, reference = (lambda t: F.where(condition, 0.5, t)), np.where(condition, 0.5, x)
    else:
        op, reference = (lambda t: F.where(condition, t, 0.5)), np.where(condition, x, 0.5)
    np.testing.assert_array_equal(op(nr.tensor(x)).data, reference)
    assert op(nr.tensor(x.astype(np.float32))).dtype == np.float32
    assert nr.gradcheck(op, leaf(x))


def test_where_casts_a_non_boolean_condition_and_takes_two_scalars():
    out = F.where(np.array([1, 0, 2]), nr.tensor([1.0, 2.0, 3.0]), 0.0)
    np.testing.assert_array_equal(out.data, [1.0, 0.0, 3.0])
    both = F.where(np.array([True, False]), 1.0, 2.0)  # torch.where: a new float32 tensor
    assert both.dtype == np.float32 and both.tolist() == [1.0, 2.0] and not both.requires_grad
    assert F.where(np.array([True, False]), 1, 2).dtype == np.int64


# ---------------------------------------------------------------------------------------------------- comparisons
COMPARISONS = {
    "eq": (F.eq, np.equal, lambda a, b: a == b),
    "ne": (F.ne, np.not_equal, lambda a, b: a != b),
    "lt": (F.lt, np.less, lambda a, b: a < b),
    "le": (F.le, np.less_equal, lambda a, b: a <= b),
    "gt": (F.gt, np.greater, lambda a, b: a > b),
    "ge": (F.ge, np.greater_equal, lambda a, b: a >= b),
}


@pytest.mark.parametrize("name", COMPARISONS)
@given(shapes_ab=broadcastable_pair(), data=st.data())
def test_comparisons_match_numpy_and_record_nothing(name, shapes_ab, data):
    function, reference, operator = COMPARISONS[name]
    a = np.round(data.draw(_values(shapes_ab[0])))  # small integers, so that ties occur
    b = np.round(data.draw(_values(shapes_ab[1])))
    for out in (function(leaf(a), leaf(b)), operator(leaf(a), leaf(b))):
        assert out.dtype == np.bool_ and not out.requires_grad
        np.testing.assert_array_equal(out.data, reference(a, b))
    np.testing.assert_array_equal(function(leaf(a), 1.0).data, reference(a, 1.0))
    np.testing.assert_array_equal(function(1.0, leaf(b)).data, reference(1.0, b))


def test_reflected_comparisons_with_a_scalar_on_the_left():
    # The scalar stays on the left on purpose: Python must fall back on the tensor's reflected comparison.
    x = nr.tensor([1.0, 2.0, 3.0])
    np.testing.assert_array_equal((2 < x).data, [False, False, True])  # noqa: SIM300
    np.testing.assert_array_equal((2 >= x).data, [True, True, False])  # noqa: SIM300
    np.testing.assert_array_equal((2 == x).data, [False, True, False])  # noqa: SIM300


# ----------------------------------------------------------------------------------------------------- dtype rules
SCALAR_OPS_FLOAT32 = {
    "add": lambda x: x + 2.5,
    "radd": lambda x: 2.5 + x,
    "sub": lambda x: x - 2.5,
    "rsub": lambda x: 2.5 - x,
    "mul": lambda x: x * 2.5,
    "rmul": lambda x: 2.5 * x,
    "div": lambda x: x / 3,
    "rdiv": lambda x: 3 / x,
    "pow": lambda x: x**2.5,
    "pow_int": lambda x: x**3,
    "square": F.square,
    "rpow": lambda x: 2.5**x,
    "maximum": lambda x: F.maximum(x, 0.5),
    "minimum": lambda x: F.minimum(0.5, x),
    "clamp": lambda x: F.clamp(x, 0.5, 1.0),
    "where": lambda x: F.where(x.data > 1, x, 0.5),
    **{name: spec[0] for name, spec in UNARY.items()},
}


@pytest.mark.parametrize("name", SCALAR_OPS_FLOAT32)
def test_python_scalars_and_unary_ops_keep_float32_forward_and_backward(name, rng):
    x = nr.tensor((rng.random((2, 3)) + 0.5).astype(np.float32), requires_grad=True)
    y = SCALAR_OPS_FLOAT32[name](x)
    assert y.dtype == np.float32
    cotangents = y.grad_fn.backward(np.ones(y.shape, np.float32))
    assert all(g is None or g.dtype == np.float32 for g in cotangents)
    y.backward(np.ones(y.shape, np.float32))
    assert x.grad.dtype == np.float32


@pytest.mark.parametrize("name", BINARY)
def test_mixed_float_dtypes_promote_and_each_leaf_keeps_its_gradient_dtype(name, rng):
    op, reference, (fix_a, fix_b) = BINARY[name]
    a64, b64 = _domain(fix_a, rng.standard_normal((2, 3))), _domain(fix_b, rng.standard_normal(3))
    a = nr.tensor(a64.astype(np.float32), requires_grad=True)
    b = nr.tensor(b64, requires_grad=True)
    y = op(a, b)
    assert y.dtype == np.float64
    np.testing.assert_allclose(y.data, reference(a64.astype(np.float32).astype(np.float64), b64), rtol=1e-14)
    y.backward(np.ones((2, 3)))
    assert a.grad.dtype == np.float32 and b.grad.dtype == np.float64
    assert a.grad.shape == (2, 3) and b.grad.shape == (3,)


@pytest.mark.parametrize("name", BINARY)
def test_float32_tensors_stay_float32(name, rng):
    op, _, (fix_a, fix_b) = BINARY[name]
    a = nr.tensor(_domain(fix_a, rng.standard_normal(3)).astype(np.float32), requires_grad=True)
    b = nr.tensor(_domain(fix_b, rng.standard_normal(3)).astype(np.float32), requires_grad=True)
    y = op(a, b)
    assert y.dtype == np.float32
    assert all(g.dtype == np.float32 for g in y.grad_fn.backward(np.ones(3, np.float32)))


# ---------------------------------------------------------------------------------------------------- shape errors
@pytest.mark.parametrize("name", [*BINARY, *COMPARISONS])
def test_shape_error_names_the_op_and_both_shapes(name):
    op = BINARY[name][0] if name in BINARY else COMPARISONS[name][0]
    with pytest.raises(ShapeError, match=rf"{name}: shapes \(3, 4\) and \(5, 2\)"):
        op(nr.ones(3, 4, requires_grad=True), nr.ones(5, 2))


def test_where_shape_error_names_the_op_and_the_shapes():
    with pytest.raises(ShapeError, match=r"where: .*\(3,\).*\(3,\) and \(2,\)"):
        F.where(np.ones(3, bool), nr.ones(3), nr.ones(2))


# ------------------------------------------------------------------------------------------- powers at base 0
def _pow_grads_both(torch, fn, *arrays):
    ours = [leaf(a) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    fn(*ours).sum().backward()
    fn(*theirs).sum().backward()
    for a, b in zip(ours, theirs):
        np.testing.assert_array_equal(a.grad.data, b.grad.numpy())


def test_pow_gradients_at_base_zero_are_pytorchs():
    torch = reference_library("torch")
    base = np.array([0.0, 0.0, 0.0, 2.0, -1.0, 0.5])
    exponent = np.array([0.0, 2.0, -1.0, -1.0, 2.0, 0.0])
    _pow_grads_both(torch, lambda a, b: a**b, base, exponent)
    _pow_grads_both(torch, lambda a: a**0, base)
    _pow_grads_both(torch, lambda a: a**0.0, base)
    _pow_grads_both(torch, lambda x: 0.0**x, exponent)
    _pow_grads_both(torch, lambda x: 2.0**x, exponent)


def test_an_integer_tensor_to_a_float_power_is_a_float_tensor():
    squared = nr.tensor(np.array([1, 2, 3])) ** 2.0
    assert squared.dtype.kind == "f"
    np.testing.assert_array_equal(squared.data, [1.0, 4.0, 9.0])
    assert (nr.tensor(np.array([1, 2, 3])) ** 2).dtype.kind == "i"


def test_linspace_with_an_integer_dtype_truncates_as_pytorch():
    torch = reference_library("torch")
    for start, end, steps in [(5, -5, 20), (-3, 7, 11), (0, 1, 4), (2.5, -2.5, 9)]:
        ours = nr.linspace(start, end, steps, dtype="int32")
        assert ours.dtype == np.int32
        np.testing.assert_array_equal(ours.data, torch.linspace(start, end, steps, dtype=torch.int32).numpy())
