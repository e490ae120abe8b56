"""The ODE-like ResNet on MNIST-1D (seed 003, experiment 5): the networks, one SGD step, and the registered run."""

from __future__ import annotations

import math

import numpy as np
import pytest

import neurones as nr
from neurones import functional as F
from neurones.analysis.neural_ode import network_roughness, roughness
from neurones.lab.config import at_scale
from neurones.lab.experiments import ode_mnist1d as om
from neurones.lab.runner import run_experiment
from neurones.optim.sgd import SGD
from tests.lab.experiments.run_checks import check_run_directory, claim_numbers

FIGURES = ["roughness", "weight-coefficients", "training-curves", "test-accuracy"]
CLAIMS = {"003.mnist1d-smooth", "003.mnist1d-smooth[rate]", "003.mnist1d-smooth.accuracy"}
SMALL = om.OdeMnist1dConfig(depths=(4, 8), seeds=1, steps=1, width=12, inner_width=6, weight_std=0.5)


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    return run_experiment("ode-mnist1d", "smoke", seed=0, out=tmp_path_factory.mktemp("ode-mnist1d") / "run")


def test_smooth_networks_of_every_depth_discretize_the_same_ode():
    shallow, deep = (om.build_network("smooth", depth, SMALL, seed=3) for depth in (4, 8))
    for net in (shallow, deep):
        V, W = net.stacked_weights()
        assert not V.any() and network_roughness(net) == 0.0
        np.testing.assert_array_equal(W, np.broadcast_to(W[0], W.shape))
        assert net.A.requires_grad and net.B.requires_grad and net.A.shape == (12, 40) and net.B.shape == (10, 12)
    np.testing.assert_array_equal(shallow.stacked_weights()[1][0], deep.stacked_weights()[1][0])
    np.testing.assert_array_equal(shallow.A.data, deep.A.data)
    np.testing.assert_array_equal(shallow.B.data, deep.B.data)


def test_iid_networks_share_the_embedding_and_are_rough():
    config = om.OdeMnist1dConfig(width=64, inner_width=32, weight_std=0.125)
    smooth, iid = (om.build_network(init, 64, config, seed=5) for init in om.INITS)
    np.testing.assert_array_equal(smooth.A.data, iid.A.data)
    V, W = iid.stacked_weights()
    assert not V.any()
    # ‖W_(k+1) − W_k‖_F² is std²·2·m·q times a χ² of m·q = 2048 degrees of freedom: within a few % of its mean.
    steps = np.linalg.norm(np.diff(W.astype(np.float64), axis=0).reshape(63, -1), axis=1)
    assert steps.mean() == pytest.approx(0.125 * math.sqrt(2 * 32 * 64), rel=0.02)
    assert network_roughness(iid) == pytest.approx(steps.max(), rel=1e-6)
    with pytest.raises(ValueError, match="init"):
        om.build_network("gp", 4, config, seed=0)


def test_one_sgd_step_from_v_zero_keeps_every_layer_equal():
    # With V = 0 every h_k equals h_0 and the backward passes g through every block unchanged, so all V_k get the
    # same gradient (1/L) gᵀσ(W h_0) and all W_k none: after a step of lr·L the layers are still exactly equal.
    net = om.build_network("smooth", 8, SMALL, seed=1)
    x = nr.randn(7, 40, rng=2)
    y = nr.tensor(np.arange(7) % 10)
    optimizer = SGD(net.gradient_flow_groups(0.3), lr=0.3)
    W0 = net.stacked_weights()[1][0].astype(np.float64)
    A0, B0 = net.A.data.astype(np.float64), net.B.data.astype(np.float64)
    loss = F.cross_entropy(net(x), y)
    loss.backward()
    grad_V = net.blocks[0].V.grad.data.astype(np.float64)
    optimizer.step()
    V, W = net.stacked_weights()
    assert roughness(V) == 0.0 and roughness(W) == 0.0
    np.testing.assert_array_equal(W[0], W0.astype(np.float32))
    # The logits are B h_0 + B (1/L) Σ_k V_k σ(W h_0), so ∂R/∂V_k = (1/L) Bᵀ p σ(W h_0)ᵀ with p = ∂R/∂logits.
    h0 = x.data.astype(np.float64) @ A0.T
    logits = h0 @ B0.T
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    p[np.arange(7), y.data] -= 1
    p /= 7
    r = h0 @ W0.T
    r = r * 0.5 * (1 + np.vectorize(math.erf)(r / math.sqrt(2)))
    expected_grad = (p @ B0).T @ r / 8
    np.testing.assert_allclose(grad_V, expected_grad, rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(V[3], -0.3 * 8 * expected_grad, rtol=1e-4, atol=1e-7)  # the residual rate lr·L


def test_rms_step_and_roughness_on_known_stacks():
    ramp = np.arange(5, dtype=np.float64)[:, None, None] * np.full((1, 2, 3), 0.5)  # each step has norm 0.5·√6
    assert om.rms_step(ramp) == pytest.approx(0.5 * math.sqrt(6)) == pytest.approx(roughness(ramp))
    jump = np.zeros((5, 2, 2))
    jump[3:] = 1.0  # one step of norm 2 among four
    assert roughness(jump) == pytest.approx(2.0) and om.rms_step(jump) == pytest.approx(1.0)


def test_config_validation():
    with pytest.raises(ValueError, match="two different depths"):
        om.OdeMnist1dConfig(depths=(16, 16))
    with pytest.raises(ValueError, match="two different depths"):
        om.OdeMnist1dConfig(depths=(1, 16))
    with pytest.raises(ValueError, match="positive"):
        om.OdeMnist1dConfig(lr=0.0)
    with pytest.raises(ValueError, match="≥ 1"):
        om.OdeMnist1dConfig(seeds=0)
    for scale in ("full", "quick", "smoke"):
        config = at_scale(om.OdeMnist1dConfig, scale)
        assert config.steps % config.eval_every == 0
    quick, full = (at_scale(om.OdeMnist1dConfig, scale) for scale in ("quick", "full"))
    assert set(quick.depths) == {16, 64} == set(full.depths)


def _means(rows, init, depth, key):
    return float(np.mean([r[key] for r in rows if r["init"] == init and r["depth"] == depth]))


def test_smoke_run(smoke):
    config = at_scale(om.OdeMnist1dConfig, "smoke")
    record = check_run_directory(smoke, FIGURES)
    claims = {c["id"]: c for c in record["claims"]}
    assert set(claims) == CLAIMS
    assert claims["003.mnist1d-smooth"]["prediction"] == "≥ 5"
    assert claims["003.mnist1d-smooth[rate]"]["rule"] == {"kind": "band", "low": 0.25, "high": 1.0}  # L = 4, 8
    runs = record["tables"]["runs"]
    assert [(r["init"], r["depth"]) for r in runs] == [(i, d) for _ in range(2) for i in om.INITS for d in (4, 8)]
    assert len({r["seed"] for r in runs}) == config.seeds
    for r in runs:
        assert r["steps_done"] == config.steps and 0 <= r["test_accuracy"] <= 1 and r["seconds"] > 0
        assert (r["roughness_at_init"] == 0) == (r["init"] == "smooth")
        assert r["roughness"] == max(r["roughness_V"], r["roughness_W"]) >= r["rms_step"] > 0
    # The claims are ratios of the per-seed means in the runs table.
    assert claims["003.mnist1d-smooth"]["measured"] == pytest.approx(
        _means(runs, "iid", 8, "roughness") / _means(runs, "smooth", 8, "roughness"), rel=1e-12)
    assert claims["003.mnist1d-smooth[rate]"]["measured"] == pytest.approx(
        _means(runs, "smooth", 8, "roughness") / _means(runs, "smooth", 4, "roughness"), rel=1e-12)
    assert all(c["stderr"] > 0 for c in claims.values())
    summary = record["tables"]["summary"]
    assert [(s["init"], s["depth"]) for s in summary] == [(i, d) for i in om.INITS for d in (4, 8)]
    for s in summary:
        assert s["mean_test_accuracy"] == pytest.approx(_means(runs, s["init"], s["depth"], "test_accuracy"))
    curves = record["tables"]["curves"]
    assert len(curves) == len(runs) * (config.steps // config.eval_every + 1)
    assert {row["step"] for row in curves} == {0, 10, 20}
    assert all((row["train_loss"] is None) == (row["step"] == 0) for row in curves)
    assert all(row["roughness"] == 0 for row in curves if row["step"] == 0 and row["init"] == "smooth")


def _without_timings(record):
    claims, tables = claim_numbers(record)
    runs = [{k: v for k, v in r.items() if k != "seconds"} for r in tables["runs"]]
    return claims, {**tables, "runs": runs}


def test_same_seed_same_numbers(smoke, tmp_path):
    again = run_experiment("ode-mnist1d", "smoke", seed=0, out=tmp_path / "again")
    assert _without_timings(again.record) == _without_timings(smoke.record)
    other = run_experiment("ode-mnist1d", "smoke", seed=1, out=tmp_path / "other")
    assert claim_numbers(other.record)[0] != claim_numbers(smoke.record)[0]


def test_one_seed_and_other_depths(tmp_path):
    overrides = {"depths": "3,6,12", "seeds": "1", "steps": "4", "eval_every": "2", "inner_width": "4"}
    run = run_experiment("ode-mnist1d", "smoke", seed=2, overrides=overrides, out=tmp_path / "run")
    claims = {c["id"]: c for c in run.record["claims"]}
    assert set(claims) == CLAIMS
    ratios = [c for c in claims.values() if c["id"] != "003.mnist1d-smooth.accuracy"]
    assert all(c["stderr"] == 0 for c in ratios)  # the bootstrap over one seed has nothing to resample
    accuracy = claims["003.mnist1d-smooth.accuracy"]  # one run: the binomial error of 1000 test signals
    assert accuracy["stderr"] == pytest.approx(np.sqrt(accuracy["measured"] * (1 - accuracy["measured"]) / 1000))
    assert "L = 3 to L = 12" in claims["003.mnist1d-smooth[rate]"]["statement"]
    assert "L = 12" in claims["003.mnist1d-smooth"]["statement"]
    summary = run.record["tables"]["summary"]
    assert len(summary) == 6 and all(s["stderr_test_accuracy"] is None for s in summary)
