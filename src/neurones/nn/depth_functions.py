"""Weights as functions of depth: the initializations of "Implicit regularization of deep residual networks
towards neural ODEs" (Marion, Wu, Sander & Biau, ICLR 2024; seed 003).

A residual network h_{k+1} = h_k + (1/L) V_{k+1} σ(W_{k+1} h_k) discretizes the neural ODE
dH/ds = 𝒱(s) σ(𝒲(s) H(s)) when its weights are samples of functions of depth, V_k = 𝒱(k/L), W_k = 𝒲(k/L).
The paper's *smooth* initialization draws 𝒱, 𝒲 at random but smooth in s:

- :class:`ConstantInDepth`: 𝒵(s) = Z for every s, one matrix Z with i.i.d. N(0, std²) entries (every layer equal);
- :class:`GaussianProcessInDepth`: each entry of 𝒵 an independent, centred Gaussian process in s with covariance
  std² · exp(−(s − s′)²/(2ℓ²)) (the RBF kernel of bandwidth ℓ).

Both are *functions*: calling one on any grid of depths gives the same underlying draw, so networks of different
depths L can be initialized from the same weight functions (the convergence experiment needs exactly that).

The GP is sampled through random Fourier features (Rahimi & Recht, 2007): with ω_j ~ N(0, 1/ℓ²), b_j ~ U[0, 2π]
and a_j ~ N(0, std²) i.i.d. per entry,

    𝒵(s) = √(2/D) Σ_{j=1}^{D} a_j cos(ω_j s + b_j),

which, given (ω, b), is an exact Gaussian process whose covariance (2 std²/D) Σ_j cos(ω_j s + b_j) cos(ω_j s′ + b_j)
averages to the RBF kernel over (ω, b) — so Var 𝒵(s) = std² · (2/D) Σ_j cos²(ω_j s + b_j), std² on average, and
every sample is C^∞ in s.

The *i.i.d.* initialization (:func:`iid_in_depth`) draws every V_k, W_k independently: no function of depth.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from neurones.backend import Seed, as_generator


def depth_grid(depth: int) -> np.ndarray:
    """The depths s_k = k/L, k = 1, …, L, at which the weights V_k, W_k of an L-block network sit."""
    if depth < 1:
        raise ValueError(f"depth must be at least 1, got {depth}")
    return np.arange(1, depth + 1) / depth


class ConstantInDepth:
    """𝒵(s) = Z for all s ∈ [0, 1]: one matrix of i.i.d. N(0, std²) entries, repeated at every depth."""

    def __init__(self, shape: tuple[int, ...], std: float = 1.0, rng: Seed = None) -> None:
        self.shape = tuple(shape)
        self.std = float(std)
        self.value = as_generator(rng).standard_normal(self.shape) * self.std

    def __call__(self, s) -> np.ndarray:
        """The weights at depths ``s`` (a 1-d array): shape (len(s), *shape), float64."""
        s = np.asarray(s, dtype=np.float64)
        return np.broadcast_to(self.value, (s.size, *self.shape)).copy()

    def __repr__(self) -> str:
        return f"ConstantInDepth(shape={self.shape}, std={self.std:g})"


class GaussianProcessInDepth:
    """Each entry an independent Gaussian process in s with the RBF kernel std² exp(−(s − s′)²/(2 ℓ²)).

    ``bandwidth`` is ℓ (in units of depth s ∈ [0, 1]; large ℓ is nearly constant, small ℓ wiggles);
    ``features`` is the number D of random Fourier features.
    """

    def __init__(self, shape: tuple[int, ...], std: float = 1.0, bandwidth: float = 0.25, rng: Seed = None,
                 features: int = 256) -> None:
        if bandwidth <= 0:
            raise ValueError(f"GaussianProcessInDepth: bandwidth must be positive, got {bandwidth}")
        if features < 1:
            raise ValueError(f"GaussianProcessInDepth: features must be at least 1, got {features}")
        gen = as_generator(rng)
        self.shape = tuple(shape)
        self.std, self.bandwidth = float(std), float(bandwidth)
        self.frequencies = gen.standard_normal(features) / self.bandwidth
        self.phases = gen.uniform(0.0, 2 * math.pi, size=features)
        self.amplitudes = gen.standard_normal((features, math.prod(self.shape))) * self.std

    def __call__(self, s) -> np.ndarray:
        """The weights at depths ``s`` (a 1-d array): shape (len(s), *shape), float64."""
        s = np.asarray(s, dtype=np.float64).reshape(-1)
        features = np.cos(np.outer(s, self.frequencies) + self.phases)
        features *= math.sqrt(2 / self.frequencies.size)
        return (features @ self.amplitudes).reshape(s.size, *self.shape)

    def __repr__(self) -> str:
        return f"GaussianProcessInDepth(shape={self.shape}, std={self.std:g}, bandwidth={self.bandwidth:g})"


def iid_in_depth(shape: tuple[int, ...], depth: int, std: float = 1.0, rng: Seed = None) -> np.ndarray:
    """``depth`` matrices with all entries i.i.d. N(0, std²): shape (depth, *shape), float64."""
    return as_generator(rng).standard_normal((depth, *shape)) * float(std)


WEIGHT_INITS = ("iid", "constant", "gp", "zero")
WeightInit = str | Callable[[np.ndarray], np.ndarray]


def weights_in_depth(init: WeightInit, shape: tuple[int, ...], depth: int, std: float = 1.0, bandwidth: float = 0.25,
                     rng: Seed = None, owner: str = "weights_in_depth") -> np.ndarray:
    """The L weights Z_1, …, Z_L (shape (L, *shape), float64) of one initialization scheme.

    ``init`` is ``"iid"``, ``"constant"`` (:class:`ConstantInDepth`), ``"gp"`` (:class:`GaussianProcessInDepth`
    of ``bandwidth``), ``"zero"``, or a weight function s ↦ weights evaluated at s = k/L. ``owner`` names the
    caller in error messages.
    """
    gen = as_generator(rng)
    if callable(init):
        values = np.asarray(init(depth_grid(depth)), dtype=np.float64)
        if values.shape != (depth, *shape):
            raise ValueError(f"{owner}: a weight function must give shape {(depth, *shape)}, got {values.shape}")
        return values
    if init == "iid":
        return iid_in_depth(shape, depth, std, gen)
    if init == "constant":
        return ConstantInDepth(shape, std, gen)(depth_grid(depth))
    if init == "gp":
        return GaussianProcessInDepth(shape, std, bandwidth, gen)(depth_grid(depth))
    if init == "zero":
        return np.zeros((depth, *shape))
    raise ValueError(f"{owner}: a weight initialization is one of {WEIGHT_INITS} or a callable, got {init!r}")
