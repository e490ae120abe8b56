"""The wide-network experiments of seed 000 §7–8 (issue 20): smoke runs, claims, and their pieces against exact
answers."""

from __future__ import annotations

import numpy as np
import pytest

import neurones as nr
from neurones.analysis.ntk import infinite_width_kernels, residual_features_kernel
from neurones.lab.experiments import depth_and_conditioning, lazy_training, overparam_convergence
from neurones.lab.runner import run_experiment
from tests.lab.experiments.run_checks import check_run_directory, claim_numbers


def test_overparam_convergence_smoke_run(tmp_path):
    run = run_experiment("overparam-convergence", "smoke", seed=0, out=tmp_path / "run")
    record = check_run_directory(run, ["convergence"])
    assert [c["id"] for c in record["claims"]] == [
        "000.allen-zhu.forward-norm", "000.allen-zhu.grad-bounds[slope]", "000.allen-zhu.stability[displacement]",
        "000.allen-zhu.stability[flips]", "000.allen-zhu.grad-bounds[sandwich]", "000.allen-zhu.linear-rate",
        "000.allen-zhu.sgd", "000.allen-zhu.width-needed"]
    assert {row["points"] for row in record["tables"]["width_needed"]} == {4, 8}


def test_the_allen_zhu_network_has_unit_hidden_norms_on_average_and_trains_only_w():
    model = overparam_convergence.allen_zhu_network(8, 2048, 2, np.random.default_rng(0))
    x = nr.tensor(np.eye(8)[:4])
    pre = nr.train.relu_inputs(model, x)
    norms = np.linalg.norm(np.maximum(pre[-1], 0), axis=1)
    np.testing.assert_allclose(norms, 1.0, atol=0.1)  # E‖ReLU(W h)‖² = ‖h‖² with W ~ N(0, 2/m)
    assert [p.requires_grad for p in model.parameters()] == [False, True, True, False]


def test_the_sandwich_bounds_the_gradient_over_loss_ratio_of_a_linear_model():
    """For a model linear in θ the tangent kernel is constant, so 2λ_min ≤ ‖∇F‖²/F ≤ 2λ_max holds exactly."""
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((6, 10)), rng.standard_normal((6, 1))
    model = nr.nn.Linear(10, 1, bias=False, dtype=np.float64, rng=rng)
    history = nr.train.full_batch_gd(model, x, y, 0.02, 50, [nr.train.GradientNormSquared()],
                                     loss_fn=overparam_convergence._half_sum)
    eigenvalues = np.linalg.eigvalsh(x @ x.T)
    ratio = np.array(history.records["grad_norm_squared"]) / np.array(history.losses)
    assert np.all(ratio >= 2 * eigenvalues[0] * (1 - 1e-9)) and np.all(ratio <= 2 * eigenvalues[-1] * (1 + 1e-9))


def test_depth_and_conditioning_smoke_run(tmp_path):
    run = run_experiment("depth-and-conditioning", "smoke", seed=0, out=tmp_path / "run")
    record = check_run_directory(run, ["gram-spectra"])
    assert [c["id"] for c in record["claims"]] == [
        "000.du.depth-gram[features-plain]", "000.du.depth-gram[features-resnet]", "000.du.depth-gram[ntk-plain]",
        "000.du.depth-gram[ntk-resnet]"]


@pytest.mark.parametrize("architecture", ["plain", "resnet"])
def test_wide_networks_match_the_infinite_width_feature_gram(architecture):
    """The last features' Gram of one very wide network is the closed-form kernel, up to O(m^(−1/2))."""
    rng = np.random.default_rng(2)
    x = rng.standard_normal((5, 6))
    x *= np.sqrt(6) / np.linalg.norm(x, axis=1, keepdims=True)
    model = depth_and_conditioning._network(architecture, 3, 8192, 6, rng)
    features = np.maximum(nr.train.relu_inputs(model, nr.tensor(x))[-1], 0)
    measured = features @ features.T / 8192
    expected = (infinite_width_kernels(x, depth=3, weight_std=np.sqrt(2))[0] / 2 if architecture == "plain"
                else residual_features_kernel(x, depth=3))
    # One draw fluctuates by about √(5(L + 1)/m) ≈ 5% (the squared norm gains a χ²-like factor per layer).
    np.testing.assert_allclose(measured, expected, atol=0.12 * np.abs(expected).max())


def test_the_residual_kernel_of_one_block_is_the_arc_cosine_update():
    x = np.array([[1.0, 0.0], [np.cos(1.0), np.sin(1.0)]]) * np.sqrt(2)
    k0 = 2 * x @ x.T / 2
    theta = np.arccos(k0[0, 1] / k0[0, 0])
    relu_relu = k0[0, 0] * (np.sin(theta) + (np.pi - theta) * np.cos(theta)) / (2 * np.pi)
    k1 = k0 + 2 * np.array([[k0[0, 0] / 2, relu_relu], [relu_relu, k0[1, 1] / 2]])
    theta1 = np.arccos(k1[0, 1] / k1[0, 0])
    expected = k1[0, 0] * (np.sin(theta1) + (np.pi - theta1) * np.cos(theta1)) / (2 * np.pi)
    assert residual_features_kernel(x, depth=1)[0, 1] == pytest.approx(expected, rel=1e-12)
    assert depth_and_conditioning.conditioning(np.diag([1.0, 2.0, 3.0])) == pytest.approx(0.5)


def test_lazy_training_smoke_run_is_reproducible(tmp_path):
    run = run_experiment("lazy-training", "smoke", seed=0, out=tmp_path / "run")
    record = check_run_directory(run, ["scale"])
    assert [c["id"] for c in record["claims"]] == [
        "000.lazy.displacement", "000.lazy.linearization", "000.lazy.patterns[lazy]", "000.lazy.patterns[active]",
        "000.lazy.generalization", "000.lazy.cnn[accuracy]", "000.lazy.cnn[displacement]"]
    assert record["claims"][0]["holds"]  # θ moves like 1/τ against ‖θ₀‖ ∝ τ at any scale
    again = run_experiment("lazy-training", "smoke", seed=0, out=tmp_path / "again")
    assert claim_numbers(again.record) == claim_numbers(run.record)


def test_the_symmetrized_student_starts_at_zero_and_scales_like_tau_squared():
    x = nr.tensor(np.random.default_rng(3).standard_normal((7, 5)))
    one = lazy_training._student(5, 6, 1.0, np.random.default_rng(4))
    three = lazy_training._student(5, 6, 3.0, np.random.default_rng(4))
    with nr.no_grad():
        np.testing.assert_allclose(one(x).data, 0.0, atol=1e-15)
        one[2].weight.data[0, 0] += 1.0  # break the symmetry to compare the scales
        three[2].weight.data[0, 0] += 3.0
        np.testing.assert_allclose(three(x).data, 9.0 * one(x).data, rtol=1e-12)


def test_mean_field_smoke_run(tmp_path):
    run = run_experiment("mean-field", "smoke", seed=0, out=tmp_path / "run")
    record = check_run_directory(run, ["mean-field", "feature-learning"])
    assert [c["id"] for c in record["claims"]] == [
        "000.mean-field.fluctuations", "000.mean-field.limit", "000.mean-field.features-move[mean-field]",
        "000.mean-field.features-move[ntk]", "000.mean-field.global", "000.mean-field.feature-learning[both]",
        "000.mean-field.feature-learning[output-only]"]
    rows = record["tables"]["regression"]
    assert {(r["scaling"], r["width"]) for r in rows} == {(s, w) for s in ("mean-field", "ntk")
                                                          for w in (8, 16, 32, 64)}
