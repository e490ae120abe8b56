"""The experiments of seed 002 after initialization (issue 19): smoke runs, claims and their pieces."""

from __future__ import annotations

import numpy as np
import pytest

import neurones as nr
import neurones.functional as F
from neurones.lab.config import at_scale
from neurones.lab.experiments import critical_periods, dying_relu, early_late_dropout, resnet_annex
from neurones.lab.runner import run_experiment
from tests.lab.experiments.run_checks import check_run_directory, claim_numbers


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    return run_experiment("dying-relu", "smoke", seed=0, out=tmp_path_factory.mktemp("dying-relu") / "run")


def test_fisher_information_smoke_run(tmp_path):
    run = run_experiment("fisher-information", "smoke", seed=0, out=tmp_path / "run")
    record = check_run_directory(run, ["fisher-trace"])
    assert [c["id"] for c in record["claims"]] == ["002.fisher.kl-quadratic", "002.fisher.trace-peak[position]",
                                                   "002.fisher.trace-peak[decline]", "002.fisher.deficit-layers"]
    assert record["claims"][0]["holds"]  # the KL's curvature is exact to O(ε) at any scale
    assert {row["layer"] for row in record["tables"]["layer_shares"]} == {"1", "3", "5", "8"}


def test_dying_relu_smoke_run(smoke, tmp_path):
    record = check_run_directory(smoke, ["dead-units"])
    assert [c["id"] for c in record["claims"]] == ["002.dying-relu.half", "002.dying-relu.leaky"]
    assert record["claims"][0]["holds"]  # symmetric pre-activations at initialization, at any scale
    again = run_experiment("dying-relu", "smoke", seed=0, out=tmp_path / "again")
    assert claim_numbers(again.record) == claim_numbers(smoke.record)


def test_a_dead_unit_gets_no_gradient_and_a_leaky_one_does():
    rng = np.random.default_rng(0)
    relu, leaky = dying_relu._network("relu", rng), dying_relu._network("leaky", rng)
    for model in (relu, leaky):
        model[0].bias.data[0] = -1e3  # the first unit never fires
    outcome = {}
    for name, model in (("relu", relu), ("leaky", leaky)):
        x = nr.tensor(rng.standard_normal((16, 40)).astype(np.float32))
        F.cross_entropy(model(x), nr.tensor(rng.integers(0, 10, 16))).backward()
        outcome[name] = np.all(model[0].weight.grad.data[0] == 0)
    assert outcome == {"relu": True, "leaky": False}


def test_dropout_dynamics_smoke_run(tmp_path):
    run = run_experiment("dropout-dynamics", "smoke", seed=0, out=tmp_path / "run")
    record = check_run_directory(run, ["gradient-statistics"])
    assert [c["id"] for c in record["claims"]] == ["002.dropout.grad-norm", "002.dropout.displacement",
                                                   "002.dropout.direction-variance"]
    rows = record["tables"]["dynamics"]
    assert {row["dropout"] for row in rows} == {0.0, 0.1}
    assert all(row["displacement"] == 0 for row in rows if row["step"] == 0)  # measured before the first step


def test_stochastic_depth_training_smoke_run(tmp_path):
    run = run_experiment("stochastic-depth-training", "smoke", seed=0, out=tmp_path / "run")
    record = check_run_directory(run, ["step-times-and-gaps"])
    assert [c["id"] for c in record["claims"]] == ["002.sd.speedup", "002.sd.overfit", "002.sd.eval-scaling"]
    assert record["claims"][2]["holds"]  # the evaluation rescaling is an exact expectation


def test_critical_periods_smoke_run(tmp_path):
    run = run_experiment("critical-periods", "smoke", seed=0, out=tmp_path / "run")
    record = check_run_directory(run, ["accuracy-against-deficit"])
    assert [c["id"] for c in record["claims"]] == ["002.critical.duration[drop]", "002.critical.duration[spearman]",
                                                   "002.critical.onset", "002.critical.control",
                                                   "002.critical.weight-decay[0]", "002.critical.weight-decay[0.0005]",
                                                   "002.critical.lr-restart"]
    roles = {(r["role"], r["onset"], r["length"], r["weight_decay"], r["restart"]) for r in record["tables"]["runs"]}
    assert {("onset", 2, 1, 5e-4, False), ("control", 0, 2, 5e-4, False), ("duration", 0, 0, 5e-4, False),
            ("weight-decay", 0, 2, 0.0, False), ("restart", 0, 2, 5e-4, True)} <= roles
    assert [row["weight_decay"] for row in record["tables"]["weight_decay"]] == [0.0, 5e-4]


def test_the_quick_critical_periods_run_makes_no_weight_decay_or_restart_claim():
    config = at_scale(critical_periods.CriticalPeriodsConfig, "quick")
    assert config.weight_decays == (critical_periods.WEIGHT_DECAY,) and not config.restart
    with pytest.raises(ValueError, match="weight_decays"):
        critical_periods.CriticalPeriodsConfig(weight_decays=(0.0, 1e-3))


def test_early_late_dropout_smoke_run(tmp_path):
    run = run_experiment("early-late-dropout", "smoke", seed=0, out=tmp_path / "run")
    record = check_run_directory(run, ["schedules"])
    assert [c["id"] for c in record["claims"]] == [
        "002.early-dropout.underfit[train-loss]", "002.early-dropout.underfit[test-accuracy]",
        "002.late-dropout.overfit[late]", "002.late-dropout.overfit[standard]", "002.dropout.regularizes"]
    rows = record["tables"]["runs"]
    assert {(r["regime"], r["schedule"]) for r in rows} == {
        (regime, schedule) for regime in ("underfit", "overfit") for schedule in early_late_dropout.SCHEDULES}
    assert len(rows) == 2 * 4 * 2  # regimes × schedules × seeds


def test_early_late_dropout_pairs_each_schedule_with_none_of_the_same_initialization():
    runs = [{"regime": "overfit", "schedule": s, "init_seed": seed, "test_accuracy": seed + value}
            for seed in (1, 2) for s, value in (("none", 0.5), ("late", 0.75))]
    assert early_late_dropout._paired(runs, "overfit", "test_accuracy", "late") == [0.25, 0.25]


def test_resnet_annex_smoke_run(tmp_path):
    run = run_experiment("resnet-annex", "smoke", seed=0, out=tmp_path / "run")
    record = check_run_directory(run, ["gradients-surfaces-isometry"])
    assert [c["id"] for c in record["claims"]] == [
        "002.resnet.gradient-correlation[plain]", "002.resnet.gradient-correlation[residual-bn]",
        "002.resnet.gradient-correlation[residual-scaled]", "002.resnet.shattering-rate[plain]",
        "002.resnet.shattering-rate[residual-bn]", "002.resnet.surface-convexity",
        "002.init-replaces-skips.isometry[orthogonal]", "002.init-replaces-skips.isometry[gaussian]",
        "002.init-replaces-skips.trainability[vs-residual]", "002.init-replaces-skips.trainability[vs-gaussian]"]
    assert len(record["tables"]["curvature"]) == 2 * len(resnet_annex.PLANE_POINTS)


@pytest.mark.parametrize("kind", resnet_annex.INIT_KINDS)
def test_the_jacobian_spread_matches_the_singular_values_of_the_engines_jacobian(kind):
    """The hand-built product of layer Jacobians is the Jacobian of the hidden stack, by central differences."""
    model = resnet_annex._init_network(kind, 3, 6, np.random.default_rng(1)).double()
    x = np.random.default_rng(2).standard_normal((1, 40))
    hidden = nr.nn.Sequential(*list(model)[1:-1])
    with nr.no_grad():
        h0 = 0.5 * model[0](nr.tensor(x)).data[0]
        step = 1e-6
        columns = [(hidden(nr.tensor((h0 + step * e)[None])).data[0] - hidden(nr.tensor((h0 - step * e)[None])).data[0])
                   / (2 * step) for e in np.eye(6)]
    expected = np.std(np.log(np.linalg.svd(np.array(columns).T, compute_uv=False)))
    assert resnet_annex._jacobian_log_spread(model, x, 0.5) == pytest.approx(expected, rel=1e-6)


def test_tiny_pre_activations_make_the_orthogonal_network_isometric_and_leave_the_gaussian_one_spread():
    """With h₀ → 0 every tanh′ → 1: the Jacobian tends to the product of the weights, orthogonal (all singular
    values 1) or Gaussian (a spread of a product of random matrices)."""
    x = np.random.default_rng(2).standard_normal((2, 40))
    spreads = {kind: resnet_annex._jacobian_log_spread(
        resnet_annex._init_network(kind, 6, 16, np.random.default_rng(0)).double(), x, 1e-6)
        for kind in ("orthogonal", "gaussian")}
    assert spreads["orthogonal"] < 1e-6  # the weights are orthogonal to float32 precision
    assert spreads["gaussian"] > 0.5
