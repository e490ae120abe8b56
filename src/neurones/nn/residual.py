"""Residual building blocks: ``Residual``, ``StochasticDepth`` and the convolutional ``ResBlock``.

A residual block adds a learned branch to the identity, ``h ↦ h + branch(h)``: the signal and the gradient always
have the identity path, which is what lets ResNets train at depths where plain networks do not ("Rien ne sert de
courir, il faut partir à point", annex ResNet).

Stochastic depth (Huang et al., 2016; same document, § Stochastic depth and Exercise 6) trains a short network and
tests a deep one: in training, block ``l`` is kept with probability ``p_l`` (one Bernoulli draw per forward, i.e.
per mini-batch) and otherwise replaced by the identity; in evaluation every block is present with its branch scaled
by ``p_l``, its expected contribution in training.
"""

from __future__ import annotations

from neurones import functional as F
from neurones.backend import Seed, as_generator
from neurones.nn.activation import ReLU
from neurones.nn.containers import Sequential
from neurones.nn.conv import Conv2d
from neurones.nn.module import Module
from neurones.nn.normalization import BatchNorm2d


def linear_decay_survival(L: int, p_L: float) -> list[float]:
    """Huang et al.'s linear decay rule: ``p_l = 1 − (l/L)(1 − p_L)`` for ``l = 1..L`` (Exercise 6).

    The input (``p_0 = 1``) is always kept and the last block survives with probability ``p_L``: early blocks,
    whose features every later block uses, are dropped least.
    """
    _check_depth(L, p_L)
    return [1.0 - (i / L) * (1.0 - p_L) for i in range(1, L + 1)]


def expected_depth(L: int, p_L: float) -> float:
    """The expected number of active blocks in training under the linear decay rule (Exercise 6).

    Block ``l`` is active with probability ``p_l``, so by linearity of expectation::

        E[depth] = Σ_{l=1}^{L} p_l = L − ((1 − p_L)/L) · Σ_{l=1}^{L} l = L − ((1 − p_L)/L) · L(L + 1)/2
                 = L − (1 − p_L)(L + 1)/2.

    For the 110-layer ResNet of the paper (``L = 54`` blocks, ``p_L = 0.5``) this is 40.25 blocks: training
    runs through about a quarter fewer blocks, while evaluation uses all 54.
    """
    _check_depth(L, p_L)
    return L - (1.0 - p_L) * (L + 1) / 2.0


def _check_depth(L: int, p_L: float) -> None:
    if L < 1:
        raise ValueError(f"the number of blocks L must be at least 1, got {L}")
    _check_probability(p_L, "p_L")


def _check_probability(p: float, name: str) -> None:
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{name} must be a probability in [0, 1], got {p}")


def _survives(survival_prob: float, rng) -> bool:
    """One Bernoulli(survival_prob) draw; a block that always survives draws nothing (no random number is used)."""
    if survival_prob >= 1.0:
        return True
    return bool(as_generator(rng).random() < survival_prob)


class Residual(Module):
    """``h ↦ h + scale · branch(h)``; ``scale`` is a fixed factor such as the ``α_L = 1/L^β`` of deep ResNets."""

    def __init__(self, branch: Module, scale: float = 1.0) -> None:
        super().__init__()
        self.branch = branch
        self.scale = scale

    def forward(self, h):
        update = self.branch(h)
        return h + (update if self.scale == 1.0 else update * self.scale)

    def extra_repr(self) -> str:
        return f"scale={self.scale}"


class StochasticDepth(Module):
    """``h ↦ h + b · branch(h)`` in training with ``b ~ Bernoulli(survival_prob)`` drawn once per forward (the whole
    mini-batch shares it, and a dropped branch is not computed at all), and ``h ↦ h + survival_prob · branch(h)`` in
    evaluation.

    ``last_active`` records the last training draw (``None`` before the first), so that an experiment can count
    the active blocks. ``rng`` (a Generator, or a seed turned into one at construction) draws the Bernoulli
    variables; ``None`` uses the process-wide default Generator at each forward.
    """

    def __init__(self, branch: Module, survival_prob: float, *, rng: Seed = None) -> None:
        super().__init__()
        _check_probability(survival_prob, "survival_prob")
        self.branch = branch
        self.survival_prob = survival_prob
        self.rng = None if rng is None else as_generator(rng)
        self.last_active: bool | None = None

    def forward(self, h):
        if self.training:
            self.last_active = _survives(self.survival_prob, self.rng)
            return h + self.branch(h) if self.last_active else h
        update = self.branch(h)
        return h + (update if self.survival_prob == 1.0 else update * self.survival_prob)

    def extra_repr(self) -> str:
        return f"survival_prob={self.survival_prob}"


class ResBlock(Module):
    """He et al.'s basic residual block: ``ReLU(BN(conv3×3(ReLU(BN(conv3×3(x))))) + shortcut(x))``.

    The shortcut is the identity, or a 1×1 convolution followed by batch normalization (``downsample``) when the
    number of channels or the stride changes, so that the sum is well shaped. Submodule names are those of
    torchvision's ``BasicBlock`` (``conv1, bn1, conv2, bn2, downsample``), so state dicts carry over. Convolutions
    have no bias (the batch normalization that follows has one) and PyTorch's default initialization.

    ``survival_prob < 1`` makes the block stochastic-depth (Huang et al.): in training the residual branch is kept
    with that probability (one draw per forward, recorded in ``last_active``) and the output is then
    ``ReLU(shortcut(x))``; in evaluation the branch is scaled by ``survival_prob``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int | None = None,
        stride: int = 1,
        *,
        survival_prob: float = 1.0,
        dtype=None,
        rng: Seed = None,
    ) -> None:
        super().__init__()
        out_channels = in_channels if out_channels is None else out_channels
        _check_probability(survival_prob, "survival_prob")
        self.rng = None if rng is None else as_generator(rng)
        self.conv1 = Conv2d(in_channels, out_channels, 3, stride, padding=1, bias=False, dtype=dtype, rng=self.rng)
        self.bn1 = BatchNorm2d(out_channels, dtype=dtype)
        self.relu = ReLU()
        self.conv2 = Conv2d(out_channels, out_channels, 3, 1, padding=1, bias=False, dtype=dtype, rng=self.rng)
        self.bn2 = BatchNorm2d(out_channels, dtype=dtype)
        if stride != 1 or in_channels != out_channels:
            projection = Conv2d(in_channels, out_channels, 1, stride, bias=False, dtype=dtype, rng=self.rng)
            self.downsample = Sequential(projection, BatchNorm2d(out_channels, dtype=dtype))
        else:
            self.downsample = None
        self.survival_prob = survival_prob
        self.last_active: bool | None = None

    def _branch(self, x):
        return self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        if self.training:
            self.last_active = _survives(self.survival_prob, self.rng)
            out = identity + self._branch(x) if self.last_active else identity
        elif self.survival_prob == 1.0:
            out = identity + self._branch(x)
        else:
            out = identity + self._branch(x) * self.survival_prob
        return F.relu(out)

    def extra_repr(self) -> str:
        return f"survival_prob={self.survival_prob}" if self.survival_prob != 1.0 else ""
