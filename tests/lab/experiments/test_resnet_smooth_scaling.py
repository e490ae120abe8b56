"""resnet-smooth-scaling (Marion et al. 2022): smooth weights, the three regimes, the smoke run."""

from __future__ import annotations

import numpy as np
import pytest

from neurones.lab.experiments import resnet_smooth_scaling as rss
from neurones.lab.runner import run_experiment
from tests.lab.experiments.run_checks import check_run_directory, claim_numbers


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    return run_experiment("resnet-smooth-scaling", "smoke", seed=0, out=tmp_path_factory.mktemp("rss") / "run")


def test_beta_one_is_the_euler_scheme_of_a_fixed_ode():
    """At β = 1 the ratio converges as L grows (the ODE limit): doubling a deep L barely changes one network's
    ratio when the same weight functions are sampled on both grids."""
    config = rss.SmoothScalingConfig(depths=(64, 128, 256), draws=3, width=8, batch=2)
    shallow = rss._state_ratios({"config": config, "depth": 128, "beta": 1.0}, np.random.default_rng(5))
    deep = rss._state_ratios({"config": config, "depth": 256, "beta": 1.0}, np.random.default_rng(5))
    np.testing.assert_allclose(deep["ratios"], shallow["ratios"], rtol=0.02)


def test_smoke_run(smoke):
    record = check_run_directory(smoke, ["median-vs-depth", "hurst-heat-map"])
    heat = record["tables"]["hurst_heat_map"]
    assert [(r["hurst"], r["beta"]) for r in heat] == [(0.5, 0.5), (0.5, 1.0), (0.75, 0.5), (0.75, 1.0)]
    assert [c["id"] for c in record["claims"]] == ["004.smooth.identity", "004.smooth.critical", "004.smooth.explosion"]
    medians = {(r["beta"], r["depth"]): r["median_ratio"] for r in record["tables"]["medians"]}
    assert medians[(2.0, 64)] < medians[(2.0, 4)]  # identity as L grows
    assert medians[(0.5, 64)] > medians[(1.0, 64)] > medians[(2.0, 64)]


def test_same_seed_same_numbers(smoke, tmp_path):
    again = run_experiment("resnet-smooth-scaling", "smoke", seed=0, out=tmp_path / "again")
    assert claim_numbers(again.record) == claim_numbers(smoke.record)


def test_fractional_noise_has_the_covariance_of_fbm_increments():
    noise = rss.fractional_noise(0.75, 64, 20_000, np.random.default_rng(0))
    assert noise.var() == pytest.approx(1.0, rel=0.02)
    lag_one = np.mean(noise[:-1] * noise[1:])
    assert lag_one == pytest.approx(0.5 * (2**1.5 - 2), abs=0.01)  # γ(1) = ½(2^{2H} − 2)
    assert np.var(noise.sum(axis=0)) == pytest.approx(64**1.5, rel=0.03)  # Var B_H(L) = L^{2H}
    white = rss.fractional_noise(0.5, 16, 20_000, np.random.default_rng(1))
    assert abs(np.mean(white[:-1] * white[1:])) < 0.02  # H = ½: independent increments
