"""Learning-rate schedules: closed forms written out here, and PyTorch's sequences over 30 steps."""

from __future__ import annotations

import math

import numpy as np
import pytest

import neurones as nr
from neurones import optim
from neurones.optim import lr_scheduler
from tests.helpers import reference_library

STEPS = 30
BASE_LRS = (0.1, 0.03)


def two_group_optimizer(module=optim, tensor=None):
    tensor = tensor or (lambda: nr.tensor(np.zeros(2), requires_grad=True))
    return module.SGD([{"params": [tensor()]}, {"params": [tensor()], "lr": BASE_LRS[1]}], lr=BASE_LRS[0])


class Halving:
    """A callable object with state (saved by LambdaLR.state_dict, unlike plain functions)."""

    def __init__(self, every: int) -> None:
        self.every = every

    def __call__(self, epoch: int) -> float:
        return 0.5 ** (epoch // self.every)


def build(module, name: str, optimizer):
    """The schedules under test, built identically from ``module`` (ours or torch's lr_scheduler)."""
    if name == "StepLR":
        return module.StepLR(optimizer, step_size=4, gamma=0.5)
    if name == "MultiStepLR":
        return module.MultiStepLR(optimizer, milestones=[3, 8, 8, 20], gamma=0.3)
    if name == "ExponentialLR":
        return module.ExponentialLR(optimizer, gamma=0.9)
    if name == "CosineAnnealingLR":
        return module.CosineAnnealingLR(optimizer, T_max=10, eta_min=0.001)
    if name == "LambdaLR":
        return module.LambdaLR(optimizer, [lambda epoch: 1 / (1 + epoch), Halving(3)])
    if name == "LinearLR":
        return module.LinearLR(optimizer)
    if name == "LinearLR-decay":
        return module.LinearLR(optimizer, start_factor=1.0, end_factor=0.1, total_iters=12)
    if name == "SequentialLR":
        warmup = module.LinearLR(optimizer, start_factor=0.1, total_iters=5)
        cosine = module.CosineAnnealingLR(optimizer, T_max=12)
        return module.SequentialLR(optimizer, [warmup, cosine], milestones=[5])
    if name == "SequentialLR-three":
        first = module.ExponentialLR(optimizer, gamma=0.8)
        second = module.StepLR(optimizer, step_size=3, gamma=0.5)
        third = module.MultiStepLR(optimizer, milestones=[2, 4])
        return module.SequentialLR(optimizer, [first, second, third], milestones=[6, 15])
    raise ValueError(name)


NAMES = [
    "StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR", "LambdaLR", "LinearLR", "LinearLR-decay",
    "SequentialLR", "SequentialLR-three",
]  # fmt: skip


def closed_form(name: str, epoch: int, base: float) -> float:
    """The schedules' formulas, written independently of the library."""
    if name == "StepLR":
        return base * 0.5 ** (epoch // 4)
    if name == "MultiStepLR":
        return base * 0.3 ** sum(epoch >= m for m in (3, 8, 8, 20))
    if name == "ExponentialLR":
        return base * 0.9**epoch
    if name == "CosineAnnealingLR":
        return 0.001 + (base - 0.001) * (1 + math.cos(math.pi * epoch / 10)) / 2
    if name == "LinearLR":
        return base * (1 / 3 + (2 / 3) * min(epoch, 5) / 5)
    if name == "LinearLR-decay":
        return base * (1.0 - 0.9 * min(epoch, 12) / 12)
    if name == "SequentialLR":
        if epoch < 5:
            return base * (0.1 + 0.9 * epoch / 5)
        return base * (1 + math.cos(math.pi * (epoch - 5) / 12)) / 2
    if name == "SequentialLR-three":
        if epoch < 6:
            return base * 0.8**epoch
        if epoch < 15:
            return base * 0.5 ** ((epoch - 6) // 3)
        return base * 0.1 ** sum(epoch - 15 >= m for m in (2, 4))
    raise ValueError(name)


def our_sequence(name: str) -> list[list[float]]:
    optimizer = two_group_optimizer()
    scheduler = build(lr_scheduler, name, optimizer)
    lrs = [scheduler.get_last_lr()]
    for _ in range(STEPS):
        optimizer.step()
        scheduler.step()
        lrs.append(scheduler.get_last_lr())
        assert [group["lr"] for group in optimizer.param_groups] == lrs[-1]
    return lrs


@pytest.mark.parametrize("name", [n for n in NAMES if n != "LambdaLR"])
def test_schedule_follows_its_closed_form(name):
    lrs = our_sequence(name)
    expected = [[closed_form(name, epoch, base) for base in BASE_LRS] for epoch in range(STEPS + 1)]
    np.testing.assert_allclose(lrs, expected, rtol=1e-12, atol=1e-15)


def test_lambda_schedule_applies_one_function_per_group():
    lrs = our_sequence("LambdaLR")
    expected = [[BASE_LRS[0] / (1 + epoch), BASE_LRS[1] * 0.5 ** (epoch // 3)] for epoch in range(STEPS + 1)]
    np.testing.assert_allclose(lrs, expected, rtol=1e-15)


@pytest.mark.parametrize("name", NAMES)
def test_schedule_matches_torch(name):
    torch = reference_library("torch")
    optimizer = two_group_optimizer(torch.optim, lambda: torch.zeros(2, requires_grad=True))
    scheduler = build(torch.optim.lr_scheduler, name, optimizer)
    expected = [scheduler.get_last_lr()]
    for _ in range(STEPS):
        optimizer.step()
        scheduler.step()
        expected.append(scheduler.get_last_lr())
    np.testing.assert_allclose(our_sequence(name), expected, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name", NAMES)
def test_state_dict_round_trip_resumes_the_schedule(name):
    optimizer = two_group_optimizer()
    scheduler = build(lr_scheduler, name, optimizer)
    for _ in range(7):
        scheduler.step()
    saved_optimizer, saved = optimizer.state_dict(), scheduler.state_dict()
    assert "optimizer" not in saved
    fresh_optimizer = two_group_optimizer()
    fresh = build(lr_scheduler, name, fresh_optimizer)
    fresh_optimizer.load_state_dict(saved_optimizer)
    fresh.load_state_dict(saved)
    for _ in range(10):
        scheduler.step()
        fresh.step()
        assert fresh.get_last_lr() == scheduler.get_last_lr()
        assert [g["lr"] for g in fresh_optimizer.param_groups] == [g["lr"] for g in optimizer.param_groups]


def test_lambda_state_dict_saves_callable_objects_only():
    optimizer = two_group_optimizer()
    scheduler = lr_scheduler.LambdaLR(optimizer, [lambda epoch: 1.0, Halving(3)])
    saved = scheduler.state_dict()
    assert saved["lr_lambdas"] == [None, {"every": 3}]
    saved["lr_lambdas"][1]["every"] = 5
    scheduler.load_state_dict(saved)
    assert scheduler.lr_lambdas[1].every == 5


def test_initial_lr_is_recorded_and_required_to_resume():
    optimizer = two_group_optimizer()
    with pytest.raises(KeyError, match="initial_lr"):
        lr_scheduler.StepLR(optimizer, step_size=2, last_epoch=3)
    lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
    assert [group["initial_lr"] for group in optimizer.param_groups] == list(BASE_LRS)
    resumed = lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5, last_epoch=3)
    assert resumed.last_epoch == 4
    np.testing.assert_allclose(resumed.get_last_lr(), [b * 0.25 for b in BASE_LRS])


def test_scheduler_validation():
    optimizer = two_group_optimizer()
    with pytest.raises(TypeError, match="not an Optimizer"):
        lr_scheduler.ExponentialLR(object(), gamma=0.5)
    with pytest.raises(ValueError, match="step_size"):
        lr_scheduler.StepLR(optimizer, step_size=0)
    with pytest.raises(ValueError, match="T_max"):
        lr_scheduler.CosineAnnealingLR(optimizer, T_max=0)
    with pytest.raises(ValueError, match="start_factor"):
        lr_scheduler.LinearLR(optimizer, start_factor=0.0)
    with pytest.raises(ValueError, match="end_factor"):
        lr_scheduler.LinearLR(optimizer, end_factor=1.5)
    with pytest.raises(ValueError, match="Expected 2 lr_lambdas, but got 1"):
        lr_scheduler.LambdaLR(optimizer, [lambda epoch: 1.0])
    warmup = lr_scheduler.LinearLR(optimizer)
    with pytest.raises(ValueError, match="one milestone fewer"):
        lr_scheduler.SequentialLR(optimizer, [warmup], milestones=[3])
    with pytest.raises(ValueError, match="same optimizer"):
        lr_scheduler.SequentialLR(two_group_optimizer(), [warmup], milestones=[])


def test_scheduled_lr_drives_the_optimizer():
    p = nr.tensor(np.zeros(1), dtype=np.float64, requires_grad=True)
    optimizer = optim.SGD([p], lr=1.0)
    scheduler = lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)
    for _ in range(4):
        p.grad = nr.tensor(np.ones(1))
        optimizer.step()
        scheduler.step()
    np.testing.assert_allclose(p.data, [-(1 + 0.5 + 0.25 + 0.125)])


def test_sequential_lr_reports_the_active_schedulers_rates():
    param = nr.tensor(np.zeros(2), requires_grad=True)
    opt = optim.SGD([param], lr=1.0)
    warmup = optim.lr_scheduler.LinearLR(opt, start_factor=0.5, total_iters=2)
    decay = optim.lr_scheduler.ExponentialLR(opt, gamma=0.5)
    sequence = optim.lr_scheduler.SequentialLR(opt, [warmup, decay], milestones=[2])
    for _ in range(4):
        sequence.step()
        assert sequence.get_lr() == sequence.get_last_lr()


def test_base_classes_are_abstract():
    param = nr.tensor(np.zeros(2), requires_grad=True)
    with pytest.raises(TypeError, match="abstract"):
        optim.Optimizer([param], {"lr": 0.1})
    with pytest.raises(TypeError, match="abstract"):
        optim.lr_scheduler.LRScheduler(optim.SGD([param], lr=0.1))
