"""Roughness after training, smooth vs i.i.d. initialization (seed 003): helpers on known answers, and the run."""

from __future__ import annotations

import math

import numpy as np
import pytest

from neurones.lab.config import at_scale
from neurones.lab.experiments import ode_limit_synthetic as ols
from neurones.lab.runner import run_experiment
from neurones.nn.depth_functions import ConstantInDepth
from tests.lab.experiments.run_checks import check_run_directory, claim_numbers

CLAIMS = {"003.smooth-stays-smooth", "003.iid-stays-rough", "003.general-f[tanh]", "003.general-f[identity]"}


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    return run_experiment("ode-limit-synthetic", "smoke", seed=0, out=tmp_path_factory.mktemp("ols") / "run")


def _data(config, rng):
    shape = (config.samples, config.features)
    return rng.standard_normal(shape).astype(config.dtype), rng.standard_normal(shape).astype(config.dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_one_step_from_zero_V_keeps_every_layer_equal(dtype):
    # With V = 0 every h_k = x, so every V_k gets the same gradient and W none: after one step all layers are still
    # equal, exactly; the second step is the first to tell the layers apart.
    config = ols.ODELimitSyntheticConfig(depths=(2, 8), draws=2, steps=1, features=4, inner_width=6, samples=5,
                                         dtype=dtype)
    rng = np.random.default_rng(0)
    X, Y = _data(config, rng)
    W = ConstantInDepth((6, 4), rng=rng)
    one = ols.train_network(config, X, Y, 8, W, rng)
    assert one["roughness"] == one["roughness_V"] == one["roughness_W"] == 0.0
    assert one["final_loss"] < one["initial_loss"]
    two = ols.train_network(ols.ODELimitSyntheticConfig(**{**vars(config), "steps": 2}), X, Y, 8, W, rng)
    assert two["roughness_V"] > 0 and two["roughness_W"] > 0


def test_untrained_iid_roughness_is_that_of_independent_gaussian_matrices():
    # ‖W_{k+1} − W_k‖²_F ~ 2 χ²_{mq}: the norm is √(2mq) ± 1 (here 32); the max over 15 steps adds about two of that.
    config = ols.ODELimitSyntheticConfig(depths=(2, 16), draws=2, steps=0, features=16, inner_width=32)
    rng = np.random.default_rng(1)
    X, Y = _data(config, rng)
    untrained = ols.train_network(config, X, Y, 16, "iid", rng)
    assert untrained["roughness_V"] == 0.0
    assert math.sqrt(2 * 32 * 16) < untrained["roughness_W"] < math.sqrt(2 * 32 * 16) + 5
    assert untrained["initial_loss"] == untrained["final_loss"]
    smooth = ols.train_network(config, X, Y, 16, ConstantInDepth((32, 16), rng=rng), rng)
    assert smooth["roughness"] == 0.0


def test_slopes_of_exact_power_laws():
    depths = [2, 8, 32, 128]
    prefactors = np.array([[0.1], [0.3], [0.2]])
    slopes = ols.roughness_slopes(depths, prefactors / np.array(depths, dtype=np.float64))
    assert slopes["mean_slope"] == pytest.approx(-1.0, abs=1e-12)
    assert slopes["stderr"] == pytest.approx(0.0, abs=1e-12)
    assert slopes["slope_of_mean"] == pytest.approx(-1.0, abs=1e-12)
    np.testing.assert_allclose(slopes["per_draw"], -1.0, atol=1e-12)


def test_slopes_average_over_draws_with_their_standard_error():
    # Slopes −1 and 0: mean −½, standard error std([−1, 0])/√2 = ½.
    depths = np.array([4.0, 16.0, 64.0])
    slopes = ols.roughness_slopes(depths, np.stack([1 / depths, np.full(3, 5.0)]))
    assert slopes["mean_slope"] == pytest.approx(-0.5, abs=1e-12)
    assert slopes["stderr"] == pytest.approx(0.5, abs=1e-12)


@pytest.mark.parametrize("changes", [{"depths": (4,)}, {"depths": (1, 4)}, {"draws": 1}, {"lr": 0.0}])
def test_config_rejects_what_cannot_give_a_slope(changes):
    with pytest.raises(ValueError):
        ols.ODELimitSyntheticConfig(**changes)


def test_smoke_run(smoke):
    config = at_scale(ols.ODELimitSyntheticConfig, "smoke")
    record = check_run_directory(smoke, ["roughness-vs-depth"])
    claims = {c["id"]: c for c in record["claims"]}
    assert set(claims) == CLAIMS and len(record["claims"]) == 4
    assert claims["003.smooth-stays-smooth"]["prediction"] == "∈ [-1.2, -0.8]"
    assert claims["003.iid-stays-rough"]["prediction"] == "≥ -0.2"
    rows = record["tables"]["roughness"]
    assert [(r["init"], r["activation"], r["depth"], r["draw"]) for r in rows] == [
        (init, activation, depth, draw)
        for draw in range(config.draws)
        for init, activation in (("smooth", "gelu"), ("iid", "gelu"), ("smooth", "tanh"), ("smooth", "identity"))
        for depth in config.depths
    ]
    for row in rows:
        assert row["roughness"] == max(row["roughness_V"], row["roughness_W"]) > 0
        assert row["depth_times_roughness"] == pytest.approx(row["depth"] * row["roughness"], rel=1e-12)
        assert row["final_loss"] < row["initial_loss"]
    slopes = {row["init"]: row for row in record["tables"]["slopes"]}
    for init, claim_id in (("smooth", "003.smooth-stays-smooth"), ("iid", "003.iid-stays-rough")):
        assert (claims[claim_id]["measured"], claims[claim_id]["stderr"]) == (
            slopes[init]["mean_slope"], slopes[init]["stderr"])
        per_draw = [r["slope"] for r in record["tables"]["slopes_per_draw"] if r["init"] == init]
        assert len(per_draw) == config.draws
        assert np.mean(per_draw) == pytest.approx(slopes[init]["mean_slope"], rel=1e-12)
    # Even five steps separate the two: smooth roughness is orders of magnitude below the i.i.d. one.
    summary = {(r["init"], r["depth"]): r["mean_roughness"] for r in record["tables"]["roughness_summary"]}
    assert all(summary[("smooth", d)] < 1e-2 * summary[("iid", d)] for d in config.depths)


def test_same_seed_same_numbers(smoke, tmp_path):
    again = run_experiment("ode-limit-synthetic", "smoke", seed=0, out=tmp_path / "again")
    assert claim_numbers(again.record) == claim_numbers(smoke.record)
    other = run_experiment("ode-limit-synthetic", "smoke", seed=1, out=tmp_path / "other")
    assert claim_numbers(other.record) != claim_numbers(smoke.record)
