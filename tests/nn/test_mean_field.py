"""MeanFieldTwoLayer and Centered: their outputs, steps and gradients against the formulas, and PyTorch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import neurones as nr
import neurones.functional as F
from neurones import nn


@pytest.mark.parametrize("scaling", ["mean-field", "ntk"])
def test_the_output_is_the_scaled_sum_over_neurons_and_matches_torch_with_its_gradients(scaling):
    rng = np.random.default_rng(0)
    model = nn.MeanFieldTwoLayer(4, 6, "tanh", scaling=scaling, dtype=np.float64, rng=rng)
    x = rng.standard_normal((5, 4))
    scale = 1 / 6 if scaling == "mean-field" else 1 / np.sqrt(6)
    w, a = torch.tensor(model.weight.data, requires_grad=True), torch.tensor(model.output.data, requires_grad=True)
    expected = scale * torch.tanh(torch.tensor(x) @ w.T) @ a
    output = model(nr.tensor(x))
    np.testing.assert_allclose(output.data[:, 0], expected.detach().numpy(), rtol=1e-12)
    (output**2).sum().backward()
    (expected**2).sum().backward()
    np.testing.assert_allclose(model.weight.grad.data, w.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(model.output.grad.data, a.grad.numpy(), rtol=1e-12)


def test_the_mean_field_step_is_n_times_the_rate_and_the_ntk_step_the_rate():
    mean_field = nn.MeanFieldTwoLayer(3, 40, rng=0)
    ntk = nn.MeanFieldTwoLayer(3, 40, scaling="ntk", rng=0)
    assert mean_field.param_groups(0.1)[0]["lr"] == pytest.approx(4.0)
    assert ntk.param_groups(0.1)[0]["lr"] == 0.1
    assert {id(p) for p in mean_field.param_groups(0.1)[0]["params"]} == {id(p) for p in mean_field.parameters()}


def test_restarts_are_the_single_networks_drawn_in_turn():
    stacked = nn.MeanFieldTwoLayer(3, 5, restarts=2, dtype=np.float64, rng=7)
    generator = np.random.default_rng(7)
    x = nr.tensor(np.random.default_rng(1).standard_normal((4, 3)))
    for index in range(2):
        single = nn.MeanFieldTwoLayer(3, 5, dtype=np.float64, rng=generator)
        np.testing.assert_allclose(stacked(x).data[index], single(x).data, rtol=1e-14)
    assert stacked(x).shape == (2, 4, 1)


@pytest.mark.parametrize("arguments, match", [((0, 5), "≥ 1"), ((3, 5, "swish"), "activation"),
                                              ((3, 5, "relu", "xavier"), "scaling")])
def test_bad_arguments_name_the_problem(arguments, match):
    d, N, *rest = arguments
    keywords = {"activation": rest[0]} if rest else {}
    if len(rest) > 1:
        keywords["scaling"] = rest[1]
    with pytest.raises(ValueError, match=match):
        nn.MeanFieldTwoLayer(d, N, **keywords)


def test_a_centered_model_starts_at_zero_and_its_gradient_is_alpha_times_the_models():
    rng = np.random.default_rng(3)
    inner = nn.Sequential(nn.Linear(3, 8, dtype=np.float64, rng=rng), nn.ReLU(),
                          nn.Linear(8, 1, dtype=np.float64, rng=rng))
    centered = nn.Centered(inner, 10.0)
    x = nr.tensor(rng.standard_normal((6, 3)))
    np.testing.assert_array_equal(centered(x).data, 0.0)
    centered(x).sum().backward()
    alone = [p.grad.data.copy() for p in inner.parameters()]
    inner.zero_grad()
    inner(x).sum().backward()
    for scaled, plain in zip(alone, [p.grad.data for p in inner.parameters()]):
        np.testing.assert_allclose(scaled, 10.0 * plain, rtol=1e-12)
    assert all(not p.requires_grad for p in centered.initial.parameters())
    assert centered.loss_scale == pytest.approx(0.01)
    with nr.no_grad():
        inner[2].bias.data += 1.0  # the trained copy moves, the frozen one does not
    np.testing.assert_allclose(centered(x).data, 10.0, rtol=1e-12)
    with pytest.raises(ValueError, match="alpha"):
        nn.Centered(inner, 0.0)


def test_the_centered_loss_over_alpha_squared_trains_towards_the_linearized_model():
    """Chizat et al.: with loss/α², the step on θ is O(1/α): the parameters move less as α grows."""
    rng = np.random.default_rng(4)
    x, y = nr.tensor(rng.standard_normal((16, 3))), nr.tensor(rng.standard_normal((16, 1)))
    moved = []
    for alpha in (1.0, 10.0, 100.0):
        inner = nn.Sequential(nn.Linear(3, 32, dtype=np.float64, rng=5), nn.Tanh(),
                              nn.Linear(32, 1, dtype=np.float64, rng=6))
        model = nn.Centered(inner, alpha)
        start = [p.data.copy() for p in inner.parameters()]
        optimizer = nr.optim.SGD(inner.parameters(), lr=0.05)
        for _ in range(30):
            optimizer.zero_grad()
            (F.mse_loss(model(x), y) * model.loss_scale).backward()
            optimizer.step()
        moved.append(np.sqrt(sum(np.sum((p.data - s) ** 2) for p, s in zip(inner.parameters(), start))))
    assert moved[1] / moved[2] == pytest.approx(10.0, rel=0.05)
