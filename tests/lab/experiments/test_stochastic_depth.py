"""Stochastic depth (seed 002, Exercise 6): the closed form, the Monte Carlo count, and the registered experiment."""

import numpy as np
import pytest

from neurones.errors import ConfigError
from neurones.lab.config import at_scale
from neurones.lab.experiments import stochastic_depth as sd
from neurones.lab.runner import run_experiment
from neurones.nn.residual import expected_depth, linear_decay_survival


def test_the_exercise_answer():
    assert expected_depth(54, 0.5) == 40.25
    assert expected_depth(10, 1.0) == 10.0
    assert expected_depth(3, 0.0) == 1.0  # p = 2/3, 1/3, 0


def _exact_moments(blocks, final_survival):
    survival = np.asarray(linear_decay_survival(blocks, final_survival))
    return survival.sum(), np.sum(survival * (1 - survival))


def test_layer_counts_match_the_bernoulli_moments():
    passes = 4000
    counts = sd.count_active_layers(20, 0.25, passes, np.random.default_rng(0))
    assert counts.shape == (passes,) and counts.dtype == np.int64
    assert counts.min() >= 0 and counts.max() <= 20
    mean, variance = _exact_moments(20, 0.25)
    assert abs(counts.mean() - mean) <= 4 * np.sqrt(variance / passes)
    assert counts.var() == pytest.approx(variance, rel=0.1)


def test_direct_counts_match_the_bernoulli_moments():
    passes = 40_000
    counts = sd.bernoulli_block_counts(54, 0.5, passes, np.random.default_rng(0))
    assert counts.shape == (passes,) and counts.min() >= 0 and counts.max() <= 54
    mean, variance = _exact_moments(54, 0.5)
    assert abs(counts.mean() - mean) <= 4 * np.sqrt(variance / passes)
    assert counts.var() == pytest.approx(variance, rel=0.05)


def test_certain_and_impossible_blocks():
    for count in (sd.count_active_layers, sd.bernoulli_block_counts):
        assert np.all(count(7, 1.0, 50, np.random.default_rng(0)) == 7)
        assert np.all(count(1, 0.0, 50, np.random.default_rng(0)) == 0)


def test_chunking_does_not_change_the_draws(monkeypatch):
    whole = sd.bernoulli_block_counts(54, 0.5, 1000, np.random.default_rng(4))
    monkeypatch.setattr(sd, "_CHUNK_ELEMENTS", 54 * 7)
    assert np.array_equal(sd.bernoulli_block_counts(54, 0.5, 1000, np.random.default_rng(4)), whole)


def test_smoke_run(tmp_path):
    run = run_experiment("stochastic-depth", "smoke", seed=0, out=tmp_path / "run")
    (claim,) = run.record["claims"]
    assert claim["id"] == "002.ex6"
    assert claim["prediction"] == "= 40.25"
    assert claim["holds"] is True
    assert abs(claim["measured"] - 40.25) <= 3 * claim["stderr"]
    table = run.record["tables"]["expected_depth_grid"]
    assert [(row["blocks"], row["final_survival"]) for row in table] == [(10, 0.5), (10, 1.0), (54, 0.5), (54, 1.0)]
    for row in table:
        assert row["predicted"] == expected_depth(row["blocks"], row["final_survival"])
    certain = [row for row in table if row["final_survival"] == 1.0]
    assert all(row["measured"] == row["blocks"] and row["stderr"] == 0 for row in certain)
    assert run.record["figures"] == ["figures/active-blocks.png"]
    assert "40.25" in run.captions["figures/active-blocks.png"]


def test_workers_give_the_same_numbers(tmp_path):
    def numbers(workers):
        record = run_experiment(
            "stochastic-depth", "smoke", seed=9, out=tmp_path / str(workers), workers=workers
        ).record
        return record["claims"], record["tables"]

    assert numbers(2) == numbers(1)


def test_the_claim_is_exact_at_every_scale():
    for scale in ("smoke", "quick", "full"):
        config = at_scale(sd.StochasticDepthConfig, scale)
        assert (config.blocks, config.final_survival) == (54, 0.5)


def test_invalid_configs(tmp_path):
    with pytest.raises(ConfigError, match="survival probabilities must lie in"):
        run_experiment("stochastic-depth", "smoke", overrides={"final_survival": "1.5"}, out=tmp_path / "a")
    with pytest.raises(ConfigError, match="at least 2 passes"):
        run_experiment("stochastic-depth", "smoke", overrides={"passes": "1"}, out=tmp_path / "b")
