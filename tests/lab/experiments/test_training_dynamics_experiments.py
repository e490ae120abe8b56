"""The experiments of seed 002 after initialization (issue 19): smoke runs, claims and their pieces."""

from __future__ import annotations

import numpy as np
import pytest

import neurones as nr
import neurones.functional as F
from neurones.lab.experiments import dying_relu
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
                                                   "002.critical.onset", "002.critical.control"]
    roles = {(r["role"], r["onset"], r["length"]) for r in record["tables"]["runs"]}
    assert ("onset", 2, 1) in roles and ("control", 0, 2) in roles and ("duration", 0, 0) in roles
