"""ResNets → neural ODE at rate 1/L (seed 003): the helpers on closed forms, and the registered experiment."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from scipy.linalg import expm

from neurones.analysis.neural_ode import network_roughness
from neurones.lab.config import at_scale
from neurones.lab.experiments import ode_convergence as oc
from neurones.lab.runner import run_experiment
from neurones.nn.depth_functions import ConstantInDepth, GaussianProcessInDepth
from tests.lab.experiments.run_checks import check_run_directory, claim_numbers

FIGURES = ["distance-vs-depth", "trained-weights-vs-depth", "loss-vs-flow-time"]
CLAIMS = {"003.convergence[init]", "003.convergence[trained]", "003.weight-convergence[t=2]",
          "003.weight-convergence[t=4]"}


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    return run_experiment("ode-convergence", "smoke", seed=0, out=tmp_path_factory.mktemp("oc") / "run")


def test_config_needs_whole_steps_and_three_depths():
    assert at_scale(oc.ODEConvergenceConfig, "quick").steps == 100
    assert at_scale(oc.ODEConvergenceConfig, "full").steps == 200
    with pytest.raises(ValueError, match="whole number"):
        oc.ODEConvergenceConfig(lr=0.3, flow_time=1.0)
    with pytest.raises(ValueError, match="three increasing"):
        oc.ODEConvergenceConfig(depths=(8, 16))
    with pytest.raises(ValueError, match="three increasing"):
        oc.ODEConvergenceConfig(depths=(16, 8, 32))


def test_every_depth_samples_the_same_functions():
    config = at_scale(oc.ODEConvergenceConfig, "smoke")
    V, W = oc.weight_functions(config, np.random.default_rng(3))
    assert isinstance(V, GaussianProcessInDepth) and V.std == config.v_std and W.std == config.w_std
    coarse, fine = oc.build_network(config, 4, V, W), oc.build_network(config, 8, V, W)
    # block k of an L-block network sits at s = k/L: block 2 of 4 and block 4 of 8 both sit at s = 1/2.
    np.testing.assert_array_equal(coarse.blocks[1].V.data, fine.blocks[3].V.data)
    np.testing.assert_array_equal(coarse.blocks[3].W.data, fine.blocks[7].W.data)
    np.testing.assert_allclose(fine.blocks[3].V.data, V([0.5])[0], rtol=1e-6)
    constant = dataclasses.replace(config, weight_functions="constant")
    V, W = oc.weight_functions(constant, np.random.default_rng(3))
    assert isinstance(V, ConstantInDepth) and network_roughness(oc.build_network(constant, 8, V, W)) == 0


@pytest.mark.parametrize("depth", [4, 16, 64])
def test_linear_network_against_the_matrix_exponential(depth):
    # σ = identity and constant weights: h_{k+1} = (I + VW/L) h_k, so F_L(x) = (I + M/L)^L x, while the ODE
    # dH/ds = M H gives F_∞(x) = e^M x (M = VW). Euler's error is ‖((I + M/L)^L − e^M) x‖ ≈ ‖M² e^M x‖/(2L).
    smoke = at_scale(oc.ODEConvergenceConfig, "smoke")
    config = dataclasses.replace(smoke, activation="identity", weight_functions="constant",
                                 v_std=0.3, w_std=0.5, flow_time=0.0)
    rng = np.random.default_rng(1)
    V, W = oc.weight_functions(config, rng)
    X = rng.standard_normal((5, config.width))
    point = {"config": config, "depth": depth, "V": V, "W": W, "X": X, "Y": np.zeros_like(X)}
    measured = oc._train_at_depth(point, rng)
    M = V.value @ W.value
    exact = np.linalg.norm(X @ (np.linalg.matrix_power(np.eye(config.width) + M / depth, depth) - expm(M)).T,
                           axis=1).max()
    assert measured["distance_init"] == pytest.approx(exact, rel=1e-5)
    # The network's own weights, read as a function of depth, are the same constants (rounded to float32).
    assert measured["distance_own_ode"] == pytest.approx(exact, rel=1e-5)
    leading = np.linalg.norm(X @ (M @ M @ expm(M)).T, axis=1).max() / (2 * depth)
    assert exact == pytest.approx(leading, rel=2.0 / depth)
    assert measured["losses"].shape == (1,) and measured["model"].depth == depth


def test_fit_slopes_leaves_the_reference_out_of_the_trained_fit():
    depths = (8, 16, 32, 64)
    init = [3.0 / d for d in depths]
    trained = [5.0 / d**1.1 for d in depths[:-1]] + [1.0]  # the reference point would spoil any fit
    slopes = oc.fit_slopes(depths, init, trained)
    assert slopes["init"][0] == pytest.approx(-1.0, abs=1e-12) and slopes["init"][1] == pytest.approx(0, abs=1e-12)
    assert slopes["init"][2] == depths
    assert slopes["trained"][0] == pytest.approx(-1.1, abs=1e-12) and slopes["trained"][2] == depths[:-1]


def test_weight_gap_of_a_network_to_functions():
    config = dataclasses.replace(at_scale(oc.ODEConvergenceConfig, "smoke"), weight_functions="constant")
    V, W = oc.weight_functions(config, np.random.default_rng(2))
    model = oc.build_network(config, 8, V, W)
    assert oc.weight_gap(model, V, W) < 1e-6  # float32 rounding of the same weights

    def zero(s):
        return np.zeros((len(s), config.width, config.inner_width))

    def zero_W(s):
        return np.zeros((len(s), config.inner_width, config.width))

    expected = max(np.linalg.norm(V.value), np.linalg.norm(W.value))
    assert oc.weight_gap(model, zero, zero_W) == pytest.approx(expected, rel=1e-6)


def test_smoke_run(smoke):
    config = at_scale(oc.ODEConvergenceConfig, "smoke")
    record = check_run_directory(smoke, FIGURES)
    claims = {c["id"]: c for c in record["claims"]}
    assert set(claims) == CLAIMS
    assert all(c["prediction"] == "∈ [-1.3, -0.7]" for c in claims.values())
    rows = record["tables"]["depths"]
    assert [r["depth"] for r in rows] == list(config.depths)
    assert [r["reference"] for r in rows] == [False] * (len(rows) - 1) + [True]
    finest = rows[-1]
    assert finest["distance_trained"] == pytest.approx(finest["distance_own_ode"], rel=1e-12)
    assert finest["weight_gap_trained"] == 0
    for r in rows:
        assert r["steps"] == config.steps == 5 and r["final_loss"] < r["initial_loss"]
        assert r["distance_init"] > 0 and r["distance_trained"] > 0
    slopes = {s["state"]: s for s in record["tables"]["slopes"]}
    assert slopes["init"]["depths"] == "4,8,16" and slopes["trained"]["depths"] == "4,8"
    for state in ("init", "trained"):
        assert claims[f"003.convergence[{state}]"]["measured"] == pytest.approx(slopes[state]["slope"], rel=1e-12)
    distances = [r for r in record["tables"]["authors_weight_distances"] if r["iteration"] == 4]
    assert [r["depth"] for r in distances] == [2, 4, 8]
    weights = np.polyfit(np.log([2, 4, 8]), np.log([r["rms_distance"] for r in distances]), 1)[0]
    assert claims["003.weight-convergence[t=4]"]["measured"] == pytest.approx(weights, rel=1e-9)
    # The init slope refits from the table's distances.
    expected = np.polyfit(np.log(config.depths), np.log([r["distance_init"] for r in rows]), 1)[0]
    assert slopes["init"]["slope"] == pytest.approx(expected, rel=1e-9)


def test_same_seed_same_numbers(smoke, tmp_path):
    again = run_experiment("ode-convergence", "smoke", seed=0, out=tmp_path / "again")
    assert claim_numbers(again.record) == claim_numbers(smoke.record)
    other = run_experiment("ode-convergence", "smoke", seed=1, out=tmp_path / "other")
    assert claim_numbers(other.record) != claim_numbers(smoke.record)


def test_workers_give_the_same_numbers(smoke, tmp_path):
    parallel = run_experiment("ode-convergence", "smoke", seed=0, out=tmp_path / "parallel", workers=2)
    assert claim_numbers(parallel.record) == claim_numbers(smoke.record)


def test_authors_distance_is_zero_at_the_reference_depth():
    config = dataclasses.replace(at_scale(oc.ODEConvergenceConfig, "smoke"), authors_depths=(2, 8),
                                 authors_reference=8, authors_iterations=(1, 3))  # fmt: skip
    rows = oc.authors_weight_distances(config, np.random.default_rng(0))
    by_key = {(r["depth"], r["iteration"]): r["rms_distance"] for r in rows}
    assert by_key[(8, 1)] == by_key[(8, 3)] == 0.0  # the same network, trained the same way
    assert by_key[(2, 3)] > 0
