"""Each optimizer's trajectory against its textbook formula (plain NumPy, written here) and against torch.optim.

The references below restate the algorithm boxes of the PyTorch documentation independently of the library's
code: 50 steps on the fixed problem of :mod:`tests.optim.problems`, compared entry by entry in float64.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import neurones as nr
from neurones import optim
from tests.helpers import reference_library
from tests.optim.problems import STEPS, gradients, starting_point


# ------------------------------------------------------------------------------------ textbook references
def sgd_reference(lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False, maximize=False):
    thetas, buffers, trajectory = starting_point(), [None, None], []
    for t in range(1, STEPS + 1):
        for k, g in enumerate(gradients(thetas, t)):
            g = -g if maximize else g
            g = g + weight_decay * thetas[k]
            if momentum:
                buffers[k] = g if t == 1 else momentum * buffers[k] + (1 - dampening) * g
                g = g + momentum * buffers[k] if nesterov else buffers[k]
            thetas[k] = thetas[k] - lr * g
        trajectory.append([theta.copy() for theta in thetas])
    return trajectory


def adagrad_reference(lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10, maximize=False):
    thetas, trajectory = starting_point(), []
    sums = [np.full_like(theta, initial_accumulator_value) for theta in thetas]
    for t in range(1, STEPS + 1):
        for k, g in enumerate(gradients(thetas, t)):
            g = -g if maximize else g
            g = g + weight_decay * thetas[k]
            decayed_lr = lr / (1 + (t - 1) * lr_decay)
            sums[k] = sums[k] + g * g
            thetas[k] = thetas[k] - decayed_lr * g / (np.sqrt(sums[k]) + eps)
        trajectory.append([theta.copy() for theta in thetas])
    return trajectory


def rmsprop_reference(lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False, maximize=False):
    thetas, trajectory = starting_point(), []
    v = [np.zeros_like(theta) for theta in thetas]
    mean = [np.zeros_like(theta) for theta in thetas]
    buf = [np.zeros_like(theta) for theta in thetas]
    for t in range(1, STEPS + 1):
        for k, g in enumerate(gradients(thetas, t)):
            g = -g if maximize else g
            g = g + weight_decay * thetas[k]
            v[k] = alpha * v[k] + (1 - alpha) * g**2
            variance = v[k]
            if centered:
                mean[k] = alpha * mean[k] + (1 - alpha) * g
                variance = variance - mean[k] ** 2
            if momentum > 0:
                buf[k] = momentum * buf[k] + g / (np.sqrt(variance) + eps)
                thetas[k] = thetas[k] - lr * buf[k]
            else:
                thetas[k] = thetas[k] - lr * g / (np.sqrt(variance) + eps)
        trajectory.append([theta.copy() for theta in thetas])
    return trajectory


def adam_reference(
    lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False, maximize=False, decoupled=False
):
    beta1, beta2 = betas
    thetas, trajectory = starting_point(), []
    m = [np.zeros_like(theta) for theta in thetas]
    v = [np.zeros_like(theta) for theta in thetas]
    v_max = [np.zeros_like(theta) for theta in thetas]
    for t in range(1, STEPS + 1):
        for k, g in enumerate(gradients(thetas, t)):
            g = -g if maximize else g
            if decoupled:
                thetas[k] = thetas[k] * (1 - lr * weight_decay)
            else:
                g = g + weight_decay * thetas[k]
            m[k] = beta1 * m[k] + (1 - beta1) * g
            v[k] = beta2 * v[k] + (1 - beta2) * g**2
            m_hat = m[k] / (1 - beta1**t)
            if amsgrad:
                v_max[k] = np.maximum(v_max[k], v[k])
                v_hat = v_max[k] / (1 - beta2**t)
            else:
                v_hat = v[k] / (1 - beta2**t)
            thetas[k] = thetas[k] - lr * m_hat / (np.sqrt(v_hat) + eps)
        trajectory.append([theta.copy() for theta in thetas])
    return trajectory


def adamw_reference(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False, maximize=False):
    return adam_reference(lr, betas, eps, weight_decay, amsgrad, maximize, decoupled=True)


CASES = [
    ("SGD", sgd_reference, {"lr": 0.05}),
    ("SGD", sgd_reference, {"lr": 0.05, "momentum": 0.9}),
    ("SGD", sgd_reference, {"lr": 0.05, "momentum": 0.9, "dampening": 0.5}),
    ("SGD", sgd_reference, {"lr": 0.05, "momentum": 0.8, "nesterov": True}),
    ("SGD", sgd_reference, {"lr": 0.05, "momentum": 0.7, "weight_decay": 0.1}),
    ("SGD", sgd_reference, {"lr": 0.02, "weight_decay": 0.3, "maximize": True}),
    ("Adagrad", adagrad_reference, {"lr": 0.1}),
    ("Adagrad", adagrad_reference, {"lr": 0.1, "lr_decay": 0.05}),
    ("Adagrad", adagrad_reference, {"lr": 0.1, "weight_decay": 0.2, "initial_accumulator_value": 0.5}),
    ("Adagrad", adagrad_reference, {"lr": 0.1, "eps": 1e-3, "maximize": True}),
    ("RMSprop", rmsprop_reference, {"lr": 0.01}),
    ("RMSprop", rmsprop_reference, {"lr": 0.01, "centered": True}),
    ("RMSprop", rmsprop_reference, {"lr": 0.01, "momentum": 0.9}),
    ("RMSprop", rmsprop_reference, {"lr": 0.01, "momentum": 0.5, "centered": True, "weight_decay": 0.1}),
    ("RMSprop", rmsprop_reference, {"lr": 0.01, "alpha": 0.3, "centered": True, "eps": 1e-4}),
    ("RMSprop", rmsprop_reference, {"lr": 0.01, "maximize": True}),
    ("Adam", adam_reference, {"lr": 0.05}),
    ("Adam", adam_reference, {"lr": 0.05, "amsgrad": True}),
    ("Adam", adam_reference, {"lr": 0.05, "weight_decay": 0.1}),
    ("Adam", adam_reference, {"lr": 0.05, "betas": (0.3, 0.5), "eps": 1e-4}),
    ("Adam", adam_reference, {"lr": 0.05, "amsgrad": True, "maximize": True}),
    ("AdamW", adamw_reference, {"lr": 0.05}),
    ("AdamW", adamw_reference, {"lr": 0.05, "weight_decay": 0.3, "amsgrad": True}),
    ("AdamW", adamw_reference, {"lr": 0.05, "betas": (0.2, 0.6), "maximize": True}),
]
IDS = [f"{name}-" + "-".join(f"{k}={v}" for k, v in options.items()) for name, _, options in CASES]


def neurones_trajectory(name: str, options: dict, dtype=np.float64):
    params = [nr.tensor(theta, dtype=dtype, requires_grad=True) for theta in starting_point()]
    optimizer = getattr(optim, name)(params, **options)
    trajectory = []
    for t in range(1, STEPS + 1):
        for p, g in zip(params, gradients([p.data.astype(np.float64) for p in params], t)):
            p.grad = nr.tensor(g, dtype=dtype)
        optimizer.step()
        trajectory.append([p.data.copy() for p in params])
    return trajectory, params, optimizer


def assert_same_trajectory(actual, expected, rtol=1e-7, atol=1e-10) -> None:
    assert len(actual) == len(expected) == STEPS
    for t, (ours, theirs) in enumerate(zip(actual, expected), start=1):
        for a, b in zip(ours, theirs):
            np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, err_msg=f"step {t}")


@pytest.mark.parametrize(("name", "reference", "options"), CASES, ids=IDS)
def test_trajectory_matches_the_textbook_rule(name, reference, options):
    trajectory, _, _ = neurones_trajectory(name, options)
    expected = reference(**options)
    assert not np.allclose(expected[-1][0], starting_point()[0])  # the parameters did move
    assert_same_trajectory(trajectory, expected)


@pytest.mark.parametrize(("name", "reference", "options"), CASES, ids=IDS)
def test_trajectory_matches_torch(name, reference, options):
    torch = reference_library("torch")
    params = [torch.tensor(theta, dtype=torch.float64, requires_grad=True) for theta in starting_point()]
    optimizer = getattr(torch.optim, name)(params, **options)
    expected = []
    for t in range(1, STEPS + 1):
        for p, g in zip(params, gradients([p.detach().numpy() for p in params], t)):
            p.grad = torch.from_numpy(g)
        optimizer.step()
        expected.append([p.detach().numpy().copy() for p in params])
    trajectory, _, _ = neurones_trajectory(name, options)
    assert_same_trajectory(trajectory, expected, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize(("name", "reference", "options"), CASES, ids=IDS)
def test_float32_parameters_and_state_stay_float32(name, reference, options):
    trajectory, params, optimizer = neurones_trajectory(name, options, dtype=np.float32)
    for p in params:
        assert p.dtype == np.float32
        for value in optimizer.state[p].values():
            if isinstance(value, np.ndarray):
                assert value.dtype == np.float32
    expected = reference(**options)
    assert_same_trajectory(trajectory, expected, rtol=2e-3, atol=2e-3)


def test_state_arrays_are_updated_in_place():
    params = [nr.tensor(theta, requires_grad=True) for theta in starting_point()]
    optimizer = optim.Adam(params, lr=0.05, amsgrad=True)
    for p, g in zip(params, gradients(starting_point(), 1)):
        p.grad = nr.tensor(g)
    optimizer.step()
    buffers = {key: optimizer.state[params[0]][key] for key in ("exp_avg", "exp_avg_sq", "max_exp_avg_sq")}
    data = params[0].data
    optimizer.step()
    assert params[0].data is data
    for key, array in buffers.items():
        assert optimizer.state[params[0]][key] is array


def test_sgd_leaves_the_gradient_untouched():
    p = nr.tensor([1.0, -2.0], dtype=np.float64, requires_grad=True)
    p.grad = nr.tensor([0.5, 0.25], dtype=np.float64)
    optimizer = optim.SGD([p], lr=0.1, momentum=0.9, weight_decay=0.1, nesterov=True)
    optimizer.step()
    optimizer.step()
    np.testing.assert_array_equal(p.grad.data, [0.5, 0.25])
    assert optimizer.state[p]["momentum_buffer"] is not p.grad.data


def test_adam_bias_correction_makes_the_first_step_lr_sized():
    # m̂₁ = g, v̂₁ = g²: the first step is lr · g / (|g| + ε) ≈ lr · sign(g), whatever the gradient's scale.
    p = nr.tensor([0.0, 0.0, 0.0], dtype=np.float64, requires_grad=True)
    p.grad = nr.tensor([1e-3, -5.0, 300.0], dtype=np.float64)
    optim.Adam([p], lr=0.1, eps=0.0).step()
    np.testing.assert_allclose(p.data, [-0.1, 0.1, -0.1], rtol=1e-12)
    assert math.isclose(p.data[0], -0.1)
