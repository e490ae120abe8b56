"""resnet-gradient-hypotheses (seed 004, §2.3): Eq. (2.3) by forward recursion, the bias of Hypothesis 3 under the
authors' loss, and the smoke-scale run."""

from __future__ import annotations

import math

import numpy as np
import pytest

import neurones as nr
from neurones.lab.experiments import resnet_gradient_hypotheses as rgh
from neurones.lab.runner import run_experiment
from neurones.nn.scaled_resnet import ScaledResNet
from tests.lab.experiments.run_checks import check_run_directory, claim_numbers


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    return run_experiment("resnet-gradient-hypotheses", "smoke", seed=0, out=tmp_path_factory.mktemp("rgh") / "run")


@pytest.mark.parametrize("block", rgh.BLOCKS)
def test_the_forward_recursion_is_the_jacobian(block):
    """q_L(z) from (2.2) equals the Jacobian ∂h_L/∂h_0 (built column by column by backpropagation) times z."""
    d, depth = 5, 4
    net = ScaledResNet(d, d, 1, depth, block=block, beta=0.5, dtype=np.float64, rng=3)
    x = nr.tensor(np.random.default_rng(0).standard_normal((1, d)))
    _, states = net(x, return_states=True)
    h = [s.data[0] for s in states]
    jacobian = np.zeros((d, d))
    for row in range(d):
        _, states = net(x, return_states=True)
        states[0].retain_grad()
        unit = np.zeros((1, d))
        unit[0, row] = 1.0
        states[-1].backward(unit)
        jacobian[row] = states[0].grad.data[0]
    Z = np.random.default_rng(1).standard_normal((d, 3))
    np.testing.assert_allclose(rgh._jacobian_vector_products(net, h, Z), jacobian @ Z, rtol=1e-10)


def test_hypothesis3_bias():
    d = 64
    large, small = rgh.hypothesis3_bias([1e6, 1e-6], d)
    expected = math.gamma(d / 2) / (math.sqrt(math.pi) * math.gamma((d + 1) / 2))  # E|u| on the sphere
    assert large == pytest.approx(expected, rel=1e-6)  # sign(Bh − y) = sign(Bh): E⟨b, ĥ⟩ = E|u|
    assert large == pytest.approx(math.sqrt(2 / (math.pi * d)), rel=0.01)
    assert small == pytest.approx(0.0, abs=1e-5)  # y dominates: the sign is independent of h
    rng = np.random.default_rng(0)  # Monte Carlo of the definition at ‖h‖ = 3
    B = rng.standard_normal((400_000, d)) / math.sqrt(d)
    h = np.zeros(d)
    h[0] = 3.0
    y = rng.uniform(size=len(B))
    u = B[:, 0] / np.linalg.norm(B, axis=1)
    monte_carlo = np.mean(np.sign(B @ h - y) * u)
    assert rgh.hypothesis3_bias([3.0], d)[0] == pytest.approx(monte_carlo, abs=5e-4)


def test_smoke_run(smoke):
    record = check_run_directory(smoke, ["hypothesis3-bias"])
    ids = [c["id"] for c in record["claims"]]
    assert ids == [f"004.{name}[{block}]" for block in rgh.BLOCKS for name in ("eq23", "note3.prop6")] + [
        "004.note3[bias]", "004.note3[covariance]"
    ]
    assert len(record["tables"]["summary"]) == 3


def test_same_seed_same_numbers(smoke, tmp_path):
    again = run_experiment("resnet-gradient-hypotheses", "smoke", seed=0, out=tmp_path / "again")
    assert claim_numbers(again.record) == claim_numbers(smoke.record)
