r"""Depth and the conditioning of the Gram matrices of gradient descent's convergence proofs (seed 000 §7; Du, Lee,
Li, Wang & Zhai 2019, "Gradient descent finds global minima of deep neural networks").

Du et al.'s width bound for a deep network is a power of 1/λ₀, λ₀ the smallest eigenvalue of the Gram matrix
K^(L) of the last layer's features at infinite width; for a plain network their bound also grows exponentially with
the depth, for a ResNet with 1/√L-scaled branches it does not. Both Gram matrices are computed in closed form here
(the arc-cosine recursion: :func:`~neurones.analysis.ntk.infinite_width_kernels` for the plain network,
:func:`~neurones.analysis.ntk.residual_features_kernel` for the ResNet), and measured at width m on n
δ-separated inputs (radius √d): ReLU networks in the NTK parameterization (σ_w² = 2, no bias), plain
(:func:`~neurones.nn.ntk_mlp`) and residual (h ↦ h + W·ReLU(h)/√L), ``draws`` networks per depth. The scale-free
statistic is r(L) = λ_min/λ̄ (λ̄ the mean eigenvalue). Claims, on the ratio r(L_max)/r(L_min):

- ``000.du.depth-gram[features-plain]``: the plain network's feature Gram collapses: ≤ 0.2 (the infinite-width
  prediction is printed beside it: every input correlation tends to 1 with depth);
- ``000.du.depth-gram[features-resnet]``: the ResNet's stays bounded: ≥ 0.5 (its limit as L → ∞ is a flow);
- ``000.du.depth-gram[ntk-plain]`` and ``[ntk-resnet]``: the same two inequalities for the empirical NTK Gram
  matrix, as the issue states the claim. The infinite-width NTK of the plain ReLU network does *not* collapse (its
  r rises with depth, computed and printed in the claim): Θ sums the feature Gram matrices of all the layers,
  weighted by the backward products, and the shallow layers keep it well conditioned.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

import neurones as nr
from neurones import nn
from neurones.analysis.ntk import empirical_ntk, infinite_width_kernels, residual_features_kernel
from neurones.data import sphere_separated
from neurones.lab.claims import at_least, at_most
from neurones.lab.config import scales
from neurones.lab.registry import experiment
from neurones.lab.result import Result
from neurones.lab.statistics import ratio_of_means
from neurones.lab.sweep import sweep
from neurones.nn.ntk import NTKLinear
from neurones.train import relu_inputs

SOURCE = "merad-2020, §7 (Du et al. 2019)"
WEIGHT_STD = float(np.sqrt(2))
COLLAPSED, BOUNDED = 0.2, 0.5
ARCHITECTURES = ("plain", "resnet")
NTK_NOTE = ("The issue states the collapse for the NTK Gram matrix; at infinite width the plain ReLU network's NTK "
            "does not collapse (the ratio printed above, from the closed-form recursion), because Θ sums the "
            "feature Gram matrices of every layer and the shallow ones stay well conditioned. Du et al.'s λ₀ is "
            "the last features' Gram matrix, the [features-plain] claim.")


@scales(quick=dict(depths=(1, 2, 4, 8, 16, 32, 64), width=512, draws=8),
        smoke=dict(depths=(1, 2, 4), width=32, draws=2, points=8, dimension=4))
@dataclass(frozen=True)
class DepthConditioningConfig:
    depths: tuple[int, ...] = (1, 2, 4, 8, 16, 32, 64, 128)
    width: int = 1024
    draws: int = 8
    points: int = 32
    dimension: int = 16
    separation: float = 0.5

    def __post_init__(self) -> None:
        if len(self.depths) < 3 or list(self.depths) != sorted(self.depths) or self.depths[0] < 1:
            raise ValueError("at least three increasing depths ≥ 1 are required")
        if self.width < 1 or self.draws < 2 or self.points < 2 or self.dimension < 1:
            raise ValueError("width ≥ 1, draws ≥ 2, points ≥ 2 and dimension ≥ 1 are required")


def _network(architecture: str, depth: int, width: int, dimension: int, rng: np.random.Generator) -> nn.Sequential:
    if architecture == "plain":
        return nn.ntk_mlp([dimension] + [width] * depth + [1], weight_std=WEIGHT_STD, dtype=np.float64, rng=rng)
    layers: list[nn.Module] = [NTKLinear(dimension, width, WEIGHT_STD, 0.0, dtype=np.float64, rng=rng)]
    for _ in range(depth):
        branch = nn.Sequential(nn.ReLU(), NTKLinear(width, width, WEIGHT_STD, 0.0, dtype=np.float64, rng=rng))
        layers.append(nn.Residual(branch, scale=1 / np.sqrt(depth)))
    return nn.Sequential(*layers, nn.ReLU(), NTKLinear(width, 1, WEIGHT_STD, 0.0, dtype=np.float64, rng=rng))


def conditioning(gram: np.ndarray) -> float:
    """λ_min/λ̄ of a symmetric positive semi-definite matrix."""
    eigenvalues = np.linalg.eigvalsh(0.5 * (gram + gram.T))
    return float(eigenvalues[0] / eigenvalues.mean())


def _measure(point: Mapping[str, Any], rng: np.random.Generator) -> dict[str, Any]:
    x = nr.tensor(point["x"])
    model = _network(point["architecture"], point["depth"], point["width"], x.shape[1], rng)
    features = np.maximum(relu_inputs(model, x)[-1], 0)  # the readout's input: the last ReLU's output
    return {"architecture": point["architecture"], "depth": point["depth"],
            "features": conditioning(features @ features.T / point["width"]),
            "ntk": conditioning(empirical_ntk(model, x))}


def _predictions(x: np.ndarray, depth: int) -> dict[str, float]:
    sigma, theta = infinite_width_kernels(x, depth=depth, weight_std=WEIGHT_STD)
    return {"features-plain": conditioning(sigma), "ntk-plain": conditioning(theta),
            "features-resnet": conditioning(residual_features_kernel(x, depth=depth, weight_std=WEIGHT_STD))}


@experiment(
    "depth-and-conditioning",
    config=DepthConditioningConfig,
    title="Depth and conditioning: the feature Gram of a plain network collapses, a scaled ResNet's does not",
    source=SOURCE,
)
def run(config: DepthConditioningConfig, rng: np.random.Generator) -> Result:
    result = Result(config)
    data = sphere_separated(config.points, config.dimension, config.separation, rng, dtype=np.float64)
    x = data.tensors[0].data * np.sqrt(config.dimension)
    runs = sweep(_measure, [{"architecture": a, "depth": depth, "width": config.width, "x": x}
                            for _ in range(config.draws) for a in ARCHITECTURES for depth in config.depths],
                 rng, desc="depths")
    predicted = {depth: _predictions(x, depth) for depth in config.depths}
    shallow, deep = config.depths[0], config.depths[-1]
    setting = (f"ReLU networks of width {config.width} (NTK parameterization, σ_w² = 2), {config.points} inputs "
               f"{config.separation}-separated on the sphere of ℝ^{config.dimension}, {config.draws} draws")
    for gram in ("features", "ntk"):
        for architecture in ARCHITECTURES:
            def values(depth, architecture=architecture, gram=gram):
                return np.array([r[gram] for r in runs if (r["architecture"], r["depth"]) == (architecture, depth)])

            ratio, stderr = ratio_of_means(values(deep), values(shallow), rng)
            key = f"{gram}-{architecture}"
            theory = (f"; at infinite width the ratio is {predicted[deep][key] / predicted[shallow][key]:.3g}"
                      if key in predicted[deep] else "")
            what = "the last features' Gram matrix" if gram == "features" else "the empirical NTK Gram matrix"
            statement = (f"For {setting}, λ_min/λ̄ of {what} of the {architecture} network at depth {deep} over its "
                         f"value at depth {shallow}{theory}: ")
            if architecture == "plain":
                result.claim(at_most(f"000.du.depth-gram[{key}]", statement + f"≤ {COLLAPSED} (it collapses).",
                                     SOURCE, high=COLLAPSED, measured=ratio, stderr=stderr,
                                     notes=NTK_NOTE if gram == "ntk" else ""))
            else:
                result.claim(at_least(f"000.du.depth-gram[{key}]", statement + f"≥ {BOUNDED} (it stays bounded).",
                                      SOURCE, low=BOUNDED, measured=ratio, stderr=stderr))
    result.table("conditioning", runs)
    result.table("infinite_width", [{"depth": depth, **values} for depth, values in predicted.items()])
    fig = result.figure(
        "gram-spectra",
        "λ_min/λ̄ against depth, measured (markers: mean over draws) and at infinite width (lines), for the last "
        "features' Gram matrix (left) and the NTK Gram matrix (right), plain network and 1/√L ResNet.",
    )
    axes = fig.subplots(1, 2)
    depths = np.array(config.depths)
    for ax, gram in zip(axes, ("features", "ntk")):
        for index, architecture in enumerate(ARCHITECTURES):
            means = [np.mean([r[gram] for r in runs if (r["architecture"], r["depth"]) == (architecture, depth)])
                     for depth in config.depths]
            ax.plot(depths, means, "o", color=f"C{index}", label=f"{architecture} (width {config.width})")
            key = f"{gram}-{architecture}"
            if key in predicted[shallow]:
                ax.plot(depths, [predicted[depth][key] for depth in config.depths], "-", color=f"C{index}",
                        label=f"{architecture} (infinite width)")
        ax.set(xscale="log", yscale="log", xlabel="depth L", ylabel="λ_min/λ̄", title=gram)
        ax.legend(fontsize=6)
    return result
