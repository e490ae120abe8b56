"""The kernel-regime experiments (seed 000 §6): smoke runs, their claims and tables, and the pieces they rest on."""

from __future__ import annotations

import numpy as np
import pytest

import neurones as nr
from neurones import nn
from neurones.analysis.ntk import sphere_points
from neurones.lab.config import at_scale
from neurones.lab.experiments import ntk_kernel_gd, ntk_linearization, ntk_positive_definite, ntk_width
from neurones.lab.registry import get_experiment
from neurones.lab.runner import run_experiment
from tests.lab.experiments.run_checks import check_run_directory, claim_numbers

NAMES = ["ntk-kernel-gd", "ntk-width", "ntk-positive-definite", "ntk-linearization", "ntk-mnist1d"]


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    return {name: run_experiment(name, "smoke", seed=0, out=tmp_path_factory.mktemp(name) / "run") for name in NAMES}


def test_every_claim_of_the_issue_is_present(smoke):
    ids = {name: [c["id"] for c in run.record["claims"]] for name, run in smoke.items()}
    assert ids["ntk-kernel-gd"] == ["000.ntk.linear-kernel-gd", "000.ntk.linear-rank-deficient",
                                    "000.ntk.function-dynamics"]
    assert ids["ntk-width"] == ["000.ntk.init-concentration", "000.ntk.analytic", "000.ntk.constant-in-training",
                                "000.ntk.constant-in-training[1/width]", "000.nngp.covariance", "000.nngp.gaussian"]
    assert ids["ntk-positive-definite"] == ["000.ntk.positive-definite[relu]", "000.ntk.positive-definite[erf]",
                                            "000.ntk.polynomial-degenerate"]
    assert ids["ntk-linearization"] == [
        f"000.ntk.{kind}[depth={depth}]" for depth in (1, 2)
        for kind in ("linearized-training", "analytic-predictor", "weights-move-little")
    ]
    assert ids["ntk-mnist1d"] == ["000.ntk.kernel-accuracy", "000.ntk.cntk-accuracy"]
    figures = {"ntk-kernel-gd": ["linear-kernel-gd", "one-step-error"],
               "ntk-width": ["kernel-on-the-circle", "concentration", "kernel-spread"],
               "ntk-positive-definite": ["spectra"], "ntk-linearization": ["trajectories", "gaps"],
               "ntk-mnist1d": ["accuracies"]}
    for name, run in smoke.items():
        check_run_directory(run, figures[name])


def test_the_exact_claims_hold_even_at_smoke_scale(smoke):
    verdicts = {c["id"]: c for run in smoke.values() for c in run.record["claims"]}
    for claim_id in ("000.ntk.linear-kernel-gd", "000.ntk.linear-rank-deficient", "000.ntk.positive-definite[relu]",
                     "000.ntk.positive-definite[erf]", "000.ntk.polynomial-degenerate"):
        assert verdicts[claim_id]["holds"], claim_id
    assert verdicts["000.ntk.linear-kernel-gd"]["measured"] < 1e-12
    assert verdicts["000.ntk.function-dynamics"]["measured"] == pytest.approx(1.0, abs=0.05)  # smooth network


def test_same_seed_same_numbers(smoke, tmp_path):
    again = run_experiment("ntk-width", "smoke", seed=0, out=tmp_path / "again")
    assert claim_numbers(again.record) == claim_numbers(smoke["ntk-width"].record)


def test_the_experiments_are_registered_with_quick_scales_and_a_full_protocol():
    for name in NAMES:
        config = get_experiment(name).config
        assert at_scale(config, "full") != at_scale(config, "quick") or name == "ntk-positive-definite"
    assert at_scale(ntk_width.NTKWidthConfig, "full").widths[-1] == 8192  # Jacot et al.'s widths, up to 8192


def test_rank_deficient_regression_reaches_the_projection_of_the_residual():
    outcome = ntk_kernel_gd._linear_regression(12, 4, 400, np.random.default_rng(0))
    assert outcome["loss"][-1] == pytest.approx(outcome["floor"], rel=1e-9)
    np.testing.assert_allclose(outcome["residuals"], outcome["predicted"], atol=1e-12)


def test_the_conditional_covariance_is_the_mean_of_the_output_products():
    """E[f(x)f(x′) | last hidden layer] = Σ̂: averaging f f′ over many readouts of one network gives Σ̂."""
    rng = np.random.default_rng(1)
    net = ntk_width._network(32, rng)
    x = ntk_width._circle(np.linspace(0, np.pi, 4))
    expected = ntk_width._conditional_covariance(net, x)
    hidden = nn.Sequential(*list(net)[:-1])(nr.tensor(x)).data
    readout = net[-1]
    weights, biases = rng.standard_normal((200_000, 32)), rng.standard_normal(200_000)
    outputs = readout.weight_multiplier * hidden @ weights.T + readout.bias_multiplier * biases
    np.testing.assert_allclose(outputs @ outputs.T / 200_000, expected, rtol=0.02)


def test_the_displacement_prediction_counts_the_parameters():
    assert ntk_linearization._parameter_count(10, 1) == 4 * 10 + 10 + 10 + 1
    assert ntk_linearization._parameter_count(10, 2) == 4 * 10 + 10 + 10 * 10 + 10 + 10 + 1


def test_the_identity_kernel_has_the_rank_of_the_inputs():
    x = sphere_points(20, 5, np.random.default_rng(2))
    spectrum = ntk_positive_definite._spectrum(x, 2, "identity")
    assert np.all(spectrum[:5] > 1e-3) and np.all(np.abs(spectrum[5:]) < 1e-12)
