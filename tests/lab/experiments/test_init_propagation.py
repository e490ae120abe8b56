"""Initialization and signal propagation (seed 002): the init wiring, the helpers, and the registered experiment."""

from __future__ import annotations

import math

import numpy as np
import pytest

import neurones as nr
from neurones import nn
from neurones.lab.config import at_scale
from neurones.lab.experiments import init_propagation as ip
from neurones.lab.runner import run_experiment
from tests.lab.experiments.run_checks import check_run_directory, claim_numbers

CLAIM_IDS = [
    "002.he.gain[forward]",
    "002.he.gain[backward]",
    "002.ex4",
    *(f"002.leaky.gain[alpha={a},{d}]" for a in ("0.01", "0.2", "0.5") for d in ("forward", "backward")),
    "002.uniform-forms[he]",
    "002.glorot.tanh-meanfield[q0=0.001]",
    "002.glorot.tanh-meanfield[q0=1]",
    "002.uniform-forms[glorot]",
    "002.naive.forward[sigma_w=1]",
    "002.naive.backward[sigma_w=1]",
    "002.naive.forward[sigma_w=0.01]",
    "002.naive.backward[sigma_w=0.01]",
    "002.fan-modes.gain[he-fan_in-forward]",
    "002.fan-modes.gain[he-fan_out-backward]",
    "002.fan-modes[glorot]",
]
FAN_OUT, FAN_IN = 300, 200


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    return run_experiment("init-propagation", "smoke", seed=0, out=tmp_path_factory.mktemp("ip") / "run")


def expected_variance(init: str, slope: float) -> float:
    """Var[w] of each initialization for a (FAN_OUT, FAN_IN) weight; He's gain² is 2/(1 + α²) (2 for ReLU)."""
    he_gain_sq = 2 / (1 + slope**2)
    return {
        "normal_1": 1.0,
        "normal_0.01": 1e-4,
        "glorot_normal": 2 / (FAN_IN + FAN_OUT),
        "glorot_uniform": 2 / (FAN_IN + FAN_OUT),
        "he_normal_fan_in": he_gain_sq / FAN_IN,
        "he_uniform_fan_in": he_gain_sq / FAN_IN,
        "he_normal_fan_out": he_gain_sq / FAN_OUT,
        "he_uniform_fan_out": he_gain_sq / FAN_OUT,
        "lecun_normal": 1 / FAN_IN,
    }[init]


@pytest.mark.parametrize("slope", [0.0, 0.01, 0.2, 0.5])
@pytest.mark.parametrize("init", ip.INITS)
def test_initialize_gives_the_formula_variance(init, slope):
    weight = nn.Parameter(np.zeros((FAN_OUT, FAN_IN)))
    ip._initialize(weight, init, slope, np.random.default_rng(0))
    w = weight.data
    variance = expected_variance(init, slope)
    # 60 000 i.i.d. entries: the sample variance has relative stderr ≤ √(2/60 000) ≈ 0.006.
    assert w.var() == pytest.approx(variance, rel=0.03)
    assert abs(w.mean()) < 5 * math.sqrt(variance / w.size)
    if "uniform" in init:
        bound = math.sqrt(3 * variance)
        assert np.abs(w).max() <= bound and np.abs(w).max() > 0.99 * bound


@pytest.mark.parametrize(
    ("name", "module", "slope"),
    [
        ("tanh", nn.Tanh, 0.0),
        ("relu", nn.ReLU, 0.0),
        ("sigmoid", nn.Sigmoid, 0.0),
        ("leaky_relu_0.2", nn.LeakyReLU, 0.2),
        ("leaky_relu_0.01", nn.LeakyReLU, 0.01),
    ],
)
def test_activation_names(name, module, slope):
    activation, parsed = ip._activation(name)
    assert isinstance(activation, module) and parsed == slope
    if slope:
        np.testing.assert_allclose(activation(nr.tensor([-1.0, 2.0])).data, [-slope, 2.0], rtol=1e-6)


def test_network_structure():
    net = ip._network([4, 6, 5, 3], "leaky_relu_0.2", "he_normal_fan_in", np.random.default_rng(0))
    kinds = [type(m) for m in net]
    assert kinds == [nn.Linear, nn.LeakyReLU, nn.Linear, nn.LeakyReLU, nn.Linear]
    linears = [m for m in net if isinstance(m, nn.Linear)]
    assert [m.weight.shape for m in linears] == [(6, 4), (5, 6), (3, 5)]
    assert all(m.bias is None and m.weight.dtype == np.float64 for m in linears)


def test_measure_records_one_row_per_draw_and_layer():
    point = {
        "activation": "relu",
        "init": "he_normal_fan_in",
        "widths": [5, 5, 5, 5],
        "input_variance": 1.0,
        "draws": 3,
        "batch": 4,
        "spectral": True,
    }
    m = ip._measure(point, np.random.default_rng(0))
    for key in ("z_var", "z_second_moment", "input_second_moment", "grad_var", "grad_norm", "spectral_norms"):
        assert m[key].shape == (3, 3)
    assert "widths" not in m and m["activation"] == "relu"
    # ReLU's output second moment is that of the rectified pre-activation: below E[z²], above 0.
    assert np.all(m["input_second_moment"][:, 1:] <= m["z_second_moment"][:, :-1])


def test_smoke_run(smoke):
    config = at_scale(ip.InitPropagationConfig, "smoke")
    record = check_run_directory(smoke, ["forward-variance-by-layer", "gradient-variance-by-layer"])
    claims = {c["id"]: c for c in record["claims"]}
    assert [c["id"] for c in record["claims"]] == CLAIM_IDS
    assert claims["002.ex4"]["prediction"] == "= 0.5 ± tol 0.01"
    assert claims["002.he.gain[forward]"]["rule"] == {"kind": "equality", "predicted": 0.0, "tol": 0.01}
    # The naive initializations: 5 layers, each multiplying the variance by n σ²/2 (n = 16).
    assert claims["002.naive.forward[sigma_w=1]"]["rule"]["predicted"] == pytest.approx(5 * math.log10(8))
    assert claims["002.naive.backward[sigma_w=0.01]"]["rule"]["predicted"] == pytest.approx(5 * math.log10(8e-4))
    assert claims["002.naive.backward[sigma_w=0.01]"]["holds"]  # unmistakable even at smoke scale
    # Alternating widths 16/32/16/...: Glorot multiplies Var[z] by 2 fan_in/(fan_in + fan_out) per layer after the
    # first, i.e. (4/3)³ (2/3)² over the five layers 2..6, times tanh's map, which is nearly linear at q = 1e-3.
    linear = (4 / 3) ** 3 * (2 / 3) ** 2
    assert claims["002.fan-modes[glorot]"]["rule"]["predicted"] == pytest.approx(linear, rel=0.01)
    assert claims["002.fan-modes[glorot]"]["rule"]["predicted"] < linear
    rows = record["tables"]["variance_by_layer"]
    assert len(rows) == (len(ip.ACTIVATIONS) * len(ip.INITS) + 4) * config.depth
    assert [r["layer"] for r in rows[: config.depth]] == list(range(1, config.depth + 1))
    assert all(r["var_z"] > 0 and r["var_grad"] > 0 for r in rows)


def test_same_seed_same_numbers(smoke, tmp_path):
    again = run_experiment("init-propagation", "smoke", seed=0, out=tmp_path / "again")
    assert claim_numbers(again.record) == claim_numbers(smoke.record)


def test_invalid_config():
    with pytest.raises(ValueError, match="depth ≥ 2"):
        ip.InitPropagationConfig(depth=1)
