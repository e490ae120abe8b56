"""The one-hidden-layer experiments (seed 001 §IV, seed 000 §3): smoke runs, claims, and the pieces they rest on."""

from __future__ import annotations

import numpy as np
import pytest

from neurones.lab.experiments import depth_efficiency, relu_interpolation, sgd_estimator, universal_approximation
from neurones.lab.runner import run_experiment
from tests.lab.experiments.run_checks import check_run_directory, claim_numbers

FIGURES = {
    "relu-interpolation": ["interpolant-and-pieces", "interpolation-rate"],
    "universal-approximation": ["error-against-width"],
    "depth-efficiency": ["gate-error", "minimal-width", "shallow-errors"],
    "homogeneity": ["conservation", "invariants-along-training", "balance"],
    "rademacher": ["complexity-against-n"],
    "sgd-estimator": ["variance-against-batch-size", "descent"],
}


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    return {name: run_experiment(name, "smoke", seed=0, out=tmp_path_factory.mktemp(name) / "run") for name in FIGURES}


def test_smoke_runs_make_every_claim(smoke):
    ids = {name: [c["id"] for c in run.record["claims"]] for name, run in smoke.items()}
    assert ids["relu-interpolation"] == ["001.piecewise-exact[p=2]", "001.piecewise-exact[p=5]",
                                         "001.constant-identity", "001.interpolation-rate"]
    assert ids["universal-approximation"] == ["000.pinkus.nonpolynomial[relu]", "000.pinkus.nonpolynomial[tanh]",
                                              "000.pinkus.polynomial-fails"]
    assert ids["depth-efficiency"] == ["000.rolnick.gate", "000.rolnick.deep-count",
                                       "000.rolnick.shallow-exponential"]
    assert ids["homogeneity"] == ["001.homogeneity", "001.penalty.equivalence", "001.penalty.balanced",
                                  "001.homogeneity.conservation", "001.penalty.sparsity"]
    assert ids["rademacher"] == ["001.rademacher.bound[intermediate]", "001.rademacher.bound[final]",
                                 "001.rademacher.rate", "001.generalization.gap",
                                 "001.generalization.gap[shrinks]"]
    assert ids["sgd-estimator"] == [f"001.sgd.{kind}[{scheme}]" for scheme in sgd_estimator.SCHEMES
                                    for kind in ("unbiased", "variance")] + ["000.gd.descent",
                                                                             "000.sgd.generalization"]
    for name, run in smoke.items():
        check_run_directory(run, FIGURES[name])
    verdicts = {c["id"]: c["holds"] for run in smoke.values() for c in run.record["claims"]}
    for exact in ("001.piecewise-exact[p=2]", "001.piecewise-exact[p=5]", "001.constant-identity",
                  "000.pinkus.polynomial-fails", "000.rolnick.gate", "000.rolnick.deep-count", "001.homogeneity",
                  "001.rademacher.bound[intermediate]", "001.rademacher.bound[final]"):
        assert verdicts[exact], exact  # constructions and linear programs: exact at any scale


def test_same_seed_same_numbers(smoke, tmp_path):
    again = run_experiment("universal-approximation", "smoke", seed=0, out=tmp_path / "again")
    assert claim_numbers(again.record) == claim_numbers(smoke["universal-approximation"].record)


def test_random_knots_keep_their_order_and_the_interval():
    knots = relu_interpolation._random_knots(50, np.random.default_rng(0))
    assert knots[0] == -relu_interpolation.BOUND and knots[-1] == relu_interpolation.BOUND
    assert np.all(np.diff(knots) > 0)


def test_square_units_span_only_quadratics():
    fit = universal_approximation._fit({"activation": "square", "width": 40}, np.random.default_rng(1))
    assert fit["rank"] == 3


def test_minimal_width_is_the_first_width_reaching_the_target():
    errors = {2: 0.9, 4: 0.3, 8: 0.2, 16: 0.1}
    assert depth_efficiency.minimal_width(errors, 0.25) == 8
    assert depth_efficiency.minimal_width(errors, 0.05) is None


def test_the_predicted_variance_factors():
    assert sgd_estimator.predicted_factor("with-replacement", 8, 100) == pytest.approx(1 / 8)
    assert sgd_estimator.predicted_factor("without-replacement", 8, 100) == pytest.approx(92 / (8 * 99))
    assert sgd_estimator.predicted_factor("without-replacement", 100, 100) == 0  # the whole population
    # random size: E over a binomial size, close to the fixed size's factor for a large mean, larger (Jensen) always
    random_size = sgd_estimator.predicted_factor("random-size", 50, 1000)
    assert sgd_estimator.predicted_factor("without-replacement", 50, 1000) < random_size < 1.1 / 50
