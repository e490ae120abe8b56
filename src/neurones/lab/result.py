"""``Result``: what an experiment returns — its config, tables of records, captioned figures and claims.

Figures are ``matplotlib.figure.Figure`` objects made without pyplot (no global figure registry, no display: the
Agg canvas renders them to PNG), so experiments can run in worker processes and in tests without leaking figures.
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from neurones.lab.claims import Claim

_FIGURE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


@dataclass
class CaptionedFigure:
    """A figure, the file name it is saved under (``figures/<name>.png``) and the caption the report shows."""

    name: str
    figure: Figure
    caption: str


@dataclass
class Result:
    config: Any
    claims: list[Claim] = field(default_factory=list)
    tables: dict[str, list[dict]] = field(default_factory=dict)
    figures: list[CaptionedFigure] = field(default_factory=list)

    def claim(self, claim: Claim) -> Claim:
        """Record a claim; ids must be unique within a run, since reports and tests refer to them."""
        if any(existing.id == claim.id for existing in self.claims):
            raise ValueError(f"claim id {claim.id!r} is already used in this result")
        self.claims.append(claim)
        return claim

    def table(self, name: str, records: list[dict]) -> None:
        """Record a table: a list of flat records (``{"depth": 10, "mean": 0.3}``), stored in results.json."""
        if name in self.tables:
            raise ValueError(f"table {name!r} is already used in this result")
        self.tables[name] = list(records)

    def figure(self, name: str, caption: str, figsize: tuple[float, float] = (6.4, 4.0)) -> Figure:
        """A new figure saved as ``figures/<name>.png`` with ``caption``; draw on ``fig.subplots()``."""
        if not _FIGURE_NAME.match(name):
            raise ValueError(f"figure name {name!r} must be lowercase letters, digits, '-' or '_'")
        if any(existing.name == name for existing in self.figures):
            raise ValueError(f"figure {name!r} is already used in this result")
        fig = Figure(figsize=figsize, layout="constrained")
        self.figures.append(CaptionedFigure(name, fig, caption))
        return fig


def to_jsonable(value: Any) -> Any:
    """Convert numpy scalars and arrays, tuples and dataclasses to plain JSON types; NaN and ±inf become ``None``
    so that the file is strict JSON that any reader accepts."""
    if isinstance(value, Claim):
        return value.to_record()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(key): to_jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(item) for item in value]
    if isinstance(value, np.ndarray):
        return to_jsonable(value.tolist())
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, str):
        return value
    raise TypeError(f"cannot store a {type(value).__name__} in results.json: {value!r}")
