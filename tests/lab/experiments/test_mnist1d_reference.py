"""The MNIST-1D reference experiment at smoke scale: mechanics, claim ids, reproducibility."""

from __future__ import annotations

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from neurones.lab.config import at_scale
from neurones.lab.experiments.mnist1d_reference import THRESHOLDS, Mnist1dConfig, run
from neurones.lab.runner import run_experiment


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


def test_the_numbers_do_not_depend_on_workers_or_blas_threads(tmp_path):
    """The CNN's weights used to differ between one and two BLAS threads (the order of the sums inside a matrix
    product depends on the thread count; after 400 steps the test losses differ in the second digit): every task
    now runs with one BLAS thread, in whatever process."""

    def accuracies(name, workers):
        record = run_experiment(
            "mnist1d-reference", "smoke", overrides={"steps": 400}, out=tmp_path / name, workers=workers
        ).record
        return record["claims"], [(r["model"], r["test_accuracy"], r["test_loss"]) for r in record["tables"]["runs"]]

    with threadpool_limits(limits=2):  # the caller's BLAS setting does not reach the experiment
        two_threads = accuracies("two-threads", workers=1)
    assert accuracies("two-workers", workers=2) == two_threads
    assert accuracies("one-thread", workers=1) == two_threads
