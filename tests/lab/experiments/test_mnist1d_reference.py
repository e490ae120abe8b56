"""The MNIST-1D reference experiment at smoke scale: mechanics, claim ids, reproducibility."""

from __future__ import annotations

import numpy as np
import pytest

from neurones.lab.config import at_scale
from neurones.lab.experiments.mnist1d_reference import THRESHOLDS, Mnist1dConfig, run


@pytest.fixture(scope="module")
def smoke_result():
    return run(at_scale(Mnist1dConfig, "smoke"), np.random.default_rng(0))


def test_claims_are_the_acceptance_thresholds(smoke_result):
    claims = {claim.id: claim for claim in smoke_result.claims}
    assert set(claims) == {"mnist1d.mlp", "mnist1d.cnn"}
    for model, threshold in THRESHOLDS.items():
        claim = claims[f"mnist1d.{model}"]
        assert claim.prediction == f"≥ {threshold:g}"
        assert 0.0 <= claim.measured <= 1.0 and claim.stderr > 0


def test_one_run_per_model_and_seed(smoke_result):
    runs = smoke_result.tables["runs"]
    assert sorted(r["model"] for r in runs) == ["cnn", "mlp"]
    assert all(r["seconds"] > 0 and 0 <= r["test_accuracy"] <= 1 for r in runs)


def test_same_seed_same_accuracies(smoke_result):
    again = run(at_scale(Mnist1dConfig, "smoke"), np.random.default_rng(0))
    assert [r["test_accuracy"] for r in again.tables["runs"]] == [
        r["test_accuracy"] for r in smoke_result.tables["runs"]
    ]


def test_config_validation():
    with pytest.raises(ValueError):
        Mnist1dConfig(seeds=0)
