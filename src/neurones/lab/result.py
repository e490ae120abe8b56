"""``Result``: what an experiment returns — its config, tables of records, captioned figures and claims.

Figures are ``matplotlib.figure.Figure`` objects made without pyplot (no global figure registry, no display: the
Agg canvas renders them to PNG), so experiments can run in worker processes and in tests without leaking figures.

An experiment that cannot run here (its data set is not on this machine) returns a *skipped* Result: no claims, no
figures, and the reason in the one-row table ``skipped`` = ``[{"reason": ...}]``, which keeps the results.json
schema unchanged; :func:`skip_reason` reads it back from a results.json record and the report shows it.
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
SKIPPED_TABLE = "skipped"


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
        if self.skipped is not None:
            raise ValueError(f"claim {claim.id!r}: a skipped result makes no claims")
        if any(existing.id == claim.id for existing in self.claims):
            raise ValueError(f"claim id {claim.id!r} is already used in this result")
        self.claims.append(claim)
        return claim

    def table(self, name: str, records: list[dict]) -> None:
        """Record a table: a list of flat records (``{"depth": 10, "mean": 0.3}``), stored in results.json."""
        if name == SKIPPED_TABLE:
            raise ValueError(f"the table name {SKIPPED_TABLE!r} is reserved for Result.skip")
        if name in self.tables:
            raise ValueError(f"table {name!r} is already used in this result")
        self.tables[name] = list(records)

    def skip(self, reason: str) -> None:
        """Mark the run as skipped for ``reason`` (say what is missing and how to provide it); it must hold no claims
        or figures yet, and can make none afterwards."""
        if not reason:
            raise ValueError("a skipped result needs a reason")
        if self.claims or self.figures or self.skipped is not None:
            raise ValueError("a result that already holds claims or figures, or is skipped, cannot be skipped")
        self.tables[SKIPPED_TABLE] = [{"reason": reason}]

    @property
    def skipped(self) -> str | None:
        """The reason this run was skipped, or ``None`` for a run that ran."""
        return skip_reason(self.tables)

    def figure(self, name: str, caption: str, figsize: tuple[float, float] = (6.4, 4.0)) -> Figure:
        """A new figure saved as ``figures/<name>.png`` with ``caption``; draw on ``fig.subplots()``."""
        if self.skipped is not None:
            raise ValueError(f"figure {name!r}: a skipped result has no figures")
        if not _FIGURE_NAME.match(name):
            raise ValueError(f"figure name {name!r} must be lowercase letters, digits, '-' or '_'")
        if any(existing.name == name for existing in self.figures):
            raise ValueError(f"figure {name!r} is already used in this result")
        fig = Figure(figsize=figsize, layout="constrained")
        self.figures.append(CaptionedFigure(name, fig, caption))
        return fig


def skip_reason(tables: dict[str, list[dict]]) -> str | None:
    """The reason recorded by :meth:`Result.skip` in a Result's (or a results.json record's) tables, else ``None``."""
    rows = tables.get(SKIPPED_TABLE)
    return str(rows[0]["reason"]) if rows else None


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
