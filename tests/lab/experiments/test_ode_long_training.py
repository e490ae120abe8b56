"""Long training of an ODE-like ResNet (seed 003): the PL constant at V = 0, decay rates, and the run."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.special import erf

from neurones.lab.config import at_scale
from neurones.lab.experiments import ode_long_training as olt
from neurones.lab.runner import run_experiment
from neurones.nn.ode_resnet import ODEResNet
from neurones.train.gradient_flow import gradient_flow
from tests.lab.experiments.run_checks import check_run_directory, claim_numbers

CLAIMS = {"003.loss-to-zero", "003.pl-bounded", "003.long-smooth", "003.large-time.roughness", "003.large-time.loss"}
FIGURES = ["loss", "weights-in-depth", "pl-ratio"]


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    return run_experiment("ode-long-training", "smoke", seed=0, out=tmp_path_factory.mktemp("olt") / "run")


def _gelu(u):
    return 0.5 * u * (1 + erf(u / math.sqrt(2)))


def _network(W_init, depth=6, width=3, inner=7, seed=0):
    return ODEResNet(width, width, inner, width, depth, V_init="zero", W_init=W_init, rng=seed, dtype=np.float64)


def _mean_gram(model, X):
    _, W = model.stacked_weights()
    features = [_gelu(X @ W_k.T) for W_k in W]
    return sum(S @ S.T for S in features) / len(features)


@pytest.mark.parametrize("W_init", ["constant", "iid"])
def test_initial_pl_constant_is_attained_along_the_bottom_eigenvector(W_init):
    # μ_0 = (4/(nq)²) tr(Eᵀ K̄ E)/R with R = ‖E‖²/(nq): for E = u cᵀ (u the bottom eigenvector of K̄) it is exactly
    # (4/(nq)) λ_min(K̄), and it is larger for any other residual.
    rng = np.random.default_rng(3)
    n, q = 5, 3
    model = _network(W_init)
    X = rng.standard_normal((n, q))
    eigenvalues, eigenvectors = np.linalg.eigh(_mean_gram(model, X))
    expected = 4 * eigenvalues[0] / (n * q)
    assert olt.initial_pl_constant(model, X) == pytest.approx(expected, rel=1e-10)
    Y = X - np.outer(eigenvectors[:, 0], [1.0, -2.0, 0.5])
    history = gradient_flow(model, X, Y, lr=0.01, steps=0)
    assert history.pl_ratios[0] == pytest.approx(expected, rel=1e-8)
    generic = gradient_flow(_network(W_init), X, rng.standard_normal((n, q)), lr=0.01, steps=0)
    assert generic.pl_ratios[0] > expected


def test_initial_pl_constant_is_zero_without_enough_features():
    # m = 2 features per layer and all layers equal: K̄ has rank ≤ 2 < n = 5, so some residual gets no gradient.
    model = _network("constant", inner=2)
    X = np.random.default_rng(0).standard_normal((5, 3))
    assert olt.initial_pl_constant(model, X) == pytest.approx(0.0, abs=1e-12)


def test_initial_pl_constant_needs_V_zero():
    model = ODEResNet(3, 3, 4, 3, 4, V_init="iid", W_init="constant", rng=0)
    with pytest.raises(ValueError, match="V = 0"):
        olt.initial_pl_constant(model, np.zeros((2, 3)))


def test_decay_rates_of_exponentials():
    t = np.linspace(0.0, 10.0, 41)
    assert olt.decay_rate(t, 3.0 * np.exp(-0.7 * t)) == pytest.approx(0.7, rel=1e-12)
    # Rate 1 up to t = 5, then 0.2 (continuous): each half is an exact exponential.
    loss = np.where(t <= 5, np.exp(-t), np.exp(-5 - 0.2 * (t - 5)))
    first, second = olt.half_decay_rates(t, loss)
    assert (first, second) == (pytest.approx(1.0, rel=1e-12), pytest.approx(0.2, rel=1e-12))


@pytest.mark.parametrize("changes", [{"depth": 1}, {"steps": 10, "record_every": 5}, {"lr": 0.0}])
def test_config_rejects_what_cannot_be_measured(changes):
    with pytest.raises(ValueError):
        olt.ODELongTrainingConfig(**changes)


def test_smoke_run(smoke):
    config = at_scale(olt.ODELongTrainingConfig, "smoke")
    record = check_run_directory(smoke, FIGURES)
    claims = {c["id"]: c for c in record["claims"]}
    assert set(claims) == CLAIMS and len(record["claims"]) == 5
    summary = {row["init"]: row for row in record["tables"]["summary"]}
    smooth = summary["smooth"]
    reach = record["tables"]["steps_to_target"]
    assert [r["draw"] for r in reach] == list(range(config.draws))  # every data draw trains the smooth network
    assert claims["003.loss-to-zero"]["rule"]["high"] == olt.HORIZON
    assert claims["003.loss-to-zero"]["measured"] == max(r["steps"] for r in reach)
    assert claims["003.pl-bounded"]["measured"] == smooth["mu_min"]
    assert claims["003.pl-bounded"]["prediction"] == f"≥ {smooth['pl_floor']:.6g}"
    assert claims["003.long-smooth"]["rule"]["high"] == 0.05
    assert claims["003.long-smooth"]["measured"] == pytest.approx(smooth["roughness"] / summary["iid"]["roughness"])
    large = record["tables"]["large_time"]
    assert [r["depth"] for r in large] == sorted(config.pl_depths)
    scaled = [r["depth_times_roughness"] for r in large]
    assert claims["003.large-time.roughness"]["measured"] == pytest.approx(max(scaled) / min(scaled))
    assert all(c["stderr"] == 0.0 for c in record["claims"])
    for row in summary.values():
        # The recorded μ_0 is bounded below by the closed-form PL constant of the initialization.
        assert row["mu_initial"] >= row["mu_init_constant"] > 0
        assert row["pl_floor"] == pytest.approx(0.5 * row["mu_init_constant"], rel=1e-12)
        assert row["final_loss"] < row["initial_loss"]
        assert row["roughness"] == max(row["roughness_V"], row["roughness_W"])
    assert summary["smooth"]["roughness"] < 0.1 * summary["iid"]["roughness"]
    records = config.steps // config.record_every + 1
    trajectory = record["tables"]["trajectory"]
    assert len(trajectory) == 2 * records
    for init in olt.INITS:
        rows = [r for r in trajectory if r["init"] == init]
        assert [r["step"] for r in rows] == list(range(0, config.steps + 1, config.record_every))
        assert rows[-1]["loss"] == summary[init]["final_loss"]
        assert min(r["pl_ratio"] for r in rows) == summary[init]["mu_min"]
        assert rows[0]["loss"] == summary["smooth"]["initial_loss"]  # both start from F(x) = x on the same data
    coefficients = record["tables"]["coefficients"]
    assert len(coefficients) == 2 * 2 * config.coefficients * config.depth
    assert {r["layer"] for r in coefficients} == set(range(1, config.depth + 1))


def test_same_seed_same_numbers(smoke, tmp_path):
    again = run_experiment("ode-long-training", "smoke", seed=0, out=tmp_path / "again")
    assert claim_numbers(again.record) == claim_numbers(smoke.record)
    other = run_experiment("ode-long-training", "smoke", seed=1, out=tmp_path / "other")
    assert claim_numbers(other.record) != claim_numbers(smoke.record)


def test_steps_to_target_observes_or_extrapolates():
    steps = np.arange(0, 101, 10)
    times = steps * 0.01
    losses = np.exp(-2.0 * times)  # −d ln R/dt = 2, R(1) = e^-2
    step, observed = olt.steps_to_target(steps, times, losses, lr=0.01, target=np.exp(-1.0))
    assert observed and step == 50
    step, observed = olt.steps_to_target(steps, times, losses, lr=0.01, target=np.exp(-4.0))
    assert not observed and step == pytest.approx(200.0)  # two more units of flow time at rate 2
    flat = np.full_like(times, 0.5)
    assert olt.steps_to_target(steps, times, flat, lr=0.01, target=0.1) == (math.inf, False)
