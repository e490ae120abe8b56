"""resnet-depth-training (seed 004, §2.4) at smoke scale: the runs, the paired claims, reproducibility."""

from __future__ import annotations

import numpy as np
import pytest

from neurones.lab.config import at_scale
from neurones.lab.experiments import resnet_depth_training as rdt
from neurones.lab.runner import run_experiment
from tests.lab.experiments.run_checks import check_run_directory, claim_numbers


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    return run_experiment("resnet-depth-training", "smoke", seed=0, out=tmp_path_factory.mktemp("rdt") / "run")


def test_smoke_run(smoke):
    config = at_scale(rdt.DepthTrainingConfig, "smoke")
    record = check_run_directory(smoke, ["test-accuracy"])
    runs = record["tables"]["runs"]
    assert len(runs) == config.seeds * len(rdt.BETAS)
    assert all(0 <= r["test_accuracy"] <= 1 and r["diverged_at"] is None for r in runs)
    claims = {c["id"]: c for c in record["claims"]}
    assert set(claims) == {"004.training.beta[quarter-below-half]", "004.training.beta[half-not-below-one]"}
    accuracy = {(r["seed"], r["beta"]): r["test_accuracy"] for r in runs}
    seeds = sorted({r["seed"] for r in runs}, key=[r["seed"] for r in runs].index)
    expected = np.mean([accuracy[(s, 0.5)] - accuracy[(s, 0.25)] for s in seeds])
    assert claims["004.training.beta[quarter-below-half]"]["measured"] == pytest.approx(expected)
    # β = ¼ explodes at initialization: its initial loss is far above the others'.
    initial = {r["beta"]: r["initial_test_loss"] for r in runs if r["seed"] == seeds[0]}
    assert initial[0.25] > initial[0.5]


def test_same_seed_same_numbers(smoke, tmp_path):
    again = run_experiment("resnet-depth-training", "smoke", seed=0, out=tmp_path / "again")
    assert claim_numbers(again.record) == claim_numbers(smoke.record)


def test_config_validation():
    with pytest.raises(ValueError, match="at least 2 seeds"):
        rdt.DepthTrainingConfig(seeds=1)
