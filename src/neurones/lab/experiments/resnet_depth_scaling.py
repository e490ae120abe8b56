"""Depth scaling of deep ResNets at initialization ("Facteur de régulation des ResNets profonds", Shen & Vin).

For h_{k+1} = h_k + α_L V_{k+1} g(h_k, θ_{k+1}) with α_L = L^{−β}, Lemma 1 brackets the expected relative
displacement of the hidden states,

    (1 + α²/2)^L − 1  ≤  E‖h_L − h_0‖²/‖h_0‖²  ≤  (1 + α²)^L − 1,

and Proposition 6 brackets E‖p_0 − p_L‖²/‖p_L‖² (p_k = ∂L/∂h_k) the same way. With α² = L^{−2β} both bounds
tend to 0 for β > ½ (the network is the identity, Corollary 1(i)), to ∞ for β < ½ (explosion, 1(ii)), and stay
between e^{1/2} − 1 and e − 1 for β = ½ (1(iii)). For res-3 (V ReLU(W h), symmetric weights, no bias) the
lower bound is exact: E‖V ReLU(W h)‖² = ‖h‖²/2, cross terms vanish because V is centred, so
E‖h_L − h_0‖² = ((1 + α²/2)^L − 1)‖h_0‖².

Under this experiment's initialization the middle of the bracket is known exactly: each block multiplies E‖h‖² by
1 + c α² with c = E‖g(h, θ)‖²/‖h‖² = (1 + a²)/2 for res-1 and res-2 (leaky ReLU of slope a = 0.75; ½ for res-3),
so E‖h_L − h_0‖²/‖h_0‖² = (1 + c α²)^L − 1 (3.97·10¹⁰, 1.1835 and 7.82·10⁻⁴ at L = 1000 for β = ¼, ½, 1). The
claims ``004.lemma1.exact[block,β,L]`` test that value at every depth (tol 0, as ``004.lemma1.res3-exact``), and
``004.lemma1.bounds`` keeps the seed's bracket at the deepest L; Hypotheses 2 and 4 (``004.hyp2/4[block]``) are
equalities with c instead of the bands [½, 1]. At β = ¼ the ratio is nearly log-normal (log-variance ≈ 4Lα²c/d):
its mean is carried by rare draws, and a few dozen networks underestimate it and its standard error. So the deepest
β < ½ points draw ``explosion_draws`` networks (1000 at full scale: a relative standard error of about 3%, measured,
so the equality is checked to ±10%; 64 at quick scale, about ±40%; the claims' notes say so).

Proposition 6 brackets the gradients the same way, and under this protocol its middle is exact too
(``004.prop6.exact[block,β]``, derived in ``_proposition6_claims``): with p_L independent of the network,
E‖p_0 − p_L‖²/‖p_L‖² = E‖∂h_L/∂h_0 − I‖_F²/d, and Eq. (2.3)'s forward recursion for q_k = (∂h_k/∂h_0) z has a
fresh V_{k+1} at every block, so the geometric series of Lemma 1 comes back: (1 + cα²)^L − 1. (The backward
recursion hides it: p_{k+1} depends on V_{k+1} through h_{k+1}.)

Corollary 2 repeats Corollary 1's identity, explosion and critical claims for the gradients
(``004.cor2.identity|explosion|critical[block]``). The high-probability statements — Propositions 2 and 5
(ratio ≤ 2Lα²/δ when Lα² ≤ 1), Proposition 3 (ii) and Corollary 1 (iii)'s upper side — are claimed as frequencies
(:func:`~neurones.lab.claims.frequency`): over one input per network draw, at every (β, L) that meets the
statement's condition, the observed frequency of the excluded event must be ≤ δ for δ ∈ {0.1, 0.05}, up to three
binomial standard errors. Proposition 3 (i) and the lower side of Corollary 1 (iii) are vacuous (negative) unless
d > 11/(δ (3/8)²) (782 for δ = 0.1): the table ``high_probability_conditions`` records that instead of a claim that
could not fail.

Note 1 says every common default satisfies Hypothesis 1 (unit variance of √d·V). ``004.note1[init]`` measures
it: nn.Linear's default gives 1/3, TorchVision's He initialization 2, Keras' Glorot 1; and under nn.Linear's
default for V and W, Lemma 1's β = ½ limit becomes e^{1/18} − 1 ≈ 0.057 instead of e^{1/2} − 1 (claimed at
L = 100). ``004.hyp2.moment8[res-3,d]`` checks Hypothesis 2's eighth moment against its exact value at d = 16, 64,
256 (:func:`relu_norm_moment`), which decreases to 1/16: one constant C serves every width.

We draw networks of each block type (Table 2.1), β ∈ {¼, ½, 1} and depths L from 10 to 1000, push a batch of
Gaussian inputs through them, and backpropagate the loss ⟨u, h_L⟩ with u ~ N(0, I) drawn independently of the
network (so that p_L satisfies Hypothesis 3). Each network draw gives the batch mean of the squared ratios; the
expectation is estimated by the mean over draws, its standard error by their spread. Medians (Corollary 1) get
their standard errors from a bootstrap over draws.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

import neurones as nr
from neurones import nn
from neurones.analysis.residual import residual_trajectory
from neurones.lab.claims import SIGMAS, at_least, at_most, band, equality, frequency
from neurones.lab.config import scales
from neurones.lab.registry import experiment
from neurones.lab.result import Result
from neurones.lab.statistics import bootstrap_stderr, mean_and_stderr, median, median_change, median_loglog_slope
from neurones.lab.sweep import grid, sweep
from neurones.nn.scaled_resnet import DEFAULT_LEAKY_SLOPE, ScaledResNet
from neurones.ops.activations import array_activation_and_slope

SOURCE = "shen-vin-2023"
BLOCKS = ("res-1", "res-2", "res-3")
HIDDEN_GROWTH = r"$\mathbb{E}\|h_L - h_0\|^2/\|h_0\|^2$"
LEMMA_1_BAND = r"$(1 + \alpha^2/2)^L - 1$ and $(1 + \alpha^2)^L - 1$"
RES1_EXACT = (
    "for res-1 that is not $(1 + c\\,\\alpha^2)^L - 1$: $g = \\sigma(h)$ reads the signs of $h$, which persist "
    "over blocks, so the faster-growing positive coordinates are over-represented (a relative excess "
    "$O(L\\alpha^2 (1 - a^2)^2/d)$); the value comes from the exact law of one trajectory (a fresh Gaussian "
    "$V$ sends $(\\sigma(h_k), \\sigma'(h_k) \\odot q_k)$ to a Gaussian pair), by Monte Carlo over "
    "paths that cost $O(d)$ per block; the tolerance is three standard errors of that Monte Carlo."
)
HEAVY_TAIL_NOTE = (
    "For β < ½ each block also multiplies ‖h‖² by a random factor $1 + 2\\alpha\\xi$ with "
    "$\\mathrm{Var}\\,\\xi \\approx c/d$, so $\\log \\|h_L\\|^2$ has a variance of about $4 L \\alpha^2 c/d$ "
    "(≈ 1.5 at L = 1000, d = 64): the ratio is close to log-normal, its mean is carried by rare draws, and a few "
    "dozen networks underestimate both the mean and its standard error. This point draws ``explosion_draws`` "
    "networks: 1000 at full scale (relative standard error ≈ 3%, so the equality is checked to ±10%), only 64 at "
    "quick scale (≈ ±40%), where a miss measures the sample size, not an error of the formula."
)


@scales(
    quick=dict(depths=(10, 32, 100, 316, 1000), draws=16, explosion_draws=64, batch=8, hypothesis_draws=200,
               res1_paths=1000),
    smoke=dict(depths=(4, 16), draws=3, explosion_draws=4, batch=4, width=16, hypothesis_draws=20, res1_paths=50),
)
@dataclass(frozen=True)
class DepthScalingConfig:
    """``draws`` independent networks per (block, β, L); each carries a batch of ``batch`` Gaussian inputs.
    ``explosion_draws`` replaces ``draws`` for β < ½ at the deepest L, where the ratio is nearly log-normal with a
    log-variance of about 4Lα²c/d and its mean needs many more networks (see ``HEAVY_TAIL_NOTE``)."""

    depths: tuple[int, ...] = (10, 19, 37, 72, 139, 268, 518, 1000)
    betas: tuple[float, ...] = (0.25, 0.5, 1.0)
    blocks: tuple[str, ...] = BLOCKS
    width: int = 64
    draws: int = 50
    explosion_draws: int = 1000
    batch: int = 16
    hypothesis_draws: int = 400
    res1_paths: int = 4000

    def __post_init__(self) -> None:
        if min(self.depths) < 1 or min(self.draws, self.explosion_draws, self.res1_paths) < 3 or self.batch < 1 \
                or self.width < 1:
            raise ValueError("depths ≥ 1, draws, explosion_draws and res1_paths ≥ 3, batch ≥ 1 and width ≥ 1 are "
                             "required")
        if any(block not in BLOCKS for block in self.blocks):
            raise ValueError(f"blocks must be among {BLOCKS}")


def lemma1_bounds(alpha: float, depth: int) -> tuple[float, float]:
    """((1 + α²/2)^L − 1, (1 + α²)^L − 1), computed with log1p/expm1 so that deep nets keep full precision."""
    return math.expm1(depth * math.log1p(alpha**2 / 2)), math.expm1(depth * math.log1p(alpha**2))


def _measure(point: Mapping[str, Any], rng: np.random.Generator) -> dict[str, Any]:
    """Ratios for ``draws`` networks at one (block, β, L): per draw, batch means of the squared ratios and the
    per-example ratios themselves (for medians)."""
    block, beta, depth, width = point["block"], point["beta"], point["depth"], point["width"]
    squared_states, squared_grads, state_ratios, grad_ratios = [], [], [], []
    for _ in range(point["draws"]):
        net = ScaledResNet(width, width, 1, depth, block=block, beta=beta, rng=rng)
        x = nr.randn(point["batch"], width, rng=rng)
        u = rng.standard_normal((point["batch"], width)).astype(np.float32)
        trajectory = residual_trajectory(net, x, u)
        squared_states.append(np.mean(trajectory.state_ratio**2))
        squared_grads.append(np.mean(trajectory.gradient_ratio**2))
        state_ratios.append(trajectory.state_ratio)
        grad_ratios.append(trajectory.gradient_ratio)
    alpha = depth ** (-beta)
    low, high = lemma1_bounds(alpha, depth)
    if block == "res-1":
        state, state_se, jacobian, jacobian_se = res1_exact_growth(width, alpha, depth, point["res1_paths"], rng)
    else:
        state = jacobian = lemma1_exact(block, alpha, depth)
        state_se = jacobian_se = 0.0
    return {
        "block": block,
        "beta": beta,
        "depth": depth,
        "alpha": alpha,
        "lemma1_low": low,
        "lemma1_high": high,
        "state_exact": state,
        "state_exact_se": state_se,
        "grad_exact": jacobian,
        "grad_exact_se": jacobian_se,
        "state_sq_per_draw": np.array(squared_states),
        "grad_sq_per_draw": np.array(squared_grads),
        "state_ratio_per_draw": np.stack(state_ratios),
        "grad_ratio_per_draw": np.stack(grad_ratios),
    }


def _hypothesis_ratios(block: str, width: int, draws: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Hypotheses 2 and 4 for one block: ‖g(h, θ)‖²/‖h‖² and ‖∂g/∂h q‖²/‖q‖² for random h, q and θ."""
    forward, backward = [], []
    for _ in range(draws):
        net = ScaledResNet(width, width, 1, 1, block=block, rng=rng)
        layer = net.blocks[0]
        h = rng.standard_normal(width)
        q = rng.standard_normal(width)
        u = h if layer.W is None else layer.W.data.astype(np.float64) @ h
        dq = q if layer.W is None else layer.W.data.astype(np.float64) @ q
        g, slope = array_activation_and_slope(layer.activation, layer.negative_slope)(u)
        forward.append(np.sum(g**2) / np.sum(h**2))
        backward.append(np.sum((slope * dq) ** 2) / np.sum(q**2))
    return np.array(forward), np.array(backward)


@experiment(
    "resnet-depth-scaling",
    config=DepthScalingConfig,
    title="Depth scaling α_L = L^(−β) of deep ResNets at initialization",
    source=SOURCE,
)
def run(config: DepthScalingConfig, rng: np.random.Generator) -> Result:
    result = Result(config)
    points = [
        {**p, "width": config.width, "draws": _draws(config, p["beta"], p["depth"]), "batch": config.batch,
         "res1_paths": config.res1_paths}
        for p in grid(block=config.blocks, beta=config.betas, depth=config.depths)
    ]
    measurements = sweep(_measure, points, rng, desc="ResNet depth scaling")
    _hypothesis_claims(result, config, rng)
    _note1_and_moment_claims(result, config, rng)
    _lemma1_claims(result, config, measurements)
    _proposition6_claims(result, config, measurements)
    _corollary_claims(result, config, measurements, rng)
    _high_probability_claims(result, config, measurements)
    result.table("ratios", [_record(m) for m in measurements])
    _figures(result, config, measurements)
    return result


def _draws(config: DepthScalingConfig, beta: float, depth: int) -> int:
    """Networks drawn at (β, L): ``explosion_draws`` where the heavy tail is widest (β < ½, deepest L)."""
    return config.explosion_draws if beta < 0.5 and depth == max(config.depths) else config.draws


def _record(m: Mapping[str, Any]) -> dict[str, Any]:
    state_mean, state_se = mean_and_stderr(m["state_sq_per_draw"])
    grad_mean, grad_se = mean_and_stderr(m["grad_sq_per_draw"])
    return {
        "block": m["block"],
        "beta": m["beta"],
        "depth": m["depth"],
        "alpha": m["alpha"],
        "lemma1_low": m["lemma1_low"],
        "lemma1_high": m["lemma1_high"],
        "networks": len(m["state_sq_per_draw"]),
        "mean_state_ratio_sq": state_mean,
        "stderr_state_ratio_sq": state_se,
        "mean_grad_ratio_sq": grad_mean,
        "stderr_grad_ratio_sq": grad_se,
        "median_state_ratio": float(np.median(m["state_ratio_per_draw"])),
    }


def block_gain(block: str) -> float:
    """E‖g(h, θ)‖²/‖h‖² = E‖∂g/∂h q‖²/‖q‖² under the experiment's initialization: ½ for res-3 (ReLU), (1 + a²)/2
    for res-1 and res-2 (leaky ReLU of slope a): a symmetric pre-activation is on either side of 0 with
    probability ½, independently of its size, and the slope² there is 1 or a²."""
    slope = 0.0 if block == "res-3" else DEFAULT_LEAKY_SLOPE
    return (1 + slope**2) / 2


def lemma1_exact(block: str, alpha: float, depth: int) -> float:
    """E‖h_L − h_0‖²/‖h_0‖² = (1 + c α²)^L − 1 with c = :func:`block_gain`, exactly for res-2 and res-3 (V
    centred, so cross terms vanish, and a fresh W makes E‖g(h_k)‖² = c‖h_k‖² at every block, so each block
    multiplies E‖h‖² by 1 + c α²); for res-1 only the leading order (:func:`res1_exact_growth`)."""
    return math.expm1(depth * math.log1p(block_gain(block) * alpha**2))


def res1_exact_growth(width: int, alpha: float, depth: int, paths: int,
                      rng: np.random.Generator) -> tuple[float, float, float, float]:
    """res-1's E‖h_L − h_0‖²/‖h_0‖² and E‖J − I‖_F²/d (J = ∂h_L/∂h_0), with standard errors, from the exact law of
    one input's trajectory: ``(state, state_se, jacobian, jacobian_se)``.

    res-1's g = σ(h) reads the signs of h itself, and a coordinate keeps its sign over many blocks, so
    E‖σ(h_k)‖² = c E‖h_k‖² only at k = 0: the positive coordinates, which grow faster, are over-represented,
    and the value exceeds (1 + cα²)^L − 1 by a relative O(Lα² (1 − a²)²/d) (+1.5% at d = 64, L = 100,
    α = 0.3; +7% at β = ¼, L = 1000). Given the past, a fresh Gaussian V_{k+1} sends the pair
    (σ(h_k), σ′(h_k) ⊙ q_k) to a Gaussian pair in R^d with covariance (Gram of the pair)/d ⊗ I, so paths of
    (h_k, q_k) cost O(d) per block instead of O(d²), and h_0, z = q_0 are independent N(0, I) (the inputs and
    directions of the protocol). The expectations are read through E[‖h_{k+1}‖² | past] = ‖h_k‖²(1 + α²
    ‖σ(h_k)‖²/‖h_k‖²) (and the same for q), as E Π_k (1 + α² ‖σ(h_k)‖²/‖h_k‖²): far lighter-tailed than ‖h_L‖²
    itself, and equal to it in expectation up to O(α³) per block (the radial and angular noise of one block
    are not independent in discrete time; tested against the direct estimate)."""
    d, slope = width, DEFAULT_LEAKY_SLOPE
    h, q = rng.standard_normal((paths, d)), rng.standard_normal((paths, d))
    log_state, log_jacobian = np.zeros(paths), np.zeros(paths)
    for _ in range(depth):
        derivative = np.where(h > 0, 1.0, slope)
        x, y = derivative * h, derivative * q  # σ(h) and σ′(h) ⊙ q
        xx, yy, xy = np.sum(x**2, axis=1), np.sum(y**2, axis=1), np.sum(x * y, axis=1)
        log_state += np.log1p(alpha**2 * xx / np.sum(h**2, axis=1))
        log_jacobian += np.log1p(alpha**2 * yy / np.sum(q**2, axis=1))
        first, second = rng.standard_normal((paths, d)), rng.standard_normal((paths, d))
        along = xy / np.sqrt(xx)  # V y = (⟨x, y⟩/‖x‖) G₁ + √(‖y‖² − ⟨x, y⟩²/‖x‖²) G₂, up to the factor 1/√d
        across = np.sqrt(np.maximum(yy - along**2, 0.0))
        h = h + (alpha / math.sqrt(d)) * np.sqrt(xx)[:, None] * first
        q = q + (alpha / math.sqrt(d)) * (along[:, None] * first + across[:, None] * second)
    # E‖h_L − h_0‖²/‖h_0‖² = E Π − 1 (the cross term is a martingale increment), and the same for E‖q_L − z‖²/d:
    # q_k is linear in z, so Π depends on z's direction only and E‖z‖²(Π − 1)/d = E(Π − 1). Subtracting inside
    # the mean keeps the precision of small values (β = 1).
    state, state_se = mean_and_stderr(np.expm1(log_state))
    jacobian, jacobian_se = mean_and_stderr(np.expm1(log_jacobian))
    return state, state_se, jacobian, jacobian_se


def _hypothesis_claims(result: Result, config: DepthScalingConfig, rng: np.random.Generator) -> None:
    for block in config.blocks:
        forward, backward = _hypothesis_ratios(block, config.width, config.hypothesis_draws, rng)
        activation = "ReLU" if block == "res-3" else f"leaky ReLU of slope $a = {DEFAULT_LEAKY_SLOPE:g}$"
        value = block_gain(block)
        measured, stderr = mean_and_stderr(forward)
        result.claim(equality(
            f"004.hyp2[{block}]",
            f"{block} ({activation}, entries of √d·W of unit variance, isotropic Gaussian h): Hypothesis 2's ratio "
            r"$\mathbb{E}\|g(h, \theta)\|^2/\|h\|^2$ is exactly "
            + ("½" if block == "res-3" else f"$(1 + a^2)/2 = {value:g}$")
            + r", inside the seed's $[\tfrac12, 1]$ (Proposition 1).",
            f"{SOURCE}, §2.1, Hypothèse 2 and Proposition 1",
            predicted=value, measured=measured, stderr=stderr, tol=0.0,
        ))
        measured, stderr = mean_and_stderr(backward)
        result.claim(equality(
            f"004.hyp4[{block}]",
            f"{block}: Hypothesis 4's ratio "
            r"$\mathbb{E}\|\tfrac{\partial g}{\partial h} q\|^2/\|q\|^2$"
            f" for a random direction $q$ is exactly {value:g}, inside the seed's $[\\tfrac12, 1]$ (Proposition 4).",
            f"{SOURCE}, §2.3, Hypothèse 4 and Proposition 4",
            predicted=value, measured=measured, stderr=stderr, tol=0.0,
        ))


def _lemma1_claims(result: Result, config: DepthScalingConfig, measurements: list[dict]) -> None:
    deepest = max(config.depths)
    for m in measurements:
        mean, stderr = mean_and_stderr(m["state_sq_per_draw"])
        if m["block"] == "res-3":
            result.claim(equality(
                f"004.lemma1.res3-exact[beta={m['beta']:g},L={m['depth']}]",
                f"res-3, $\\beta = {m['beta']:g}$, $L = {m['depth']}$ ($\\alpha = {m['alpha']:.4g}$): "
                + HIDDEN_GROWTH + r" $= (1 + \alpha^2/2)^L - 1$ exactly (Lemma 1's lower bound is attained for "
                r"symmetric $V$, $W$ and no bias); at $\beta = \tfrac12$ it tends to $e^{1/2} - 1 \approx 0.6487$.",
                f"{SOURCE}, Lemme 1",
                predicted=m["lemma1_low"], measured=mean, stderr=stderr, tol=0.0,
            ))
        else:
            result.claim(equality(
                f"004.lemma1.exact[{m['block']},beta={m['beta']:g},L={m['depth']}]",
                f"{m['block']}, $\\beta = {m['beta']:g}$, $L = {m['depth']}$ ($\\alpha = {m['alpha']:.4g}$): "
                + HIDDEN_GROWTH + " takes its exact value under this initialization (between Lemma 1's bounds): "
                + (RES1_EXACT if m["block"] == "res-1"
                   else f"$(1 + c\\,\\alpha^2)^L - 1$, $c = (1 + a^2)/2 = {block_gain(m['block']):g}$."),
                f"{SOURCE}, Lemme 1",
                predicted=m["state_exact"], measured=mean, stderr=stderr, tol=SIGMAS * m["state_exact_se"],
                notes=HEAVY_TAIL_NOTE if m["beta"] < 0.5 else "",
            ))
        if m["block"] != "res-3" and m["depth"] == deepest:
            result.claim(band(
                f"004.lemma1.bounds[{m['block']},beta={m['beta']:g}]",
                f"{m['block']}, $\\beta = {m['beta']:g}$, $L = {m['depth']}$: " + HIDDEN_GROWTH
                + " lies between " + LEMMA_1_BAND + " (Lemma 1).",
                f"{SOURCE}, Lemme 1",
                low=m["lemma1_low"], high=m["lemma1_high"], measured=mean, stderr=stderr,
            ))


def _proposition6_claims(result: Result, config: DepthScalingConfig, measurements: list[dict]) -> None:
    """Proposition 6's bracket (``004.prop6``) and, inside it, the exact value under this protocol
    (``004.prop6.exact``): E‖p_0 − p_L‖²/‖p_L‖² = E‖J − I‖_F²/d, the value of Lemma 1.

    p_0 = Jᵀ p_L with J = ∂h_L/∂h_0, so for b = p_L/‖p_L‖ uniform on the sphere (p_L drawn independently of the
    network: Hypothesis 3 imposed) E[‖(J − I)ᵀ b‖² | J] = ‖J − I‖_F²/d = E_z‖q_L(z) − z‖²/d with z ~ N(0, I)
    and q_k = (∂h_k/∂h_0) z (Eq. 2.3). The forward recursion q_{k+1} = q_k + α V_{k+1} D_k q_k has D_k = ∂g/∂h at
    h_k, built from h_k and θ_{k+1} only, so V_{k+1} is independent of (q_k, D_k): cross terms vanish and
    E‖q_{k+1} − z‖² = E‖q_k − z‖² + α² E‖D_k q_k‖², with E‖D_k q_k‖² = c E‖q_k‖² for res-2 and res-3 (the
    slope² is 1 or a² with probability ½ whatever q_k is, :func:`block_gain`), hence (1 + cα²)^L − 1. The
    backward recursion p_k = p_{k+1} + α D_kᵀ V_{k+1}ᵀ p_{k+1} hides this, since p_{k+1} depends on V_{k+1}
    through h_{k+1}. res-1's D_k reads the signs of h_k, as in Lemma 1: :func:`res1_exact_growth`."""
    deepest = max(config.depths)
    for m in measurements:
        if m["depth"] != deepest:
            continue
        mean, stderr = mean_and_stderr(m["grad_sq_per_draw"])
        result.claim(band(
            f"004.prop6[{m['block']},beta={m['beta']:g}]",
            f"{m['block']}, $\\beta = {m['beta']:g}$, $L = {m['depth']}$: "
            r"$\mathbb{E}\|p_0 - p_L\|^2/\|p_L\|^2$ lies between " + LEMMA_1_BAND
            + r" (Proposition 6; tighter than Corollary 2(iii)'s $e^4 - 1$).",
            f"{SOURCE}, Proposition 6",
            low=m["lemma1_low"], high=m["lemma1_high"], measured=mean, stderr=stderr,
        ))
        result.claim(equality(
            f"004.prop6.exact[{m['block']},beta={m['beta']:g}]",
            f"{m['block']}, $\\beta = {m['beta']:g}$, $L = {m['depth']}$: with $p_L$ drawn independently of the "
            r"network (Hypothesis 3), $\mathbb{E}\|p_0 - p_L\|^2/\|p_L\|^2 = \mathbb{E}\|J - I\|_F^2/d$, "
            r"$J = \partial h_L/\partial h_0$, which Eq. (2.3)'s forward recursion makes "
            + (f"Lemma 1's value $(1 + c\\,\\alpha^2)^L - 1$, $c = {block_gain(m['block']):g}$, exactly."
               if m["block"] != "res-1" else RES1_EXACT),
            f"{SOURCE}, Proposition 6 and Eq. (2.3)",
            predicted=m["grad_exact"], measured=mean, stderr=stderr, tol=SIGMAS * m["grad_exact_se"],
            notes=HEAVY_TAIL_NOTE if m["beta"] < 0.5 else "",
        ))


COROLLARIES = (
    ("cor1", "state_ratio_per_draw", "‖h_L − h_0‖/‖h_0‖", "hidden states", "Corollaire 1"),
    ("cor2", "grad_ratio_per_draw", "‖p_0 − p_L‖/‖p_L‖", "gradients", "Corollaire 2"),
)


def _corollary_claims(result: Result, config: DepthScalingConfig, measurements: list[dict],
                      rng: np.random.Generator) -> None:
    """Corollaries 1 (hidden states) and 2 (gradients): identity for β = 1, explosion for β = ¼, a non-degenerate
    limit for β = ½, each on the median ratio over draws and inputs."""
    depths = np.array(sorted(config.depths), dtype=np.float64)
    deepest = int(depths[-1])
    slope = median_loglog_slope(depths)

    for name, key, ratio, what, where in COROLLARIES:
        by_key = {(m["block"], m["beta"], m["depth"]): m[key] for m in measurements}
        for block in config.blocks:
            if 1.0 in config.betas and len(depths) >= 3:
                per_depth = [by_key[(block, 1.0, int(d))] for d in depths]
                result.claim(band(
                    f"004.{name}.identity[{block}]",
                    f"{block}, β = 1: the median of {ratio} decays like L^(−1/2) (fitted log–log slope over "
                    f"L ∈ [{int(depths[0])}, {deepest}]): the {what} tend to those of the identity ({where} (i)).",
                    f"{SOURCE}, {where} (i)",
                    low=-0.6, high=-0.4, measured=slope(*per_depth), stderr=bootstrap_stderr(slope, per_depth, rng),
                ))
            if 0.25 in config.betas:
                deep = by_key[(block, 0.25, deepest)]
                result.claim(at_least(
                    f"004.{name}.explosion[{block}]",
                    f"{block}, β = ¼: the {what} explode, the median of {ratio} exceeds 100 at L = {deepest} "
                    f"({where} (ii)).",
                    f"{SOURCE}, {where} (ii)",
                    low=100.0, measured=median(deep), stderr=bootstrap_stderr(median, [deep], rng),
                ))
            span = critical_depths(config.depths)
            if 0.5 in config.betas and span is not None:
                pair = [by_key[(block, 0.5, span[0])], by_key[(block, 0.5, span[1])]]
                result.claim(at_most(
                    f"004.{name}.critical[{block}]",
                    f"{block}, β = ½: the median of {ratio} changes by less than 25% between L = {span[0]} and "
                    f"L = {span[1]} ({where} (iii): a non-degenerate limit).",
                    f"{SOURCE}, {where} (iii)",
                    high=0.25, measured=median_change(*pair), stderr=bootstrap_stderr(median_change, pair, rng),
                ))


def critical_depths(depths) -> tuple[int, int] | None:
    """The two depths of the critical claims: the smallest L ≥ 100 and the deepest, at least 5× apart (100 and
    1000 at quick scale, 139 and 1000 at full scale); None if the grid has no such pair."""
    deep = max(depths)
    candidates = [d for d in depths if d >= 100 and 5 * d <= deep]
    return (min(candidates), deep) if candidates else None


DELTAS = (0.1, 0.05)
SUBGAUSSIAN_S = 1.0
"""Gaussian entries of √d·V are 1-sub-Gaussian in the sense of the seed's Definition 1."""


def eighth_moment_constant(width: int) -> float:
    """A valid C of Hypothesis 2's E‖g‖⁸ ≤ C‖h‖⁸ for the three blocks: |g| ≤ |W h| entrywise (or ≤ |h| for
    res-1), and E(‖W h‖²/‖h‖²)⁴ = E(χ²_d/d)⁴ = d(d+2)(d+4)(d+6)/d⁴ for Gaussian √d·W."""
    d = width
    return d * (d + 2) * (d + 4) * (d + 6) / d**4


def _high_probability_claims(result: Result, config: DepthScalingConfig, measurements: list[dict]) -> None:
    """Propositions 2, 3 (ii) and 5 and Corollary 1 (iii) say "with probability ≥ 1 − δ": each network draw gives
    one trial (its first input), and the observed frequency of the event the statement excludes must be ≤ δ."""
    d, s = config.width, SUBGAUSSIAN_S
    root_c = math.sqrt(eighth_moment_constant(d))
    prop3_alpha2 = 1 / (root_c * (d + 128 * s**4))
    cor1_depth = (0.5 * root_c * s**4 + 2 * root_c + 8 * s**4) * d + 96 * root_c * s**4
    thresholds = []
    for block in config.blocks:
        ms = [m for m in measurements if m["block"] == block]
        for delta in DELTAS:
            specs = [
                ("prop2", "state_ratio_per_draw", "Proposition 2", "‖h_L − h_0‖²/‖h_0‖² > 2Lα²/δ",
                 lambda m: m["depth"] * m["alpha"] ** 2 <= 1,
                 lambda m, delta=delta: 2 * m["depth"] * m["alpha"] ** 2 / delta, "L α² ≤ 1"),
                ("prop5", "grad_ratio_per_draw", "Proposition 5", "‖p_0 − p_L‖²/‖p_L‖² > 2Lα²/δ",
                 lambda m: m["depth"] * m["alpha"] ** 2 <= 1,
                 lambda m, delta=delta: 2 * m["depth"] * m["alpha"] ** 2 / delta, "L α² ≤ 1"),
                ("prop3", "state_ratio_per_draw", "Proposition 3 (ii)",
                 "‖h_L − h_0‖²/‖h_0‖² ≥ exp(Lα² + √(5Lα²/(dδ))) + 1",
                 lambda m: m["alpha"] ** 2 <= prop3_alpha2,
                 lambda m, delta=delta: math.exp(m["depth"] * m["alpha"] ** 2
                                                 + math.sqrt(5 * m["depth"] * m["alpha"] ** 2 / (d * delta))) + 1,
                 f"α² ≤ 1/(√C(d + 128s⁴)) = {prop3_alpha2:.3g}"),
                ("cor1.band", "state_ratio_per_draw", "Corollaire 1 (iii)",
                 "‖h_L − h_0‖²/‖h_0‖² ≥ exp(1 + √(10/(dδ))) + 1",
                 lambda m: m["beta"] == 0.5 and m["depth"] >= cor1_depth and d >= 64,
                 lambda m, delta=delta: math.exp(1 + math.sqrt(10 / (d * delta))) + 1,
                 f"β = ½, d ≥ 64 and L ≥ {cor1_depth:.0f}"),
            ]  # fmt: skip
            for name, key, where, event, applies, threshold, condition in specs:
                trials = [(m, m[key][:, 0] ** 2) for m in ms if applies(m)]
                if not trials:
                    thresholds.append({"claim": name, "block": block, "delta": delta, "applies_at": condition,
                                       "note": "no (β, L) of this scale meets the condition"})  # fmt: skip
                    continue
                count = sum(len(values) for _, values in trials)
                violations = sum(int(np.sum(values > threshold(m))) for m, values in trials)
                result.claim(frequency(
                    f"004.{name}[{block},delta={delta:g}]",
                    f"{block}: with probability at least 1 − δ = {1 - delta:g}, the event {event} does not happen "
                    f"(where {condition}); measured: its frequency over {count} networks (one input each) at every "
                    f"(β, L) of this scale that meets the condition.",
                    f"{SOURCE}, {where}",
                    violations=violations, trials=count, delta=delta,
                ))
    # Proposition 3 (i) and the lower side of Corollary 1 (iii) bound the ratio from below by exp(3Lα²/8 −
    # √(11Lα²/(dδ))) − 1, which is negative (no statement at all) unless d > 11/(δ (3/8)² Lα²): recorded, not
    # claimed, since a claim that cannot fail is no claim.
    for delta in DELTAS:
        thresholds.append({"claim": "prop3(i) and cor1(iii) lower side", "block": "all", "delta": delta,
                           "applies_at": f"d > {11 / (delta * (3 / 8) ** 2):.0f} at Lα² = 1 (here d = {d})",
                           "note": "vacuous at this width: the lower bound is negative"})  # fmt: skip
    result.table("high_probability_conditions", thresholds)


NOTE1_INITS = {
    # name: (what it is, the variance of √d·V it gives for a square d×d matrix)
    "pytorch-linear": ("nn.Linear's default, kaiming_uniform_(a=√5): U(±1/√fan_in)", 1 / 3),
    "torchvision-he": ("TorchVision's ResNets, kaiming_normal_(mode='fan_out', nonlinearity='relu')", 2.0),
    "keras-glorot": ("Keras' default, glorot_uniform (xavier_uniform_)", 1.0),
}
NOTE1_DEPTH = 100
MOMENT_WIDTHS = (16, 64, 256)


def _draw_note1(init: str, weight, rng: np.random.Generator) -> None:
    if init == "pytorch-linear":
        nn.init.kaiming_uniform_(weight, a=math.sqrt(5), rng=rng)
    elif init == "torchvision-he":
        nn.init.kaiming_normal_(weight, mode="fan_out", nonlinearity="relu", rng=rng)
    else:
        nn.init.xavier_uniform_(weight, rng=rng)


def relu_norm_moment(width: int, power: int = 4) -> float:
    """E[(‖ReLU(W h)‖²/‖h‖²)^power] for Gaussian √d·W: ‖ReLU(W h)‖²/‖h‖² = (1/d) Σ_i Y_i with Y_i = ReLU(z_i)²,
    z_i i.i.d. N(0, 1), E Y^k = ½ (2k − 1)!!; the moment of the mean of d i.i.d. terms, summed over the partitions
    of the ``power`` draws into distinct indices (``power`` = 4: Hypothesis 2's eighth moment of ‖g‖)."""
    if power != 4:
        raise ValueError("only the fourth moment (Hypothesis 2's eighth moment of ‖g‖) is implemented")
    d = width
    m1, m2, m3, m4 = (0.5 * math.prod(range(1, 2 * k, 2)) for k in (1, 2, 3, 4))
    total = (d * m4 + 4 * d * (d - 1) * m3 * m1 + 3 * d * (d - 1) * m2**2
             + 6 * d * (d - 1) * (d - 2) * m2 * m1**2 + d * (d - 1) * (d - 2) * (d - 3) * m1**4)  # fmt: skip
    return total / d**4


def _note1_and_moment_claims(result: Result, config: DepthScalingConfig, rng: np.random.Generator) -> None:
    """Note 1: which common initializations give Hypothesis 1's unit variance of √d·V, and what PyTorch's default
    does to Lemma 1; Hypothesis 2's eighth moment for res-3 at several widths."""
    d, draws = config.width, config.hypothesis_draws
    for init, (what, expected) in NOTE1_INITS.items():
        variances = []
        for _ in range(draws):
            weight = nn.Linear(d, d, bias=False, dtype=np.float64, rng=rng).weight
            _draw_note1(init, weight, rng)
            variances.append(float(np.var(math.sqrt(d) * weight.data)))
        measured, stderr = mean_and_stderr(variances)
        result.claim(equality(
            f"004.note1[{init}]",
            f"{what}: the entries of $\\sqrt{{d}}\\,V$ ($d = {d}$) have variance {expected:g}"
            + (", as Hypothesis 1 requires." if expected == 1 else ", not the unit variance of Hypothesis 1 that "
               "the seed's Note 1 says every default satisfies."),
            f"{SOURCE}, Note 1 and Hypothèse 1",
            predicted=expected, measured=measured, stderr=stderr, tol=0.0,
        ))
    # Lemma 1 for res-3 when V and W both take nn.Linear's default: each block multiplies E‖h‖² by
    # 1 + α² Var(√d V) · ½ Var(√d W) = 1 + α²/18, so at β = ½ the limit is e^{1/18} − 1 ≈ 0.057, not e^{1/2} − 1.
    alpha = NOTE1_DEPTH ** -0.5
    predicted = math.expm1(NOTE1_DEPTH * math.log1p(alpha**2 / 18))
    ratios = []
    for _ in range(draws // 4):
        net = ScaledResNet(d, d, 1, NOTE1_DEPTH, block="res-3", beta=0.5, rng=rng)
        for block in net.blocks:
            for weight in (block.V, block.W):
                _draw_note1("pytorch-linear", weight, rng)
        x = nr.randn(config.batch, d, rng=rng)
        u = rng.standard_normal((config.batch, d)).astype(np.float32)
        ratios.append(float(np.mean(residual_trajectory(net, x, u).state_ratio ** 2)))
    measured, stderr = mean_and_stderr(ratios)
    result.claim(equality(
        "004.note1[lemma1-pytorch-default]",
        f"res-3, $\\beta = \\tfrac12$, $L = {NOTE1_DEPTH}$, with $V$ and $W$ drawn by nn.Linear's default: "
        + HIDDEN_GROWTH + r" $= (1 + \alpha^2/18)^L - 1$ " + f"$= {predicted:.4g}$ (the $\\beta = \\tfrac12$ limit "
        r"$e^{1/18} - 1 \approx 0.057$, below Lemma 1's $e^{1/2} - 1 \approx 0.649$, whose Hypothesis 1 fails here).",
        f"{SOURCE}, Note 1 and Lemme 1",
        predicted=predicted, measured=measured, stderr=stderr, tol=0.0,
    ))
    for width in MOMENT_WIDTHS:
        moments = []
        for _ in range(draws):
            layer = ScaledResNet(width, width, 1, 1, block="res-3", rng=rng).blocks[0]
            h = rng.standard_normal(width)
            g = np.maximum(layer.W.data.astype(np.float64) @ h, 0)
            moments.append((np.sum(g**2) / np.sum(h**2)) ** 4)
        measured, stderr = mean_and_stderr(moments)
        value = relu_norm_moment(width)
        result.claim(equality(
            f"004.hyp2.moment8[res-3,d={width}]",
            f"res-3, $d = {width}$: Hypothesis 2's eighth moment "
            r"$\mathbb{E}\|g(h, \theta)\|^8/\|h\|^8$" + f" $= {value:.4g}$ exactly; it decreases to $1/16$ as "
            f"$d$ grows, so one constant $C$ serves every width (the largest is at the smallest $d$).",
            f"{SOURCE}, §2.1, Hypothèse 2",
            predicted=value, measured=measured, stderr=stderr, tol=0.0,
        ))


def _figures(result: Result, config: DepthScalingConfig, measurements: list[dict]) -> None:
    colors = {0.25: "#c0392b", 0.5: "#2c7fb8", 1.0: "#31a354"}
    for key, name, label, what in (
        ("state_sq_per_draw", "hidden-states", "E‖h_L − h_0‖²/‖h_0‖²", "Lemma 1"),
        ("grad_sq_per_draw", "gradients", "E‖p_0 − p_L‖²/‖p_L‖²", "Proposition 6"),
    ):
        fig = result.figure(
            f"{name}-vs-depth",
            f"{label} against depth L for each block and β (mean over {config.draws} networks, "
            f"{config.explosion_draws} for β < ½ at the deepest L, ± 3 standard errors), with the {what} band "
            "[(1 + α²/2)^L − 1, (1 + α²)^L − 1] shaded (α = L^(−β)).",
            figsize=(4.2 * len(config.blocks), 3.8),
        )
        axes = np.atleast_1d(fig.subplots(1, len(config.blocks), sharey=True))
        for ax, block in zip(axes, config.blocks):
            for beta in config.betas:
                rows = sorted((m for m in measurements if m["block"] == block and m["beta"] == beta),
                              key=lambda m: m["depth"])
                depths = [m["depth"] for m in rows]
                stats = [mean_and_stderr(m[key]) for m in rows]
                color = colors.get(beta)
                ax.fill_between(depths, [m["lemma1_low"] for m in rows], [m["lemma1_high"] for m in rows],
                                color=color, alpha=0.15)
                ax.errorbar(depths, [s[0] for s in stats], yerr=[3 * s[1] for s in stats], marker="o",
                            capsize=3, color=color, label=f"β = {beta:g}")
            ax.set(xscale="log", yscale="log", xlabel="depth L", title=block)
            ax.legend()
        axes[0].set_ylabel(label)

    deepest = max(config.depths)
    if 0.5 in config.betas:
        fig = result.figure(
            "state-ratio-histogram",
            f"Distribution of ‖h_L − h_0‖/‖h_0‖ at L = {deepest}, β = ½ ({config.draws} networks × "
            f"{config.batch} inputs per block type): the critical scaling gives a non-degenerate ratio of order 1.",
            figsize=(6.4, 4.0),
        )
        ax = fig.subplots()
        for m in measurements:
            if m["beta"] == 0.5 and m["depth"] == deepest:
                ax.hist(m["state_ratio_per_draw"].ravel(), bins=30, histtype="step", linewidth=1.5, label=m["block"])
        ax.set(xlabel="‖h_L − h_0‖/‖h_0‖", ylabel="count")
        ax.legend()
