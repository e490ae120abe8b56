"""Stochastic depth: the expected number of residual blocks active during training (seed 002, Exercise 6).

Huang et al. (2016) drop whole ResBlocks at random during training. Block l = 1..L survives with probability
p_l = 1 − (l/L)(1 − p_L), decaying linearly from 1 (the input, p_0 = 1, is not a block) to p_L at the last block.
The number of active blocks is a sum of independent Bernoulli variables, so its expectation is

    E[depth] = Σ_{l=1}^{L} p_l = L − (1 − p_L)·(1/L)·Σ l = L − (1 − p_L)(L + 1)/2,

40.25 for the 54 blocks of a ResNet-110 with p_L = ½ (not 40.5 or 41.25, the answers of the usual off-by-one
slips), and its variance is Σ p_l(1 − p_l).

The claim checks the layer itself: a stack of L ``nn.StochasticDepth`` blocks in training mode runs many forward
passes and we count the blocks whose ``last_active`` is set. The grid of other (L, p_L), up to the 1202 blocks of
a ResNet-1202, checks the closed form with Bernoulli draws made directly in NumPy (a Python loop over modules
would take minutes there).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

import neurones as nr
from neurones import nn
from neurones.lab.claims import equality
from neurones.lab.config import scales
from neurones.lab.progress import progress
from neurones.lab.registry import experiment
from neurones.lab.result import Result
from neurones.lab.statistics import mean_and_stderr
from neurones.lab.sweep import grid, sweep
from neurones.nn.residual import StochasticDepth, expected_depth, linear_decay_survival

SOURCE = "lopes-quintas-2025, Stochastic depth, Exercice 6"
_CHUNK_ELEMENTS = 1 << 22  # Bernoulli draws per chunk: bounds memory at full scale on deep grids


@scales(
    quick=dict(passes=20_000, grid_passes=4_000),
    smoke=dict(passes=300, grid_blocks=(10, 54), grid_final_survival=(0.5, 1.0), grid_passes=200),
)
@dataclass(frozen=True)
class StochasticDepthConfig:
    """``blocks`` = L and ``final_survival`` = p_L of the claim, ``passes`` forward passes through the stack of
    layers. The grid repeats the count on other (L, p_L) for the table and the figure's right panel."""

    blocks: int = 54
    final_survival: float = 0.5
    passes: int = 100_000
    grid_blocks: tuple[int, ...] = (10, 54, 110, 1202)
    grid_final_survival: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75, 1.0)
    grid_passes: int = 20_000

    def __post_init__(self) -> None:
        if self.blocks < 1 or any(blocks < 1 for blocks in self.grid_blocks):
            raise ValueError("the number of blocks must be ≥ 1")
        if not all(0.0 <= p <= 1.0 for p in (self.final_survival, *self.grid_final_survival)):
            raise ValueError("survival probabilities must lie in [0, 1]")
        if self.passes < 2 or self.grid_passes < 2:
            raise ValueError("a standard error needs at least 2 passes")


def count_active_layers(
    blocks: int, final_survival: float, passes: int, rng: np.random.Generator, desc: str | None = None
) -> np.ndarray:
    """The number of active ``nn.StochasticDepth`` blocks in each of ``passes`` training forward passes through a
    stack of L of them (branches are identities on a one-element input: only the draws matter here)."""
    layers = [StochasticDepth(nn.Identity(), p, rng=rng) for p in linear_decay_survival(blocks, final_survival)]
    network = nn.Sequential(*layers).train()
    signal = nr.zeros(1, dtype=np.float64)
    counts = np.empty(passes, dtype=np.int64)
    with nr.no_grad():
        for index in progress(range(passes), desc=desc):
            network(signal)
            counts[index] = sum(layer.last_active for layer in layers)
    return counts


def bernoulli_block_counts(blocks: int, final_survival: float, passes: int, rng: np.random.Generator) -> np.ndarray:
    """The same count drawn directly: ``passes`` rows of L independent Bernoulli(p_l) variables, summed per row."""
    survival = np.asarray(linear_decay_survival(blocks, final_survival))
    rows_per_chunk = max(1, _CHUNK_ELEMENTS // blocks)
    counts = np.empty(passes, dtype=np.int64)
    for start in range(0, passes, rows_per_chunk):
        stop = min(start + rows_per_chunk, passes)
        alive = rng.random((stop - start, blocks)) < survival
        counts[start:stop] = alive.sum(axis=1)
    return counts


def _grid_point(point: Mapping[str, Any], rng: np.random.Generator) -> dict[str, Any]:
    counts = bernoulli_block_counts(point["blocks"], point["final_survival"], point["passes"], rng)
    predicted = expected_depth(point["blocks"], point["final_survival"])
    mean, stderr = mean_and_stderr(counts)
    return {
        "blocks": point["blocks"],
        "final_survival": point["final_survival"],
        "predicted": predicted,
        "measured": mean,
        "stderr": stderr,
        "exact_variance": float(np.sum(_bernoulli_variances(point["blocks"], point["final_survival"]))),
        "measured_variance": float(np.var(counts, ddof=1)),
    }


def _bernoulli_variances(blocks: int, final_survival: float) -> np.ndarray:
    survival = np.asarray(linear_decay_survival(blocks, final_survival))
    return survival * (1.0 - survival)


@experiment(
    "stochastic-depth",
    config=StochasticDepthConfig,
    title="Expected depth of a ResNet trained with stochastic depth",
    source=SOURCE,
)
def run(config: StochasticDepthConfig, rng: np.random.Generator) -> Result:
    result = Result(config)
    L, p_L = config.blocks, config.final_survival
    counts = count_active_layers(L, p_L, config.passes, rng, desc="stochastic depth")
    predicted = expected_depth(L, p_L)
    mean, stderr = mean_and_stderr(counts)
    result.claim(
        equality(
            "002.ex6",
            f"With survival probabilities $p_l = 1 - \\frac{{l}}{{L}}(1 - p_L)$ for the blocks $l = 1, \\dots, L$ "
            f"($L = {L}$, $p_L = {p_L:g}$), the expected number of active blocks during training is "
            f"$L - (1 - p_L)(L + 1)/2$ (counted on nn.StochasticDepth layers).",
            SOURCE,
            predicted=predicted,
            measured=mean,
            stderr=stderr,
            tol=0.0,
        )
    )

    points = [
        {**point, "passes": config.grid_passes}
        for point in grid(blocks=config.grid_blocks, final_survival=config.grid_final_survival)
    ]
    records = sweep(_grid_point, points, rng, desc="stochastic depth grid")
    result.table("expected_depth_grid", records)

    fig = result.figure(
        "active-blocks",
        f"Left: number of active nn.StochasticDepth blocks over {config.passes:,} training forward passes "
        f"(L = {L}, p_L = {p_L:g}), with the "
        f"predicted mean L − (1 − p_L)(L + 1)/2 = {predicted:g} and the measured mean {mean:.3f} ± {stderr:.3f}. "
        f"Right: measured minus predicted mean depth (± 3 standard errors) on the grid of (L, p_L), "
        f"{config.grid_passes:,} passes of direct Bernoulli draws each.",
        figsize=(10.0, 4.0),
    )
    histogram, error = fig.subplots(1, 2)
    edges = np.arange(counts.min(), counts.max() + 2) - 0.5
    histogram.hist(counts, bins=edges, color="#8fb3d9", edgecolor="#4a6d94", density=True)
    histogram.axvline(predicted, color="#c0392b", linestyle="--", label=f"predicted {predicted:g}")
    histogram.axvline(mean, color="#1f1f1f", linewidth=1.0, label=f"measured {mean:.3f}")
    histogram.set(xlabel="active blocks", ylabel="frequency", title="Depth of the trained network")
    histogram.legend()
    for p in config.grid_final_survival:
        rows = [record for record in records if record["final_survival"] == p]
        error.errorbar(
            [record["blocks"] for record in rows],
            [record["measured"] - record["predicted"] for record in rows],
            yerr=[3 * record["stderr"] for record in rows],
            marker="o",
            capsize=3,
            label=f"p_L = {p:g}",
        )
    error.axhline(0.0, color="#1f1f1f", linewidth=0.8)
    error.set(xscale="log", xlabel="blocks L", ylabel="measured − predicted (± 3 s.e.)", title="Grid")
    error.set_xticks(config.grid_blocks, labels=[str(blocks) for blocks in config.grid_blocks])
    error.minorticks_off()
    error.legend()
    return result
