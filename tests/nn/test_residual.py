"""Residual blocks: Residual, StochasticDepth (Huang et al.; "Rien ne sert de courir...", Exercise 6), ResBlock."""

from __future__ import annotations

import math

import numpy as np
import pytest
from tests.helpers import reference_library

import neurones as nr
from neurones import nn


class Counting(nn.Module):
    """A linear branch that counts its calls, to check that a dropped branch is not computed."""

    def __init__(self, width: int, seed: int = 0) -> None:
        super().__init__()
        self.fc = nn.Linear(width, width, rng=seed)
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        return self.fc(x)


def _x(*shape, seed: int = 0) -> nr.Tensor:
    return nr.tensor(np.random.default_rng(seed).standard_normal(shape).astype(np.float32))


# ----------------------------------------------------------------------------------------------------- Residual
@pytest.mark.parametrize("scale", [1.0, 0.25])
def test_residual_adds_the_scaled_branch(scale):
    branch = nn.Linear(4, 4, rng=0)
    block = nn.Residual(branch, scale=scale)
    x = _x(3, 4)
    np.testing.assert_allclose(block(x).data, x.data + scale * branch(x).data, rtol=1e-6)
    h = nr.tensor(x.data, requires_grad=True)
    block(h).backward(np.ones((3, 4), dtype=np.float32))
    expected = 1.0 + scale * branch.weight.data.sum(axis=0)  # ∂/∂h of Σ(h + s·(h Wᵀ + b)) = 1 + s·Σ_rows W
    np.testing.assert_allclose(h.grad.data, np.broadcast_to(expected, (3, 4)), rtol=1e-6)
    assert branch.weight.grad is not None
    assert repr(block).startswith(f"Residual(\n  scale={scale}\n  (branch): Linear")


# --------------------------------------------------------------------------------------------- stochastic depth
def test_stochastic_depth_survives_at_rate_p_in_training():
    p, n = 0.3, 4000
    branch = Counting(4)
    block = nn.StochasticDepth(branch, p, rng=0)
    assert block.last_active is None
    x = _x(2, 4)
    with_branch = x.data + branch.fc(x).data
    active = 0
    for _ in range(n):
        out = block(x)
        if block.last_active:
            active += 1
            np.testing.assert_allclose(out.data, with_branch, rtol=1e-6)
        else:
            assert out is x
    assert branch.calls == active  # a dropped branch is not computed
    assert abs(active / n - p) < 4 * math.sqrt(p * (1 - p) / n)


def test_stochastic_depth_scales_the_branch_by_p_in_evaluation():
    branch = nn.Linear(4, 4, rng=1)
    block = nn.StochasticDepth(branch, 0.7, rng=0).eval()
    x = _x(3, 4)
    np.testing.assert_allclose(block(x).data, x.data + 0.7 * branch(x).data, rtol=1e-6)
    assert block.last_active is None  # evaluation draws nothing
    full = nn.StochasticDepth(branch, 1.0).eval()
    np.testing.assert_allclose(full(x).data, x.data + branch(x).data, rtol=1e-6)


def test_stochastic_depth_randomness():
    def draws(block, n=50):
        out = []
        for _ in range(n):
            block(_x(1, 2))
            out.append(block.last_active)
        return out

    first = draws(nn.StochasticDepth(nn.Identity(), 0.5, rng=3))
    assert first == draws(nn.StochasticDepth(nn.Identity(), 0.5, rng=3))
    assert 0 < sum(first) < 50
    nr.manual_seed(4)
    default = draws(nn.StochasticDepth(nn.Identity(), 0.5))
    nr.manual_seed(4)
    assert default == draws(nn.StochasticDepth(nn.Identity(), 0.5))
    state = nr.default_generator().bit_generator.state
    assert draws(nn.StochasticDepth(nn.Identity(), 1.0)) == [True] * 50
    assert nr.default_generator().bit_generator.state == state  # p = 1 uses no random number
    assert draws(nn.StochasticDepth(nn.Identity(), 0.0)) == [False] * 50
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        nn.StochasticDepth(nn.Identity(), 1.2)


def test_linear_decay_survival_and_expected_depth():
    assert nn.linear_decay_survival(4, 0.5) == [0.875, 0.75, 0.625, 0.5]
    assert nn.expected_depth(54, 0.5) == 40.25
    for L, p_L in [(1, 0.2), (10, 0.5), (110, 0.8), (7, 1.0)]:
        assert nn.expected_depth(L, p_L) == pytest.approx(sum(nn.linear_decay_survival(L, p_L)), rel=1e-12)
    with pytest.raises(ValueError, match="at least 1"):
        nn.expected_depth(0, 0.5)
    with pytest.raises(ValueError, match="p_L"):
        nn.linear_decay_survival(3, -0.1)


def test_expected_depth_by_monte_carlo():
    """Count active blocks of a linear-decay stack over many mini-batches: the mean is Σ p_l, the variance
    Σ p_l (1 − p_l) (independent draws)."""
    L, p_L, n = 12, 0.5, 2000
    survival = nn.linear_decay_survival(L, p_L)
    blocks = nn.Sequential(*[nn.StochasticDepth(nn.Identity(), p, rng=100 + i) for i, p in enumerate(survival)])
    x = _x(1, 2)
    depths = []
    for _ in range(n):
        blocks(x)
        depths.append(sum(block.last_active for block in blocks))
    variance = sum(p * (1 - p) for p in survival)
    assert abs(np.mean(depths) - nn.expected_depth(L, p_L)) < 4 * math.sqrt(variance / n)


# ------------------------------------------------------------------------------------------------------ ResBlock
def test_resblock_shapes_and_shortcuts():
    same = nn.ResBlock(4, rng=0)
    assert same.downsample is None
    assert same(_x(2, 4, 6, 6)).shape == (2, 4, 6, 6)
    down = nn.ResBlock(4, 8, stride=2, rng=0)
    assert isinstance(down.downsample, nn.Sequential) and down.downsample[0].kernel_size == (1, 1)
    assert down(_x(2, 4, 7, 7)).shape == (2, 8, 4, 4)
    widen = nn.ResBlock(4, 6, rng=0)
    assert widen.downsample is not None and widen(_x(1, 4, 5, 5)).shape == (1, 6, 5, 5)
    assert [name for name, _ in down.named_parameters()] == [
        "conv1.weight",
        "bn1.weight",
        "bn1.bias",
        "conv2.weight",
        "bn2.weight",
        "bn2.bias",
        "downsample.0.weight",
        "downsample.1.weight",
        "downsample.1.bias",
    ]


@pytest.mark.parametrize(("in_channels", "out_channels", "stride"), [(3, 3, 1), (3, 5, 2)])
def test_resblock_gradient_reaches_every_parameter(in_channels, out_channels, stride):
    block = nn.ResBlock(in_channels, out_channels, stride, dtype=np.float64, rng=1)
    x = nr.tensor(np.random.default_rng(0).standard_normal((4, in_channels, 6, 6)), requires_grad=True)
    out = block(x)
    (out * out).sum().backward()
    for name, param in block.named_parameters():
        assert param.grad is not None and np.abs(param.grad.data).sum() > 0, name
    assert np.abs(x.grad.data).sum() > 0
    assert np.all(out.data >= 0)  # the block ends with a ReLU


def _torch_basic_block(torch, in_channels, out_channels, stride):
    """The torchvision BasicBlock, written with torch.nn (torchvision is not a dependency)."""

    class BasicBlock(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = torch.nn.Conv2d(in_channels, out_channels, 3, stride, padding=1, bias=False)
            self.bn1 = torch.nn.BatchNorm2d(out_channels)
            self.relu = torch.nn.ReLU()
            self.conv2 = torch.nn.Conv2d(out_channels, out_channels, 3, 1, padding=1, bias=False)
            self.bn2 = torch.nn.BatchNorm2d(out_channels)
            self.downsample = None
            if stride != 1 or in_channels != out_channels:
                self.downsample = torch.nn.Sequential(
                    torch.nn.Conv2d(in_channels, out_channels, 1, stride, bias=False),
                    torch.nn.BatchNorm2d(out_channels),
                )

        def forward(self, x):
            identity = x if self.downsample is None else self.downsample(x)
            return self.relu(self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x))))) + identity)

    return BasicBlock().double()


@pytest.mark.parametrize(("in_channels", "out_channels", "stride"), [(4, 4, 1), (3, 6, 2)])
def test_resblock_matches_torchvisions_basic_block(in_channels, out_channels, stride):
    torch = reference_library("torch")
    theirs = _torch_basic_block(torch, in_channels, out_channels, stride)
    ours = nn.ResBlock(in_channels, out_channels, stride, dtype=np.float64)
    ours.load_state_dict({name: value.detach().numpy() for name, value in theirs.state_dict().items()})
    rng = np.random.default_rng(0)
    for mode in ("train", "eval"):
        getattr(ours, mode)()
        getattr(theirs, mode)()
        x = rng.standard_normal((2, in_channels, 7, 7))
        xo, xt = nr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        yo, yt = ours(xo), theirs(xt)
        np.testing.assert_allclose(yo.data, yt.detach().numpy(), rtol=1e-9, atol=1e-10)
        g = rng.standard_normal(yo.shape)
        yo.backward(g)
        yt.backward(torch.from_numpy(g))
        np.testing.assert_allclose(xo.grad.data, xt.grad.numpy(), rtol=1e-9, atol=1e-10)
        theirs_params = dict(theirs.named_parameters())
        for name, param in ours.named_parameters():
            np.testing.assert_allclose(param.grad.data, theirs_params[name].grad.numpy(), rtol=1e-8, atol=1e-10)
        ours.zero_grad()
        theirs.zero_grad()
    for name, buffer in theirs.named_buffers():
        np.testing.assert_allclose(dict(ours.named_buffers())[name].data, buffer.numpy(), rtol=1e-12, err_msg=name)


def test_stochastic_resblock():
    block = nn.ResBlock(3, 5, stride=2, survival_prob=0.5, dtype=np.float64, rng=2)
    x = nr.tensor(np.random.default_rng(1).standard_normal((2, 3, 6, 6)))
    outcomes = set()
    for _ in range(20):
        out = block(x)
        outcomes.add(block.last_active)
        if not block.last_active:
            np.testing.assert_allclose(out.data, np.maximum(block.downsample(x).data, 0), rtol=1e-12)
    assert outcomes == {True, False}
    block.eval()
    shortcut = block.downsample(x).data
    branch = block.bn2(block.conv2(block.relu(block.bn1(block.conv1(x))))).data
    np.testing.assert_allclose(block(x).data, np.maximum(shortcut + 0.5 * branch, 0), rtol=1e-12)
    assert "survival_prob=0.5" in repr(block)
