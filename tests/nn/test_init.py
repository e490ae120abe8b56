"""nn.init: gains, fans, and the empirical moments of every law against its formula (Monte Carlo error bars)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from scipy import stats
from tests.helpers import reference_library

import neurones as nr
from neurones import nn
from neurones.nn import init

SHAPE = (400, 600)  # fan_in = 600, fan_out = 400
CONV_SHAPE = (64, 32, 3, 3)  # fan_in = 288, fan_out = 576


def _assert_moments(values: np.ndarray, mean: float, var: float, law: str) -> None:
    """Sample mean and variance within 4 standard errors of the law's.

    The variance is estimated by the mean of (w − mean)², whose standard error is √((μ₄ − σ⁴)/n) with μ₄ the
    central fourth moment: 3σ⁴ for a normal law, (b − a)⁴/80 = 9σ⁴/5 for a uniform one.
    """
    w = values.astype(np.float64).ravel()
    n = w.size
    assert abs(w.mean() - mean) < 4 * math.sqrt(var / n), f"mean {w.mean()} vs {mean}"
    fourth = {"normal": 3.0, "uniform": 1.8}[law] * var**2
    sample_var = np.mean((w - mean) ** 2)
    assert abs(sample_var - var) < 4 * math.sqrt((fourth - var**2) / n), f"variance {sample_var} vs {var}"
    if law == "uniform":
        half_width = math.sqrt(3 * var)
        assert np.all(np.abs(w - mean) <= half_width * (1 + 1e-6))
        assert np.abs(w - mean).max() > 0.995 * half_width


# ----------------------------------------------------------------------------------------------------- gains
@pytest.mark.parametrize(
    ("nonlinearity", "param", "gain"),
    [
        ("linear", None, 1.0),
        ("conv2d", None, 1.0),
        ("sigmoid", None, 1.0),
        ("tanh", None, 5.0 / 3.0),
        ("relu", None, math.sqrt(2.0)),
        ("leaky_relu", None, math.sqrt(2.0 / (1 + 0.01**2))),
        ("leaky_relu", 0.2, math.sqrt(2.0 / 1.04)),
        ("leaky_relu", 1, 1.0),
        ("selu", None, 0.75),
    ],
)
def test_calculate_gain(nonlinearity, param, gain):
    assert init.calculate_gain(nonlinearity, param) == pytest.approx(gain, rel=1e-15)


def test_calculate_gain_agrees_with_pytorch():
    torch = reference_library("torch")
    for name in ("linear", "conv1d", "sigmoid", "tanh", "relu", "leaky_relu", "selu"):
        assert init.calculate_gain(name) == pytest.approx(torch.nn.init.calculate_gain(name), rel=1e-12)
    assert init.calculate_gain("leaky_relu", 0.3) == pytest.approx(torch.nn.init.calculate_gain("leaky_relu", 0.3))


def test_calculate_gain_errors():
    with pytest.raises(ValueError, match="Unsupported nonlinearity"):
        init.calculate_gain("swish")
    with pytest.raises(ValueError, match="not a valid number"):
        init.calculate_gain("leaky_relu", True)


def test_leaky_relu_gain_preserves_the_second_moment():
    """E[f(z)²] = (1 + α²)/2 · Var[z] (annex Leaky ReLU), so gain² · E[f(z)²] = Var[z]."""
    z = np.random.default_rng(0).standard_normal(400_000)
    for slope in (0.0, 0.1, 0.5):
        second_moment = np.mean(np.where(z > 0, z, slope * z) ** 2)
        ratio = init.calculate_gain("leaky_relu", slope) ** 2 * second_moment
        assert ratio == pytest.approx(1.0, abs=0.01)


# ------------------------------------------------------------------------------------------------------ fans
@pytest.mark.parametrize(
    ("shape", "fans"),
    [((4, 5), (5, 4)), ((6, 2, 5), (10, 30)), (CONV_SHAPE, (288, 576)), ((8, 4, 3, 1, 2), (24, 48))],
)
def test_fans(shape, fans):
    assert init.calculate_fan_in_and_fan_out(nr.empty(*shape)) == fans
    assert init._calculate_fan_in_and_fan_out(nr.empty(*shape)) == fans


def test_fans_agree_with_pytorch_and_need_two_dimensions():
    torch = reference_library("torch")
    for shape in [(4, 5), (6, 2, 5), CONV_SHAPE]:
        expected = torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))
        assert init.calculate_fan_in_and_fan_out(nr.empty(*shape)) == expected
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init.calculate_fan_in_and_fan_out(nr.empty(3))
    with pytest.raises(TypeError, match="Tensor"):
        init.calculate_fan_in_and_fan_out(np.empty((2, 2)))


# ------------------------------------------------------------------------------------------------ variances
LAWS = [
    # (initializer, keyword arguments, shape, variance, law)
    (init.xavier_uniform_, {}, SHAPE, 2 / 1000, "uniform"),
    (init.xavier_normal_, {}, SHAPE, 2 / 1000, "normal"),
    (init.xavier_uniform_, {"gain": 2.0}, SHAPE, 4 * 2 / 1000, "uniform"),
    (init.xavier_normal_, {}, CONV_SHAPE, 2 / (288 + 576), "normal"),
    (init.kaiming_uniform_, {}, SHAPE, 2 / 600, "uniform"),
    (init.kaiming_normal_, {}, SHAPE, 2 / 600, "normal"),
    (init.kaiming_normal_, {"mode": "fan_out"}, SHAPE, 2 / 400, "normal"),
    (init.kaiming_uniform_, {"mode": "fan_out", "nonlinearity": "relu"}, SHAPE, 2 / 400, "uniform"),
    (init.kaiming_normal_, {"a": 0.2}, SHAPE, 2 / (1.04 * 600), "normal"),
    (init.kaiming_uniform_, {"a": math.sqrt(5)}, SHAPE, 1 / (3 * 600), "uniform"),
    (init.kaiming_normal_, {"nonlinearity": "tanh"}, SHAPE, (25 / 9) / 600, "normal"),
    (init.kaiming_normal_, {"nonlinearity": "relu"}, CONV_SHAPE, 2 / 288, "normal"),
    (init.lecun_normal_, {}, SHAPE, 1 / 600, "normal"),
    (init.lecun_uniform_, {}, CONV_SHAPE, 1 / 288, "uniform"),
]


@pytest.mark.parametrize(("initializer", "kwargs", "shape", "variance", "law"), LAWS)
def test_variance_matches_the_formula(initializer, kwargs, shape, variance, law):
    w = nr.empty(*shape)
    out = initializer(w, **kwargs, rng=7)
    assert out is w and w.dtype == np.float32
    _assert_moments(w.data, 0.0, variance, law)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_basic_laws(dtype):
    w = nr.empty(*SHAPE, dtype=dtype)
    init.uniform_(w, -2.0, 3.0, rng=1)
    assert w.dtype == dtype
    _assert_moments(w.data, 0.5, 25 / 12, "uniform")
    init.normal_(w, mean=1.0, std=2.0, rng=2)
    _assert_moments(w.data, 1.0, 4.0, "normal")
    init.uniform_(w, rng=3)
    assert w.data.min() >= 0.0 and w.data.max() < 1.0


def test_trunc_normal_matches_the_truncated_law():
    w = nr.empty(*SHAPE)
    init.trunc_normal_(w, mean=0.5, std=2.0, a=-1.0, b=3.0, rng=4)
    law = stats.truncnorm((-1.0 - 0.5) / 2.0, (3.0 - 0.5) / 2.0, loc=0.5, scale=2.0)
    values = w.data.astype(np.float64).ravel()
    assert values.min() >= -1.0 and values.max() <= 3.0
    se_mean = math.sqrt(law.var() / values.size)
    assert abs(values.mean() - law.mean()) < 4 * se_mean
    fourth = law.expect(lambda x: (x - law.mean()) ** 4)
    se_var = math.sqrt((fourth - law.var() ** 2) / values.size)
    assert abs(np.mean((values - law.mean()) ** 2) - law.var()) < 4 * se_var


def test_aliases():
    assert init.glorot_uniform_ is init.xavier_uniform_ and init.glorot_normal_ is init.xavier_normal_
    assert init.he_uniform_ is init.kaiming_uniform_ and init.he_normal_ is init.kaiming_normal_


# ------------------------------------------------------------------------------------ deterministic laws
def test_constant_ones_zeros_eye():
    w = nr.empty(3, 4)
    np.testing.assert_array_equal(init.constant_(w, 0.25).data, np.full((3, 4), 0.25))
    np.testing.assert_array_equal(init.ones_(w).data, np.ones((3, 4)))
    np.testing.assert_array_equal(init.zeros_(w).data, np.zeros((3, 4)))
    np.testing.assert_array_equal(init.eye_(w).data, np.eye(3, 4))
    with pytest.raises(ValueError, match="2 dimensions"):
        init.eye_(nr.empty(2, 2, 2))


def test_dirac_makes_each_group_an_identity():
    w = init.dirac_(nr.empty(6, 2, 3, 3), groups=2)
    expected = np.zeros((6, 2, 3, 3))
    for out_channel, in_channel in [(0, 0), (1, 1), (3, 0), (4, 1)]:
        expected[out_channel, in_channel, 1, 1] = 1.0
    np.testing.assert_array_equal(w.data, expected)
    with pytest.raises(ValueError, match="divisible"):
        init.dirac_(nr.empty(5, 2, 3), groups=2)
    with pytest.raises(ValueError, match="3, 4, or 5"):
        init.dirac_(nr.empty(3, 3))


@pytest.mark.parametrize("shape", [(5, 8), (8, 5), (4, 3, 2, 2)])
def test_orthogonal_gives_orthonormal_rows_or_columns(shape):
    w = init.orthogonal_(nr.empty(*shape, dtype=np.float64), gain=2.0, rng=0)
    flat = w.data.reshape(shape[0], -1)
    gram = flat @ flat.T if flat.shape[0] <= flat.shape[1] else flat.T @ flat
    np.testing.assert_allclose(gram, 4.0 * np.eye(gram.shape[0]), atol=1e-12)
    with pytest.raises(ValueError, match="2 or more"):
        init.orthogonal_(nr.empty(3))


# -------------------------------------------------------------------------------------------- mechanics
def test_initializers_write_in_place_without_recording_and_bump_the_version():
    p = nn.Parameter(np.zeros((3, 4), dtype=np.float32))
    array, version = p.data, p._version
    out = init.kaiming_normal_(p, rng=0)  # grad mode is on: the write must not be refused nor recorded
    assert out is p and p.data is array and p._version > version
    assert p.is_leaf and p.requires_grad and p.grad_fn is None
    assert np.any(p.data != 0)


def test_rng_seeds_generators_and_the_default_generator():
    a, b, c = nr.empty(4, 5), nr.empty(4, 5), nr.empty(4, 5)
    init.xavier_normal_(a, rng=3)
    init.xavier_normal_(b, rng=3)
    np.testing.assert_array_equal(a.data, b.data)
    generator = np.random.default_rng(3)
    init.xavier_normal_(b, rng=generator)
    init.xavier_normal_(c, rng=generator)
    assert not np.array_equal(b.data, c.data)
    nr.manual_seed(11)
    init.normal_(a)
    nr.manual_seed(11)
    init.normal_(b)
    np.testing.assert_array_equal(a.data, b.data)


def test_errors_and_empty_tensors():
    with pytest.raises(ValueError, match="Mode 'fan_avg' not supported"):
        init.kaiming_normal_(nr.empty(2, 2), mode="fan_avg")
    with pytest.raises(TypeError, match="Tensor"):
        init.normal_(np.zeros(3))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        empty = nr.empty(0, 3)
        assert init.kaiming_uniform_(empty) is empty
    assert "zero-element" in str(caught[0].message)


# ------------------------------------------------------------------------------- default layer initialization
@pytest.mark.parametrize(
    ("make", "fan_in"),
    [
        (lambda rng: nn.Linear(600, 400, rng=rng), 600),
        (lambda rng: nn.Conv2d(64, 96, 3, rng=rng), 576),
        (lambda rng: nn.Conv2d(64, 96, 3, groups=4, rng=rng), 144),
        (lambda rng: nn.Conv1d(32, 512, 5, rng=rng), 160),
    ],
)
def test_default_layer_init_is_pytorchs(make, fan_in):
    """Weights kaiming_uniform_(a=√5) = U(−1/√fan_in, 1/√fan_in), variance 1/(3 fan_in); bias on the same interval."""
    layer = make(5)
    _assert_moments(layer.weight.data, 0.0, 1.0 / (3 * fan_in), "uniform")
    bound = 1.0 / math.sqrt(fan_in)
    assert np.all(np.abs(layer.bias.data) <= bound) and np.abs(layer.bias.data).max() > 0.8 * bound
    assert layer.weight.dtype == np.float32 and layer.weight.requires_grad
    np.testing.assert_array_equal(make(5).weight.data, layer.weight.data)
    assert not np.array_equal(make(6).weight.data, layer.weight.data)


def test_default_linear_init_has_pytorchs_distribution():
    torch = reference_library("torch")
    torch.manual_seed(0)
    theirs = torch.nn.Linear(600, 400).weight.detach().numpy().ravel()
    ours = nn.Linear(600, 400, rng=0).weight.data.ravel()
    assert stats.ks_2samp(ours, theirs).pvalue > 1e-3
    assert abs(np.abs(ours).max() - np.abs(theirs).max()) < 1e-4


def test_layer_dtype_argument():
    assert nn.Linear(3, 2, dtype=np.float64).weight.dtype == np.float64
    assert nn.Conv2d(3, 2, 3, dtype="float64").bias.dtype == np.float64
