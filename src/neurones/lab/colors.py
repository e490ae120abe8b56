"""Colours shared by the experiments' figures, so that one quantity (a depth, a width) looks the same everywhere."""

from __future__ import annotations

from collections.abc import Hashable, Iterable

from matplotlib import colormaps


def sequential_colors(values: Iterable[Hashable], cmap: str = "viridis") -> dict[Hashable, tuple]:
    """One colour per distinct value, in order along ``cmap`` (stopping at 90%, where viridis turns too pale to
    read on white)."""
    ordered = list(dict.fromkeys(values))
    colormap = colormaps[cmap]
    return {value: colormap(index / max(1, len(ordered) - 1) * 0.9) for index, value in enumerate(ordered)}
