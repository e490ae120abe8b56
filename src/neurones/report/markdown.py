"""The report's summary and claims table as Markdown, for a terminal or an issue (``neurones report --format md``)."""

from __future__ import annotations

from collections.abc import Sequence

from neurones.lab.bibliography import split_citation
from neurones.lab.result import skip_reason
from neurones.lab.runner import Run
from neurones.report.numbers import format_margin, format_measurement, format_prediction, summary_line


def render_markdown(runs: Sequence[Run]) -> str:
    """Totals, a table per experiment (claims, hold, fail, status), then every claim, failing ones first."""
    claims = [(run, claim) for run in runs for claim in run.record["claims"]]
    holding = sum(1 for _, claim in claims if claim["holds"])
    skipped = [run for run in runs if skip_reason(run.record["tables"]) is not None]
    lines = [
        f"**{summary_line(len(claims), holding, len(skipped))}**",
        "",
        "| experiment | claims | hold | fail | status |",
        "|---|---:|---:|---:|---|",
    ]
    for run in runs:
        own = run.record["claims"]
        held = sum(1 for claim in own if claim["holds"])
        status = "skipped" if run in skipped else "reused" if run.reused_from is not None else "ran"
        lines.append(f"| {run.name} | {len(own)} | {held} | {len(own) - held} | {status} |")
    lines += ["", "| verdict | id | experiment | source | prediction | measured ± stderr | margin |",
              "|---|---|---|---|---|---|---|"]  # fmt: skip
    for run, claim in sorted(claims, key=lambda pair: pair[1]["holds"]):
        reference, where = split_citation(claim["source"])
        source = f"{reference.label}{', ' + where if where else ''}" if reference is not None else claim["source"]
        cells = [
            "PASS" if claim["holds"] else "**FAIL**",
            f"`{claim['id']}`",
            run.name,
            source,
            format_prediction(claim),
            format_measurement(claim["measured"], claim["stderr"]),
            format_margin(claim),
        ]
        lines.append("| " + " | ".join(_cell(cell) for cell in cells) + " |")
    return "\n".join(lines)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
