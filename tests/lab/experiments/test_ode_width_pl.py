"""Width q ≥ 2n and the Polyak–Łojasiewicz floor (seed 003): the helpers on known answers, and the experiment."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from neurones.lab.config import at_scale
from neurones.lab.experiments import ode_width_pl as ow
from neurones.lab.runner import run_experiment
from neurones.train.gradient_flow import gradient_flow
from tests.lab.experiments.run_checks import check_run_directory, claim_numbers

FIGURES = ["final-loss-vs-width", "loss-curves", "pl-ratio-vs-width"]


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    return run_experiment("ode-width-pl", "smoke", seed=0, out=tmp_path_factory.mktemp("ow") / "run")


def test_widths_and_the_overparameterized_side():
    config = at_scale(ow.ODEWidthPLConfig, "quick")
    assert ow.widths(config) == [4, 8, 16, 32, 64]
    assert [ow.is_overparameterized(q, config.samples) for q in ow.widths(config)] == [False] * 3 + [True] * 2
    assert config.flow_time == pytest.approx(20.0)
    assert ow.widths(dataclasses.replace(config, width_ratios=(0.01,))) == [1]
    with pytest.raises(ValueError, match="inner_width"):
        ow.ODEWidthPLConfig(inner_width=0)


def test_pl_floor_is_the_gronwall_rate_that_reaches_the_target():
    assert ow.pl_floor(20.0) == pytest.approx(math.log(2e5) / 20.0, rel=1e-15)
    # A flow with μ_t ≡ μ* from the expected initial risk lands exactly on the target at time T.
    assert ow.EXPECTED_INITIAL_RISK * math.exp(-ow.pl_floor(7.0) * 7.0) == pytest.approx(ow.LOSS_TARGET, rel=1e-12)
    with pytest.raises(ValueError):
        ow.pl_floor(0.0)


def test_resolved_minimum_ignores_unresolved_losses():
    losses = [1.0, 1e-3, 1e-19, 1e-25, 1e-30]
    assert ow.resolved_minimum(losses, [5.0, 2.0, 3.0, 1e-4, 0.0]) == 2.0
    assert math.isnan(ow.resolved_minimum([1e-25], [1.0]))


def test_smallest_gram_eigenvalue():
    rng = np.random.default_rng(0)
    wide = rng.standard_normal((3, 7))
    assert ow.smallest_gram_eigenvalue(wide) == pytest.approx(np.linalg.eigvalsh(wide @ wide.T)[0], rel=1e-10)
    assert ow.smallest_gram_eigenvalue(wide.T) == 0.0  # 7 rows in a 3-dimensional space cannot be independent
    assert ow.smallest_gram_eigenvalue(np.diag([3.0, 0.5])) == pytest.approx(0.25, rel=1e-14)


@pytest.mark.parametrize("weight_function", ["constant", "gp"])
@pytest.mark.parametrize("width,inner_width", [(8, None), (3, 5), (6, 2)])
def test_pl_ratio_at_zero_V_is_the_recorded_one(weight_function, width, inner_width):
    config = dataclasses.replace(at_scale(ow.ODEWidthPLConfig, "smoke"), samples=5, in_features=6, out_features=2,
                                 inner_width=inner_width, weight_function=weight_function)
    rng = np.random.default_rng(4)
    X, Y = rng.standard_normal((5, 6)), rng.standard_normal((5, 2))
    model = ow.build_network(config, width, rng)
    assert model.inner_width == (width if inner_width is None else inner_width)
    exact, bound = ow.pl_ratio_at_zero_V(model, X, Y)
    history = gradient_flow(model, X, Y, config.lr, 0)
    assert history.pl_ratios[0] == pytest.approx(exact, rel=1e-10)
    assert 0 <= bound <= exact
    if model.inner_width < 5:  # fewer features than examples: S Sᵀ is singular and the bound says nothing
        assert bound == 0
    gradient_flow(model, X, Y, config.lr, 1)
    with pytest.raises(ValueError, match="must be zero"):
        ow.pl_ratio_at_zero_V(model, X, Y)


def test_the_loss_decays_at_the_recorded_pl_rate():
    # dR/dt = −μ_t R, so ln R(T) − ln R(0) = −∫ μ_t dt: with a small step the recorded μ_t is the rate of the loss.
    config = dataclasses.replace(at_scale(ow.ODEWidthPLConfig, "smoke"), lr=0.002, steps=200, record_every=1)
    rng = np.random.default_rng(5)
    point = {"config": config, "width": 8, "draw": 0, "X": rng.standard_normal((4, 8)),
             "Y": rng.standard_normal((4, 1))}
    r = ow._train_width(point, rng)
    integral = np.sum(config.lr * r["pl_ratios"][:-1])
    assert math.log(r["final_loss"] / r["initial_loss"]) == pytest.approx(-integral, rel=0.02)
    assert r["mu_0"] == pytest.approx(r["mu_0_closed_form"], rel=1e-10)
    assert r["min_mu"] == pytest.approx(r["pl_ratios"].min(), rel=1e-12)
    assert r["max_lr_mu"] == pytest.approx(config.lr * r["pl_ratios"].max(), rel=1e-12)


def test_smoke_run(smoke):
    config = at_scale(ow.ODEWidthPLConfig, "smoke")
    record = check_run_directory(smoke, FIGURES)
    claims = {c["id"]: c for c in record["claims"]}
    assert set(claims) == {"003.overparam[q=8]", "003.overparam.pl[q=8]"}  # q = 2 < 2n = 8 gets no claim
    assert claims["003.overparam[q=8]"]["prediction"] == "≤ 1e-05"
    assert claims["003.overparam.pl[q=8]"]["prediction"] == f"≥ {ow.pl_floor(config.flow_time):.6g}"
    assert all(c["stderr"] == 0 for c in claims.values())
    runs = record["tables"]["runs"]
    assert [(r["width"], r["draw"]) for r in runs] == [(2, 0), (8, 0)]
    for r in runs:
        assert r["inner_width"] == r["width"]
        assert r["mu_0"] == pytest.approx(r["mu_0_closed_form"], rel=1e-9)
        assert r["final_loss"] < r["initial_loss"]
    summary = {row["width"]: row for row in record["tables"]["widths"]}
    assert claims["003.overparam[q=8]"]["measured"] == summary[8]["worst_final_loss"]
    assert claims["003.overparam.pl[q=8]"]["measured"] == summary[8]["min_mu"]
    assert summary[2]["mean_mu_0_lower_bound"] == 0  # m = 2 features for n = 4 examples


def test_a_fixed_inner_width(tmp_path):
    run = run_experiment("ode-width-pl", "smoke", seed=0, overrides={"inner_width": "3"}, out=tmp_path / "run")
    assert {r["inner_width"] for r in run.record["tables"]["runs"]} == {3}


def test_same_seed_same_numbers(smoke, tmp_path):
    again = run_experiment("ode-width-pl", "smoke", seed=0, out=tmp_path / "again")
    assert claim_numbers(again.record) == claim_numbers(smoke.record)
    other = run_experiment("ode-width-pl", "smoke", seed=1, out=tmp_path / "other")
    assert claim_numbers(other.record) != claim_numbers(smoke.record)


def test_workers_give_the_same_numbers(smoke, tmp_path):
    parallel = run_experiment("ode-width-pl", "smoke", seed=0, out=tmp_path / "parallel", workers=2)
    assert claim_numbers(parallel.record) == claim_numbers(smoke.record)
