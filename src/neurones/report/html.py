"""Render runs into one self-contained HTML page: the claims table first, then each experiment's figures.

The page needs nothing but itself: figures are embedded as base64 PNG ``data:`` URIs and the style sheet is
inline, so the file can be mailed, archived or opened offline. Every piece of text from a run is escaped.
"""

from __future__ import annotations

import base64
import datetime
import html
import math
from collections.abc import Sequence
from typing import Any

import neurones
from neurones.errors import LabError
from neurones.lab.registry import get_experiment
from neurones.lab.result import SKIPPED_TABLE, skip_reason
from neurones.lab.runner import Run

MAX_TABLE_ROWS = 500

_STYLE = """
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1d1d1f; margin: 2rem auto;
       max-width: 1150px; padding: 0 1rem; }
h1 { font-size: 1.6rem; margin-bottom: .3rem; }
h2 { font-size: 1.25rem; margin-top: 2.2rem; border-bottom: 1px solid #ddd; padding-bottom: .2rem; }
.summary { font-size: 1.05rem; font-weight: 600; }
.meta, .source { color: #555; font-size: .9rem; }
table { border-collapse: collapse; width: 100%; margin: .6rem 0; }
th, td { border: 1px solid #ddd; padding: .35rem .5rem; text-align: left; vertical-align: top; }
th { background: #f4f4f6; }
td.number { font-variant-numeric: tabular-nums; white-space: nowrap; }
td.verdict { font-weight: 700; text-align: center; white-space: nowrap; }
tr.pass td.verdict { background: #dff3e4; color: #17692f; }
tr.fail td.verdict { background: #fbe0e0; color: #9b1c1c; }
tr.fail { background: #fff8f8; }
figure { margin: 1.2rem 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { color: #333; font-size: .92rem; margin-top: .3rem; }
details { margin: .6rem 0; }
summary { cursor: pointer; color: #333; }
code { font-size: .9em; }
.skipped { background: #fff6da; border-left: 4px solid #c99a06; padding: .4rem .7rem; }
"""


def render_report(runs: Sequence[Run], title: str = "neurones — laboratory report") -> str:
    """The HTML page for ``runs``: a summary line "N claims, K hold, M fail", the skipped experiments and why, the
    claims table, then one section per experiment (metadata, config, figures with captions, tables)."""
    claims = [(run, claim) for run in runs for claim in run.record["claims"]]
    holding = sum(1 for _, claim in claims if claim["holds"])
    generated = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    scales = sorted({run.record["scale"] for run in runs})
    skipped = [run for run in runs if skip_reason(run.record["tables"]) is not None]
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        '<head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_text(title)}</title>",
        f"<style>{_STYLE}</style>",
        "</head>",
        "<body>",
        f"<h1>{_text(title)}</h1>",
        f'<p class="summary">{summary_line(len(claims), holding)}</p>',
        f'<p class="meta">{len(runs)} experiment{"s" if len(runs) != 1 else ""}'
        f"{f' ({len(skipped)} skipped)' if skipped else ''}, scale {_text(', '.join(scales))}; "
        f"neurones {_text(neurones.__version__)}; generated {generated}.</p>",
        *(_skipped_line(run) for run in skipped),
        '<section id="claims">',
        "<h2>Claims</h2>",
        _claims_table(claims),
        "</section>",
    ]
    parts.extend(_experiment_section(run) for run in runs)
    parts += ["</body>", "</html>", ""]
    return "\n".join(parts)


def summary_line(total: int, holding: int) -> str:
    return f"{total} claim{'s' if total != 1 else ''}, {holding} hold, {total - holding} fail"


def format_measurement(measured: float | None, stderr: float | None) -> str:
    """``40.257 ± 0.010``: the value to the precision its standard error supports (two significant digits of the
    error); a deterministic value (error 0) with six significant digits; a missing (non-finite) value as "n/a"."""
    if measured is None:
        return "n/a"
    if stderr is None:
        return f"{measured:.6g} ± n/a"
    if stderr == 0:
        return f"{measured:.6g} ± 0"
    decimals = min(12, max(0, 1 - math.floor(math.log10(stderr))))
    return f"{measured:.{decimals}f} ± {stderr:.{decimals}f}"


def _claims_table(claims: list[tuple[Run, dict[str, Any]]]) -> str:
    if not claims:
        return "<p>No claims.</p>"
    rows = [
        '<table class="claims">',
        "<thead><tr><th>id</th><th>statement</th><th>source</th><th>prediction</th>"
        "<th>measured ± stderr</th><th>verdict</th></tr></thead>",
        "<tbody>",
    ]
    for run, claim in claims:
        verdict = "pass" if claim["holds"] else "fail"
        rows.append(
            f'<tr class="{verdict}" id="claim-{_attribute(claim["id"])}">'
            f'<td><a href="#{_anchor(run)}"><code>{_text(claim["id"])}</code></a></td>'
            f"<td>{_text(claim['statement'])}</td>"
            f"<td>{_text(claim['source'])}</td>"
            f'<td class="number">{_text(claim["prediction"])}</td>'
            f'<td class="number">{_text(format_measurement(claim["measured"], claim["stderr"]))}</td>'
            f'<td class="verdict">{verdict.upper()}</td></tr>'
        )
    rows += ["</tbody>", "</table>"]
    return "\n".join(rows)


def _experiment_section(run: Run) -> str:
    record = run.record
    title, source = _title_and_source(run.name)
    held = sum(1 for claim in record["claims"] if claim["holds"])
    parts = [
        f'<section class="experiment" id="{_anchor(run)}">',
        f"<h2>{_text(title)}</h2>",
        f'<p class="meta"><code>{_text(run.name)}</code> · scale {_text(record["scale"])} · seed {record["seed"]} · '
        f"{record['elapsed_s']:.1f} s · {summary_line(len(record['claims']), held)}</p>",
    ]
    if source:
        parts.append(f'<p class="source">Source: {_text(source)}</p>')
    reason = skip_reason(record["tables"])
    if reason is not None:
        parts.append(f'<p class="skipped"><strong>Skipped</strong> (no claims): {_text(reason)}</p>')
    parts.append(_details("config", _records_table([record["config"]])))
    for relative in record["figures"]:
        caption = run.captions.get(relative, "")
        parts.append(
            "<figure>"
            f'<img src="{_png_data_uri(run, relative)}" alt="{_attribute(caption or relative)}">'
            f"<figcaption>{_text(caption)}</figcaption>"
            "</figure>"
        )
    for name, records in record["tables"].items():
        if name == SKIPPED_TABLE:
            continue
        shown = records[:MAX_TABLE_ROWS]
        note = "" if len(shown) == len(records) else f", first {len(shown)} shown"
        parts.append(_details(f"table {name} ({len(records)} rows{note})", _records_table(shown)))
    parts.append("</section>")
    return "\n".join(parts)


def _skipped_line(run: Run) -> str:
    return (
        f'<p class="skipped"><a href="#{_anchor(run)}"><code>{_text(run.name)}</code></a> skipped: '
        f"{_text(skip_reason(run.record['tables']))}</p>"
    )


def _title_and_source(name: str) -> tuple[str, str]:
    try:
        registered = get_experiment(name)
    except LabError:  # a run from disk whose experiment is no longer registered still renders
        return name, ""
    return registered.title, registered.source


def _records_table(records: list[dict[str, Any]]) -> str:
    if not records:
        return "<p>(empty)</p>"
    columns = list(dict.fromkeys(key for record in records for key in record))
    head = "".join(f"<th>{_text(column)}</th>" for column in columns)
    body = "".join(
        "<tr>" + "".join(f'<td class="number">{_text(_cell(record.get(column)))}</td>' for column in columns) + "</tr>"
        for record in records
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, list):
        return ", ".join(_cell(item) for item in value)
    return str(value)


def _details(summary: str, content: str) -> str:
    return f"<details><summary>{_text(summary)}</summary>{content}</details>"


def _png_data_uri(run: Run, relative: str) -> str:
    try:
        data = (run.directory / relative).read_bytes()
    except OSError as exc:
        raise LabError(f"cannot read figure {run.directory / relative}: {exc.strerror or exc}") from exc
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def _anchor(run: Run) -> str:
    return "experiment-" + _attribute(run.name)


def _text(value: Any) -> str:
    return html.escape(str(value), quote=False)


def _attribute(value: Any) -> str:
    return html.escape(str(value), quote=True)
