"""Full-batch gradient descent and its recorders, against closed forms on a linear least-squares problem."""

from __future__ import annotations

import numpy as np
import pytest

import neurones as nr
import neurones.functional as F
from neurones import nn
from neurones.train import (
    Displacement,
    GradientNormSquared,
    HessianMaxEigenvalue,
    PatternStability,
    full_batch_gd,
    relu_patterns,
)


def _least_squares(rng):
    x, y = rng.standard_normal((20, 3)), rng.standard_normal((20, 1))
    model = nn.Linear(3, 1, bias=False, dtype=np.float64, rng=rng)
    return model, x, y


def test_the_iterates_losses_and_recorders_are_those_of_gradient_descent_on_least_squares():
    rng = np.random.default_rng(0)
    model, x, y = _least_squares(rng)
    w = model.weight.data.T.copy()
    start, lr = w.copy(), 0.1
    history = full_batch_gd(model, x, y, lr, 5, [GradientNormSquared(), Displacement(),
                                                Displacement(relative=True)], record_every=2)
    expected = {"losses": [], "grad": [], "moved": []}
    for step in range(6):
        residual = x @ w - y
        gradient = 2 * x.T @ residual / residual.size  # L = mean (xw − y)²
        if step in (0, 2, 4, 5):
            expected["losses"].append(np.mean(residual**2))
            expected["grad"].append(np.sum(gradient**2))
            expected["moved"].append(np.linalg.norm(w - start))
        if step < 5:
            w = w - lr * gradient
    assert history.steps == [0, 2, 4, 5]
    np.testing.assert_allclose(history.losses, expected["losses"], rtol=1e-12)
    np.testing.assert_allclose(history.records["grad_norm_squared"], expected["grad"], rtol=1e-12)
    np.testing.assert_allclose(history.records["displacement"], expected["moved"], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(history.records["relative_displacement"],
                               np.array(expected["moved"]) / np.linalg.norm(start), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(model.weight.data.T, w, rtol=1e-12)  # five updates: the last record takes none


def test_the_hessian_recorder_gives_the_largest_eigenvalue_of_two_xtx_over_n():
    rng = np.random.default_rng(1)
    model, x, y = _least_squares(rng)
    recorder = HessianMaxEigenvalue(F.mse_loss, x, y, rng, tol=1e-10)
    history = full_batch_gd(model, x, y, 0.05, 0, [recorder])
    assert history.records[recorder.name][0] == pytest.approx(np.linalg.eigvalsh(2 * x.T @ x / x.shape[0])[-1],
                                                              rel=1e-7)


def test_pattern_stability_counts_the_relu_signs_left_unchanged():
    rng = np.random.default_rng(2)
    model = nn.Sequential(nn.Linear(2, 4, dtype=np.float64, rng=rng), nn.ReLU(), nn.Linear(4, 1, dtype=np.float64,
                                                                                        rng=rng))
    x = nr.tensor(rng.standard_normal((10, 2)))
    recorder = PatternStability()
    recorder.start(model, x)
    assert recorder(model, 0.0) == 1.0
    with nr.no_grad():
        model[0].weight.data[0] *= -1  # unit 0 flips on every input where it was not exactly zero
        model[0].bias.data[0] *= -1
    assert recorder(model, 0.0) == pytest.approx(1 - 10 / 40)
    assert [p.shape for p in relu_patterns(model, x)] == [(10, 4)]


def test_restarts_stacked_in_one_model_train_as_separate_runs():
    rng = np.random.default_rng(3)
    x, y = rng.standard_normal((8, 3)), rng.standard_normal((8, 1))
    stacked = nn.MeanFieldTwoLayer(3, 5, restarts=3, dtype=np.float64, rng=4)
    singles = []
    generator = np.random.default_rng(4)
    for _ in range(3):
        singles.append(nn.MeanFieldTwoLayer(3, 5, dtype=np.float64, rng=generator))

    def per_restart(output, target):
        return ((output - target) ** 2).mean(dim=(1, 2))

    recorders = [Displacement(per_restart=True), GradientNormSquared(per_restart=True),
                 PatternStability(per_restart=True)]
    history = full_batch_gd(stacked, x, y, 0.01, 20, recorders, loss_fn=per_restart,
                            param_groups=stacked.param_groups(0.01))
    for index, single in enumerate(singles):
        alone = full_batch_gd(single, x, y, 0.01, 20, [Displacement(), GradientNormSquared(), PatternStability()],
                              param_groups=single.param_groups(0.01))
        np.testing.assert_allclose(np.asarray(history.losses)[:, index], alone.losses, rtol=1e-12)
        for name in ("displacement", "grad_norm_squared", "pattern_stability"):
            np.testing.assert_allclose(np.asarray(history.records[name])[:, index], alone.records[name], rtol=1e-10,
                                       atol=1e-14)


@pytest.mark.filterwarnings("ignore:overflow encountered")
def test_full_batch_gd_rejects_bad_arguments_and_divergence():
    model, x, y = _least_squares(np.random.default_rng(5))
    with pytest.raises(ValueError, match="lr"):
        full_batch_gd(model, x, y, 0.0, 3)
    with pytest.raises(ValueError, match="share a name"):
        full_batch_gd(model, x, y, 0.1, 3, [Displacement(), Displacement()])
    with pytest.raises(FloatingPointError, match="lower lr"):
        full_batch_gd(model, x * 1e3, y, 10.0, 50)
