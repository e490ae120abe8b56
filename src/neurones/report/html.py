"""Render runs into one self-contained HTML page from the Jinja2 template ``templates/report.html.j2``.

What a researcher needs first comes first: the totals, a summary by source and by experiment, the failing claims
with the experiments' explanations, then every claim in compact rows (statement and source expand on click), the
bibliography, each experiment with its claims beside its figures, and how the runs were made. The page needs
nothing but itself — figures and CSV downloads are ``data:`` URIs, style and script are inline — so it can be
mailed, archived or opened offline; it reads in full with scripts off (the script only adds filtering and sorting).

Text from runs is escaped by the template (autoescape); mathematics written as LaTeX between dollar signs in a
statement is rendered to MathML (``latex2mathml``), which browsers display natively.
"""

from __future__ import annotations

import base64
import csv
import datetime
import io
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import jinja2
from latex2mathml.converter import convert as latex_to_mathml
from markupsafe import Markup, escape

import neurones
from neurones.errors import LabError
from neurones.lab.bibliography import Reference, cited_references, split_citation
from neurones.lab.progress import duration
from neurones.lab.registry import get_experiment
from neurones.lab.result import SKIPPED_TABLE, skip_reason
from neurones.lab.runner import FIGURE_DPI, Run
from neurones.report.numbers import (
    format_margin,
    format_measurement,
    format_number,
    format_prediction,
    summary_line,
)  # fmt: skip

SHOWN_TABLE_ROWS = 50
"""Rows of a table shown in the page; the CSV download beside it always holds all of them."""

_MATH = re.compile(r"\$([^$]+)\$")


@dataclass
class ClaimRow:
    """One claim as the template shows it."""

    record: dict[str, Any]
    run: Run
    reference: Reference | None
    where: str

    @property
    def verdict(self) -> str:
        return "pass" if self.record["holds"] else "fail"

    @property
    def source_key(self) -> str:
        return self.reference.key if self.reference is not None else "other"


@dataclass
class ExperimentView:
    run: Run
    title: str
    rows: list[ClaimRow]
    skipped: str | None
    figures: list[dict[str, str]] = field(default_factory=list)
    tables: list[dict[str, Any]] = field(default_factory=list)

    @property
    def anchor(self) -> str:
        return "experiment-" + self.run.name

    @property
    def failing(self) -> int:
        return sum(1 for row in self.rows if not row.record["holds"])


def render_report(runs: Sequence[Run], title: str = "neurones — laboratory report") -> str:
    """The HTML page for ``runs``."""
    views = [_experiment_view(run) for run in runs]
    rows = [row for view in views for row in view.rows]
    ordered = sorted(rows, key=lambda row: row.record["holds"])  # failing first, otherwise in experiment order
    holding = sum(1 for row in rows if row.record["holds"])
    references = cited_references([row.record["source"] for row in rows] + [_source(run) for run in runs])
    return _template().render(
        title=title,
        summary=summary_line(len(rows), holding, sum(1 for view in views if view.skipped)),
        generated=datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        version=neurones.__version__,
        views=views,
        rows=ordered,
        failing=[row for row in ordered if not row.record["holds"]],
        by_source=_summary_by_source(views, references),
        references=references,
        environment=_environment(runs),
    )


def _template() -> jinja2.Template:
    return _environment_for_templates().get_template("report.html.j2")


@cache
def _environment_for_templates() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("neurones.report", "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    environment.filters.update(
        math=render_math,
        measurement=lambda record: format_measurement(record["measured"], record["stderr"]),
        margin=format_margin,
        prediction=format_prediction,
        number=format_number,
        cell=_cell,
        duration=duration,
    )
    return environment


def render_math(text: str) -> Markup:
    """Escape ``text`` and render each ``$…$`` fragment to MathML (left as code if it does not parse)."""
    parts, position = [], 0
    for match in _MATH.finditer(text):
        parts.append(escape(text[position : match.start()]))
        try:
            parts.append(Markup(latex_to_mathml(match.group(1))))
        except Exception:  # any parse failure of the converter: show the source instead
            parts.append(Markup("<code>") + escape(match.group(0)) + Markup("</code>"))
        position = match.end()
    parts.append(escape(text[position:]))
    return Markup("").join(parts)


def _experiment_view(run: Run) -> ExperimentView:
    record = run.record
    rows = []
    for claim in record["claims"]:
        reference, where = split_citation(claim["source"])
        rows.append(ClaimRow(claim, run, reference, where))
    view = ExperimentView(run, _title(run.name), rows, skip_reason(record["tables"]))
    for relative in record["figures"]:
        data = _read_figure(run, relative)
        view.figures.append({
            "uri": "data:image/png;base64," + base64.b64encode(data).decode("ascii"),
            "caption": run.captions.get(relative, ""),
            # Figures are rendered at FIGURE_DPI for sharp zooming and shown at their size at 100 dpi.
            "width": round(int.from_bytes(data[16:20], "big") * 100 / FIGURE_DPI),
        })
    for name, records in record["tables"].items():
        if name == SKIPPED_TABLE:
            continue
        columns = list(dict.fromkeys(key for row in records for key in row))
        view.tables.append(
            {
                "name": name,
                "columns": columns,
                "rows": records[:SHOWN_TABLE_ROWS],
                "total": len(records),
                "csv": _csv_data_uri(columns, records),
                "file": f"{run.name}-{name}.csv",
            }
        )
    return view


def _summary_by_source(views: list[ExperimentView], references: list[Reference]) -> list[dict[str, Any]]:
    """Claims, holding, failing per cited work, and the skipped experiments that would have cited it."""
    counts: dict[str, Counter] = {}
    for view in views:
        for row in view.rows:
            counts.setdefault(row.source_key, Counter())[row.verdict] += 1
        if view.skipped:
            reference, _ = split_citation(_source(view.run))
            counts.setdefault(reference.key if reference else "other", Counter())["skipped"] += 1
    labels = {reference.key: reference.label for reference in references} | {"other": "other sources"}
    return [
        {"key": key, "label": labels[key], "claims": c["pass"] + c["fail"], "hold": c["pass"], "fail": c["fail"],
         "skipped": c["skipped"]}
        for key, c in counts.items()
    ]


def _environment(runs: Sequence[Run]) -> dict[str, Any]:
    """The reproducibility block: what every run shares, and the per-run wall times."""
    environments = [run.record.get("environment") or {} for run in runs]
    first = next((environment for environment in environments if environment), {})
    return {
        "shared": first,
        "seeds": sorted({run.record["seed"] for run in runs}),
        "scales": sorted({run.record["scale"] for run in runs}),
        "total_s": sum(run.record["elapsed_s"] for run in runs),
    }


def _title(name: str) -> str:
    try:
        return get_experiment(name).title
    except LabError:  # a run from disk whose experiment is no longer registered still renders
        return name


def _source(run: Run) -> str:
    try:
        return get_experiment(run.name).source
    except LabError:
        return ""


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return format_number(value)
    if isinstance(value, list):
        return ", ".join(_cell(item) for item in value)
    return str(value)


def _csv_data_uri(columns: list[str], records: list[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for record in records:
        writer.writerow(["" if record.get(c) is None else _csv_value(record.get(c)) for c in columns])
    return "data:text/csv;charset=utf-8;base64," + base64.b64encode(buffer.getvalue().encode("utf-8")).decode()


def _csv_value(value: Any) -> str:
    if isinstance(value, list):
        return " ".join(_csv_value(item) for item in value)
    return repr(value) if isinstance(value, float) else str(value)


def _read_figure(run: Run, relative: str) -> bytes:
    try:
        data = (run.directory / relative).read_bytes()
    except OSError as exc:
        raise LabError(f"cannot read figure {run.directory / relative}: {exc.strerror or exc}") from exc
    if not data.startswith(b"\x89PNG\r\n\x1a\n") or len(data) < 24:
        raise LabError(f"figure {run.directory / relative} is not a PNG file")
    return data
