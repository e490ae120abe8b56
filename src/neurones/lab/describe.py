"""``neurones lab show NAME``: an experiment's config keys with their types and values at each scale, and the
claims it makes. Claims are computed, not declared, so they are listed from a run at smoke scale made on the spot
(seconds; its numbers are not shown, since smoke scale only tests the mechanics)."""

from __future__ import annotations

import dataclasses

from neurones.lab.bibliography import split_citation
from neurones.lab.config import SCALES, at_scale, describe_type, field_types
from neurones.lab.progress import silenced
from neurones.lab.registry import get_experiment
from neurones.lab.runner import execute, prepare_run


def describe_experiment(name: str) -> str:
    """The text ``neurones lab show`` prints."""
    experiment = get_experiment(name)
    reference, where = split_citation(experiment.source)
    cited = f"{reference.label} — {reference.title}{', ' + where if where else ''}" if reference else experiment.source
    configs = {scale: at_scale(experiment.config, scale) for scale in SCALES}
    types = field_types(experiment.config)
    rows = [("key", "type", *SCALES)]
    for field in dataclasses.fields(experiment.config):
        values = [_value(getattr(configs[scale], field.name)) for scale in SCALES]
        rows.append((field.name, describe_type(types[field.name], field.name), *values))
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    table = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]
    lines = [f"{experiment.name}: {experiment.title}", f"source: {cited}", "", "config:", *("  " + t for t in table)]
    with silenced():
        output = execute(prepare_run(name, "smoke"))
    lines += ["", "claims (ids and statements from a smoke-scale run):"]
    claims = [f"  {claim['id']}: {claim['statement']}" for claim in output.claims]
    lines += claims or ["  none (skipped at smoke scale)"]
    return "\n".join(lines)


def _value(value) -> str:
    if isinstance(value, tuple):
        return ",".join(_value(item) for item in value)
    return f"{value:g}" if isinstance(value, float) else str(value)
