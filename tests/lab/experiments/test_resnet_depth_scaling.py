"""Depth scaling of deep ResNets (seed 004): Lemma 1's closed forms, the helpers, and the registered experiment."""

from __future__ import annotations

import math

import numpy as np
import pytest

from neurones.lab.config import at_scale
from neurones.lab.experiments import resnet_depth_scaling as rds
from neurones.lab.runner import run_experiment
from tests.lab.experiments.run_checks import check_run_directory, claim_numbers

FIGURES = ["hidden-states-vs-depth", "gradients-vs-depth", "state-ratio-histogram"]


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    return run_experiment("resnet-depth-scaling", "smoke", seed=0, out=tmp_path_factory.mktemp("rds") / "run")


@pytest.mark.parametrize("alpha", [0.5, 0.1, 1.0, 2.0])
@pytest.mark.parametrize("depth", [1, 3, 50])
def test_lemma1_closed_forms(alpha, depth):
    low, high = rds.lemma1_bounds(alpha, depth)
    assert low == pytest.approx((1 + alpha**2 / 2) ** depth - 1, rel=1e-12)
    assert high == pytest.approx((1 + alpha**2) ** depth - 1, rel=1e-12)
    assert 0 < low < high


def test_lemma1_keeps_precision_for_tiny_alpha():
    # (1 + α²)^L − 1 evaluated naively loses every digit at α = 10⁻⁹; L α² (1 + O(α²)) is the answer.
    low, high = rds.lemma1_bounds(1e-9, 10)
    assert low == pytest.approx(5e-18, rel=1e-12) and high == pytest.approx(1e-17, rel=1e-12)


def test_lemma1_limits_of_the_three_regimes():
    # β = ½: α² = 1/L, the bounds increase to e^(1/2) − 1 and e − 1 (error ~ e^(1/2)/(8L) and e/(2L)).
    previous = (0.0, 0.0)
    for depth in (10, 100, 1000, 10**4, 10**6):
        low, high = rds.lemma1_bounds(depth**-0.5, depth)
        assert previous[0] < low < math.exp(0.5) - 1 and previous[1] < high < math.e - 1
        previous = (low, high)
    assert previous[0] == pytest.approx(math.exp(0.5) - 1, abs=1e-6)
    assert previous[1] == pytest.approx(math.e - 1, abs=2e-6)
    # β = 1: both vanish like 1/L; β = ¼: both grow like exp(√L).
    assert rds.lemma1_bounds(1e-6, 10**6)[1] == pytest.approx(1e-6, rel=1e-5)
    assert rds.lemma1_bounds(1000**-0.25, 1000)[0] > 1e6


def test_res1_hypotheses_hold_draw_by_draw():
    # res-1: g = σ(h) with a leaky ReLU of slope a = 0.75, so a² ≤ ‖σ(h)‖²/‖h‖² ≤ 1 for every h, and by symmetry
    # of h the expectation is (1 + a²)/2; the same for ‖σ′(h) q‖²/‖q‖².
    forward, backward = rds._hypothesis_ratios("res-1", 16, 400, np.random.default_rng(0))
    for ratios in (forward, backward):
        assert ratios.shape == (400,) and np.all((ratios >= 0.75**2) & (ratios <= 1))
        assert ratios.mean() == pytest.approx((1 + 0.75**2) / 2, abs=4 * ratios.std() / 20)


def test_res3_hypothesis_expectation():
    # res-3: E‖ReLU(W h)‖² = ½ E‖W h‖² = ½ ‖h‖² (W symmetric, of variance 1/d).
    forward, _ = rds._hypothesis_ratios("res-3", 16, 400, np.random.default_rng(1))
    assert forward.mean() == pytest.approx(0.5, abs=4 * forward.std() / 20)


def test_measure_shapes_and_bounds():
    point = {"block": "res-2", "beta": 0.5, "depth": 9, "width": 8, "draws": 3, "batch": 5}
    m = rds._measure(point, np.random.default_rng(0))
    assert m["alpha"] == pytest.approx(1 / 3, rel=1e-14)
    assert (m["lemma1_low"], m["lemma1_high"]) == rds.lemma1_bounds(1 / 3, 9)
    assert m["state_sq_per_draw"].shape == m["grad_sq_per_draw"].shape == (3,)
    assert m["state_ratio_per_draw"].shape == (3, 5)
    np.testing.assert_allclose(m["state_sq_per_draw"], np.mean(m["state_ratio_per_draw"] ** 2, axis=1), rtol=1e-6)


def expected_claim_ids(config: rds.DepthScalingConfig) -> set[str]:
    ids = {f"004.{h}[{block}]" for h in ("hyp2", "hyp4") for block in config.blocks}
    ids |= {f"004.note1[{init}]" for init in (*rds.NOTE1_INITS, "lemma1-pytorch-default")}
    ids |= {f"004.hyp2.moment8[res-3,d={d}]" for d in rds.MOMENT_WIDTHS}
    for block in config.blocks:
        for beta in config.betas:
            ids |= {f"004.prop6[{block},beta={beta:g}]", f"004.prop6.exact[{block},beta={beta:g}]"}
            if block == "res-3":
                ids |= {f"004.lemma1.res3-exact[beta={beta:g},L={depth}]" for depth in config.depths}
            else:
                ids |= {f"004.lemma1.exact[{block},beta={beta:g},L={depth}]" for depth in config.depths}
                ids.add(f"004.lemma1.bounds[{block},beta={beta:g}]")
        for corollary in ("cor1", "cor2"):
            if 1.0 in config.betas and len(config.depths) >= 3:
                ids.add(f"004.{corollary}.identity[{block}]")
            if 0.25 in config.betas:
                ids.add(f"004.{corollary}.explosion[{block}]")
            if 0.5 in config.betas and rds.critical_depths(config.depths) is not None:
                ids.add(f"004.{corollary}.critical[{block}]")
        for delta in rds.DELTAS:
            ids |= {f"004.{name}[{block},delta={delta:g}]" for name in ("prop2", "prop5", "prop3")}
            if config.width >= 64:
                ids.add(f"004.cor1.band[{block},delta={delta:g}]")
    return ids


def test_smoke_run(smoke):
    config = at_scale(rds.DepthScalingConfig, "smoke")
    record = check_run_directory(smoke, FIGURES)
    claims = {c["id"]: c for c in record["claims"]}
    # hyp, prop6 (band and exact), lemma1 (res-3 exact, res-1/2 exact and bounds), cor1 and cor2, props 2, 5 and
    # 3 (ii) at two δ ... and Note 1 (three initializations and Lemma 1 under PyTorch's default), Hypothesis 2's
    # eighth moment
    assert len(claims) == len(record["claims"]) == (
        3 * 2 + 3 * 3 * 2 + 2 * 3 + 2 * 3 * 2 + 2 * 3 + 3 * 2 + 3 * 3 * 2 + 4 + 3
    )
    assert set(claims) == expected_claim_ids(config)
    assert "004.cor1.explosion[res-2]" in claims and "004.lemma1.res3-exact[beta=0.25,L=16]" in claims
    for beta in config.betas:
        for depth in config.depths:
            low, high = rds.lemma1_bounds(depth**-beta, depth)
            assert claims[f"004.lemma1.res3-exact[beta={beta:g},L={depth}]"]["prediction"] == f"= {low:.6g}"
        low, high = rds.lemma1_bounds(16**-beta, 16)
        assert claims[f"004.prop6[res-1,beta={beta:g}]"]["prediction"] == f"∈ [{low:.6g}, {high:.6g}]"
        exact = rds.lemma1_exact("res-2", 16**-beta, 16)
        assert claims[f"004.lemma1.exact[res-2,beta={beta:g},L=16]"]["rule"]["predicted"] == pytest.approx(exact)
        assert low < exact < high  # the exact value lies between Lemma 1's bounds
        assert claims[f"004.prop6.exact[res-2,beta={beta:g}]"]["rule"]["predicted"] == pytest.approx(exact)
    for block in config.blocks:
        assert claims[f"004.hyp2[{block}]"]["rule"]["predicted"] == (0.5 if block == "res-3" else 0.78125)
        assert 0 < claims[f"004.hyp2[{block}]"]["measured"] <= 1
    rows = record["tables"]["ratios"]
    assert [(r["block"], r["beta"], r["depth"]) for r in rows] == [
        (b, beta, d) for b in config.blocks for beta in config.betas for d in config.depths
    ]
    for row in rows:
        deepest_explosion = row["beta"] < 0.5 and row["depth"] == max(config.depths)
        assert row["networks"] == (config.explosion_draws if deepest_explosion else config.draws)
        assert (row["lemma1_low"], row["lemma1_high"]) == pytest.approx(
            rds.lemma1_bounds(row["depth"] ** -row["beta"], row["depth"]), rel=1e-12
        )
        assert row["mean_state_ratio_sq"] > 0 and row["stderr_state_ratio_sq"] > 0


def test_the_critical_claims_compare_a_decade_of_depth_at_every_scale():
    assert rds.critical_depths((10, 32, 100, 316, 1000)) == (100, 1000)
    assert rds.critical_depths(rds.DepthScalingConfig().depths) == (139, 1000)  # full scale: no L = 100 on its grid
    assert rds.critical_depths((4, 16)) is None and rds.critical_depths((100, 300)) is None


def test_depths_that_allow_every_corollary(tmp_path):
    overrides = {"depths": "3,100,1000", "betas": "0.5,1", "blocks": "res-3"}
    run = run_experiment("resnet-depth-scaling", "smoke", seed=1, overrides=overrides, out=tmp_path / "run")
    config = rds.DepthScalingConfig(
        depths=(3, 100, 1000), betas=(0.5, 1.0), blocks=("res-3",), draws=3, batch=4, width=16, hypothesis_draws=20
    )
    ids = [c["id"] for c in run.record["claims"]]
    assert set(ids) == expected_claim_ids(config)
    assert {"004.cor1.identity[res-3]", "004.cor1.critical[res-3]"} <= set(ids)
    assert not any("explosion" in i or "bounds" in i for i in ids)


def test_same_seed_same_numbers(smoke, tmp_path):
    again = run_experiment("resnet-depth-scaling", "smoke", seed=0, out=tmp_path / "again")
    assert claim_numbers(again.record) == claim_numbers(smoke.record)
    other = run_experiment("resnet-depth-scaling", "smoke", seed=1, out=tmp_path / "other")
    assert claim_numbers(other.record) != claim_numbers(smoke.record)


def test_workers_give_the_same_numbers(smoke, tmp_path):
    parallel = run_experiment("resnet-depth-scaling", "smoke", seed=0, out=tmp_path / "parallel", workers=2)
    assert claim_numbers(parallel.record) == claim_numbers(smoke.record)


def test_exact_lemma1_values_under_this_initialization():
    # c = (1 + 0.75²)/2 = 0.78125 for res-1/res-2; ½ for res-3, where the exact value is Lemma 1's lower bound.
    assert rds.block_gain("res-1") == rds.block_gain("res-2") == 0.78125 and rds.block_gain("res-3") == 0.5
    values = [rds.lemma1_exact("res-2", 1000**-beta, 1000) for beta in (0.25, 0.5, 1.0)]
    assert values == pytest.approx([3.972e10, 1.1835, 7.816e-4], rel=1e-3)
    for beta in (0.25, 0.5, 1.0):
        alpha = 100**-beta
        assert rds.lemma1_exact("res-3", alpha, 100) == pytest.approx(rds.lemma1_bounds(alpha, 100)[0], rel=1e-12)


def _network_trajectories(block: str, draws: int, width: int, depth: int, alpha: float, rng):
    """(h_0, h_L, ∂h_L/∂h_0) of ``draws`` independent networks at one Gaussian input each, in float64, from
    h ← h + α V g(h) and J ← (I + α V D) J written out in NumPy (independent of the engine)."""
    slope = 0.0 if block == "res-3" else 0.75
    h = start = rng.standard_normal((draws, width))
    jacobian = np.broadcast_to(np.eye(width), (draws, width, width)).copy()
    for _ in range(depth):
        V = rng.standard_normal((draws, width, width)) / math.sqrt(width)
        W = rng.standard_normal((draws, width, width)) / math.sqrt(width)
        pre = h if block == "res-1" else np.einsum("nij,nj->ni", W, h)
        derivative = np.where(pre > 0, 1.0, slope)
        D = derivative[:, :, None] * (np.eye(width) if block == "res-1" else W)
        jacobian = jacobian + alpha * V @ D @ jacobian
        h = h + alpha * np.einsum("nij,nj->ni", V, derivative * pre)
    return start, h, jacobian


@pytest.mark.parametrize("block", ["res-2", "res-3"])
def test_proposition6_exact_value_is_the_jacobian_series(block):
    # E‖J − I‖_F²/d = (1 + cα²)^L − 1: the forward recursion of Eq. (2.3) with a fresh V at every block.
    width, depth, alpha, draws = 6, 5, 0.6, 40_000
    _, _, jacobian = _network_trajectories(block, draws, width, depth, alpha, np.random.default_rng(3))
    values = np.sum((jacobian - np.eye(width)) ** 2, axis=(1, 2)) / width
    predicted = rds.lemma1_exact(block, alpha, depth)
    assert values.mean() == pytest.approx(predicted, abs=4 * values.std() / math.sqrt(draws))
    # ... and the prediction is sharp: c off by 10% moves it by more than the tolerance.
    wrong = math.expm1(depth * math.log1p(1.1 * rds.block_gain(block) * alpha**2))
    assert abs(wrong - predicted) > 8 * values.std() / math.sqrt(draws)


def test_res1_exceeds_the_leading_order_as_its_exact_law_predicts():
    # res-1 reads the signs of h: its growth exceeds (1 + cα²)^L − 1 by O(Lα²(1 − a²)²/d), here about 3%. The
    # reduced-law prediction must match networks drawn in full, for the states and for E‖J − I‖_F²/d.
    width, depth, alpha, draws = 8, 40, 0.3, 60_000
    start, end, jacobian = _network_trajectories("res-1", draws, width, depth, alpha, np.random.default_rng(5))
    states = np.sum((end - start) ** 2, axis=1) / np.sum(start**2, axis=1)
    jacobians = np.sum((jacobian - np.eye(width)) ** 2, axis=(1, 2)) / width
    state, state_se, jacobian_value, jacobian_se = rds.res1_exact_growth(
        width, alpha, depth, 40_000, np.random.default_rng(6)
    )
    leading = rds.lemma1_exact("res-1", alpha, depth)
    for measured, predicted, predicted_se in ((states, state, state_se), (jacobians, jacobian_value, jacobian_se)):
        stderr = math.hypot(measured.std() / math.sqrt(draws), predicted_se)
        assert measured.mean() == pytest.approx(predicted, abs=4 * stderr)
        assert predicted - leading > 5 * predicted_se  # the excess is resolved, not noise ...
        assert measured.mean() - leading > 2 * stderr  # ... and the networks show it (3.6 standard errors here)
        assert predicted / leading - 1 < 0.06


def test_the_measured_gradient_ratio_is_the_jacobian_form():
    # ‖p_0 − p_L‖²/‖p_L‖² = ‖(J − I)ᵀ u‖²/‖u‖² per example, J = ∂h_L/∂h_0 read from the engine's network.
    import neurones as nr
    from neurones.analysis.residual import residual_trajectory
    from neurones.nn.scaled_resnet import ScaledResNet

    rng = np.random.default_rng(4)
    net = ScaledResNet(5, 5, 1, 4, block="res-2", alpha=0.5, rng=rng, dtype=np.float64)
    x = nr.randn(3, 5, rng=rng, dtype=np.float64)
    u = rng.standard_normal((3, 5))
    ratios = residual_trajectory(net, x, u).gradient_ratio ** 2
    _, states = net(x, return_states=True)
    for example in range(3):
        h, jacobian = states[0].data[example], np.eye(5)
        for block in net.blocks:
            V, W = block.V.data, block.W.data
            pre = W @ h
            jacobian = jacobian + 0.5 * V @ (np.where(pre > 0, 1.0, 0.75)[:, None] * W) @ jacobian
            h = h + 0.5 * V @ np.where(pre > 0, pre, 0.75 * pre)
        expected = np.sum(((jacobian - np.eye(5)).T @ u[example]) ** 2) / np.sum(u[example] ** 2)
        assert ratios[example] == pytest.approx(expected, rel=1e-9)


def test_high_probability_conditions_are_recorded(smoke):
    rows = smoke.record["tables"]["high_probability_conditions"]
    # At smoke scale the width is 16 < 64: Corollary 1 (iii)'s band does not apply, and says so instead of vanishing.
    assert {r["claim"] for r in rows} == {"cor1.band", "prop3(i) and cor1(iii) lower side"}
    lower = [r for r in rows if r["claim"].startswith("prop3(i)")]
    assert [r["applies_at"].split(" at")[0] for r in lower] == ["d > 782", "d > 1564"]  # 11/(δ (3/8)²)
    # E(χ²_d/d)⁴ = d(d+2)(d+4)(d+6)/d⁴: a valid constant C of Hypothesis 2's eighth moment.
    assert rds.eighth_moment_constant(64) == pytest.approx(64 * 66 * 68 * 70 / 64**4)


def test_the_eighth_moment_of_a_relu_layer():
    # d = 1: E ReLU(z)⁸ = ½·105; large d: the mean of d terms of mean ½ tends to (½)⁴.
    assert rds.relu_norm_moment(1) == 52.5
    assert rds.relu_norm_moment(10**6) == pytest.approx(1 / 16, rel=1e-4)
    rng = np.random.default_rng(0)
    z = rng.standard_normal((200_000, 4))
    monte_carlo = np.mean((np.sum(np.maximum(z, 0) ** 2, axis=1) / 4) ** 4)
    assert rds.relu_norm_moment(4) == pytest.approx(monte_carlo, rel=0.03)
