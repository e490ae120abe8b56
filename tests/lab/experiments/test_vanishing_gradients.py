"""Vanishing gradients (seed 002, seed 000): the bound built by hand, the residual network, and the experiment."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest

from neurones import nn
from neurones.analysis.meanfield import gradient_factor, skip_gradient_ratio, variance_iterates
from neurones.lab.config import at_scale
from neurones.lab.experiments import vanishing_gradients as vg
from neurones.lab.runner import run_experiment
from tests.lab.experiments.run_checks import check_run_directory, claim_numbers


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    return run_experiment("vanishing-gradients", "smoke", seed=0, out=tmp_path_factory.mktemp("vg") / "run")


def replay_plain_draw(rng: np.random.Generator, depth: int, width: int, batch: int):
    """The first draw of ``_measure`` for the sigmoid network, replayed from a copy of its Generator."""
    net = vg._plain(depth, width, "sigmoid", rng)
    x = rng.standard_normal((batch, width))
    u = rng.standard_normal((batch, width))
    return [m.weight.data for m in net if isinstance(m, nn.Linear)], x, u


@pytest.mark.parametrize("depth", [2, 3])
def test_bound_construction_by_hand(depth):
    width, batch = 4, 3
    rng = np.random.default_rng(5)
    weights, x, u = replay_plain_draw(copy.deepcopy(rng), depth, width, batch)
    m = vg._measure({"network": "sigmoid-glorot", "depth": depth, "width": width, "batch": batch, "draws": 3}, rng)
    # Forward z^l = x^l W^lᵀ with x^{l+1} = σ(z^l); backward δ^L = u, δ^l = (δ^{l+1} W^{l+1}) ⊙ σ′(z^l).
    zs, h = [], x
    for W in weights:
        zs.append(h @ W.T)
        h = sigmoid(zs[-1])
    deltas = [u]
    for l in range(depth - 2, -1, -1):
        s = sigmoid(zs[l])
        deltas.insert(0, (deltas[0] @ weights[l + 1]) * s * (1 - s))
    norms = np.array([np.linalg.norm(d) for d in deltas])
    np.testing.assert_allclose(m["grad_norm"][0], norms, rtol=1e-12)
    # bound_l = ‖δ^L‖ ∏_{k=l+1}^{L} ¼‖W^k‖₂
    spectral = [np.linalg.norm(W, 2) for W in weights]
    if depth == 2:
        expected = [np.linalg.norm(u) * 0.25 * spectral[1], np.linalg.norm(u)]
    else:
        expected = [
            np.linalg.norm(u) * 0.25**2 * spectral[1] * spectral[2],
            np.linalg.norm(u) * 0.25 * spectral[2],
            np.linalg.norm(u),
        ]
    np.testing.assert_allclose(m["bound"][0], expected, rtol=1e-12)
    assert m["grad_norm"].shape == m["bound"].shape == (3, depth)
    assert np.all(m["grad_norm"] <= m["bound"] * (1 + 1e-12))


def test_skip_gradient_norms_by_hand():
    # h_1 = σ(h_0 W_1ᵀ), h_i = σ(h_{i−1} W_iᵀ + h_{i−2}); p_L = u, g_i = p_i ⊙ σ′(a_i),
    # p_{i−1} = g_i W_i + g_{i+1} (rows: examples).
    depth, width, batch = 3, 3, 4
    rng = np.random.default_rng(2)
    replay = copy.deepcopy(rng)
    weights = []
    for _ in range(depth):
        linear = nn.Linear(width, width, bias=False, dtype=np.float64, rng=replay)
        nn.init.xavier_normal_(linear.weight, rng=replay)
        weights.append(linear.weight.data)
    h0 = replay.standard_normal((batch, width))
    u = replay.standard_normal((batch, width))
    states, pre = [h0], [None]
    for i, W in enumerate(weights, start=1):
        pre.append(states[i - 1] @ W.T + (states[i - 2] if i >= 2 else 0.0))
        states.append(sigmoid(pre[i]))
    g = {depth + 1: np.zeros_like(u)}
    p = {depth: u}
    for i in range(depth, 0, -1):
        s = sigmoid(pre[i])
        g[i] = p[i] * s * (1 - s)
        p[i - 1] = g[i] @ weights[i - 1] + g[i + 1]
    norms = vg._skip_gradient_norms(depth, width, batch, rng)
    np.testing.assert_allclose(norms, [np.linalg.norm(p[i]) for i in range(depth + 1)], rtol=1e-12)


def test_plain_networks():
    sig = vg._plain(3, 4, "sigmoid", np.random.default_rng(0))
    relu = vg._plain(3, 4, "relu", np.random.default_rng(0))
    assert [type(m) for m in sig] == [nn.Linear, nn.Sigmoid, nn.Linear, nn.Sigmoid, nn.Linear]
    assert [type(m) for m in relu] == [nn.Linear, nn.ReLU, nn.Linear, nn.ReLU, nn.Linear]


def test_smoke_run(smoke):
    config = at_scale(vg.VanishingConfig, "smoke")
    record = check_run_directory(smoke, ["gradient-norms"])
    claims = {c["id"]: c for c in record["claims"]}
    assert [c["id"] for c in record["claims"]] == [
        "002.vanishing.rate",
        "002.vanishing.relu-he",
        "000.residual-gradient",
    ]
    iterates = variance_iterates("sigmoid", 1.0, [1.0] * (config.depth - 2))
    rate = sum(math.log10(gradient_factor("sigmoid", q)) for q in iterates)
    assert claims["002.vanishing.rate"]["rule"]["predicted"] == pytest.approx(rate)
    assert claims["002.vanishing.relu-he"]["rule"]["predicted"] == 0.0
    skip = math.log10(skip_gradient_ratio("sigmoid", config.depth))
    assert claims["000.residual-gradient"]["rule"]["predicted"] == pytest.approx(skip)
    assert rate < skip < 0  # the skip connections attenuate the vanishing, they do not stop it
    rows = record["tables"]["gradient_norms"]
    assert [r["layer"] for r in rows] == list(range(1, config.depth + 1))
    assert all(r["sigmoid_glorot"] <= r["sigmoid_bound"] * (1 + 1e-12) for r in rows)
    assert rows[-1]["sigmoid_glorot"] == pytest.approx(rows[-1]["sigmoid_bound"], rel=1e-12)


def test_same_seed_same_numbers(smoke, tmp_path):
    again = run_experiment("vanishing-gradients", "smoke", seed=0, out=tmp_path / "again")
    assert claim_numbers(again.record) == claim_numbers(smoke.record)
    other = run_experiment("vanishing-gradients", "smoke", seed=3, out=tmp_path / "other")
    assert claim_numbers(other.record) != claim_numbers(smoke.record)
