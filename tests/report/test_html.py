"""The HTML report: totals and summaries first, failing claims before passing ones, compact claim rows with the
statement (mathematics rendered) on click, the bibliography, figures and full CSV tables embedded, how the runs were
made, and every piece of text escaped."""

import base64
import pickle
import re
from pathlib import Path

import pytest

from neurones.lab.runner import Run, load_run, run_experiment
from neurones.report.build import build_report
from neurones.report.html import SHOWN_TABLE_ROWS, render_math, render_report

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def smoke_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("report") / "report"
    path = build_report(out, scale="smoke", only=["stochastic-depth"], seed=0)
    return out, path


def test_report_layout(smoke_report):
    out, path = smoke_report
    assert path == out / "report.html"
    assert (out / "stochastic-depth" / "results.json").is_file()
    page = path.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    assert '<p class="summary" id="totals">1 claim, 1 hold, 0 fail</p>' in page
    order = [page.index(marker) for marker in (
        'id="summary-by-source"', 'id="summary-by-experiment"', 'id="claims-table"', 'id="sources"',
        'id="experiment-stochastic-depth"', "<figure>", 'id="reproducibility"', "</html>",
    )]  # fmt: skip
    assert order == sorted(order)
    header = re.search(r'<table class="claims wide" id="claims-table">\s*<thead><tr>(.*?)</tr></thead>', page, re.S)
    assert re.findall(r"<th[^>]*>(.*?)</th>", header.group(1)) == [
        "id", "experiment", "prediction", "measured ± stderr", "margin", "verdict",
    ]  # fmt: skip
    row = re.search(r'<tr class="pass" data-verdict="pass" data-source="lopes-quintas-2025" id="claim-002.ex6">'
                    r"(.*?)</tr>", page, re.S).group(1)  # fmt: skip
    assert "<code>002.ex6</code>" in row and "= 40.25" in row and '<td class="verdict">PASS</td>' in row
    assert "<details><summary>" in row and "<math" in row  # the statement expands, its LaTeX is MathML
    assert '<a href="#ref-lopes-quintas-2025">Lopès-Quintas 2025</a>, Stochastic depth, Exercice 6' in row
    assert 'id="ref-lopes-quintas-2025"' in page and "Rien ne sert de courir" in page
    assert 'id="failing"' not in page  # nothing fails: no failing section


def test_the_page_reads_with_scripts_off(smoke_report):
    _, path = smoke_report
    page = path.read_text(encoding="utf-8")
    assert '<div class="filters" id="filters" hidden>' in page  # controls that need the script start hidden
    table = page.split('id="claims-table"')[1].split("</table>")[0]
    assert "<tr" in table and " hidden" not in table  # every claim row is visible without the script
    assert page.count("<script>") == 1 and page.index("<script>") > page.index('id="reproducibility"')


def test_figures_and_tables_are_embedded(smoke_report):
    out, path = smoke_report
    page = path.read_text(encoding="utf-8")
    sources = re.findall(r'<img src="([^"]*)"', page)
    assert len(sources) == 1
    prefix = "data:image/png;base64,"
    data = base64.b64decode(sources[0][len(prefix) :])
    assert data.startswith(PNG_SIGNATURE)
    assert data == (out / "stochastic-depth" / "figures" / "active-blocks.png").read_bytes()
    assert "<figcaption>Left: number of active nn.StochasticDepth blocks" in page
    csv_uri = re.search(r'<a download="stochastic-depth-expected_depth_grid.csv" href="([^"]*)"', page).group(1)
    text = base64.b64decode(csv_uri.split(",", 1)[1]).decode("utf-8").splitlines()
    assert text[0].startswith("blocks,final_survival,") and len(text) == 1 + 4  # every row, header first
    assert not re.search(r'(src|href)="(https?:)?//', page)  # nothing loads from the network


def test_the_reproducibility_block(smoke_report):
    _, path = smoke_report
    block = path.read_text(encoding="utf-8").split('id="reproducibility"')[1]
    assert "Python, NumPy, SciPy" in block and "BLAS and OpenMP" in block
    assert re.search(r"openblas [\d.]+ \([^)]*\): 1 thread\b", block)  # the runs used one BLAS thread
    assert "CPUs" in block and "scale, seed</th><td>smoke, 0" in block


def _fake_run(tmp_path: Path, holds: bool, statement: str, notes: str = "", rows: int = 1) -> Run:
    record = {
        "experiment": "fake<exp>",
        "scale": "smoke",
        "seed": 0,
        "config": {"note": "<b>bold</b>"},
        "claims": [
            {
                "id": f"x.{int(holds)}",
                "statement": statement,
                "source": "S & T",
                "prediction": "≤ 1",
                "measured": None,
                "stderr": None,
                "holds": holds,
                "rule": {"kind": "band", "low": None, "high": 1.0},
                "margin": None,
                "notes": notes,
            }
        ],
        "tables": {"rows": [{"a": 1.23456789 + i, "b": [1, 2]} for i in range(rows)]},
        "figures": [],
        "version": "0",
        "elapsed_s": 0.5,
    }
    return Run(record, tmp_path, {})


def test_failing_claims_come_first_with_their_explanation_and_text_is_escaped(tmp_path):
    page = render_report(
        [
            _fake_run(tmp_path, True, "holds"),
            _fake_run(tmp_path, False, "<script>alert(1)</script> & more", notes="the protocol <differs>"),
        ]
    )
    assert '<p class="summary" id="totals">2 claims, 1 hold, 1 fail</p>' in page
    failing = page.index('id="failing"')
    assert failing < page.index('id="claims-table"')
    assert page.index('id="claim-x.0"') < page.index('id="claim-x.1"')  # failing row first, in the table too
    assert "<strong>Why:</strong> the protocol &lt;differs&gt;" in page
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in page
    assert "S &amp; T" in page and "&lt;b&gt;bold&lt;/b&gt;" in page and "fake&lt;exp&gt;" in page
    assert "n/a" in page
    assert "tr.fail td.verdict" in page  # the style sheet colours the verdicts


def test_long_tables_say_how_to_get_every_row(tmp_path):
    page = render_report([_fake_run(tmp_path, True, "a", rows=SHOWN_TABLE_ROWS + 7)])
    assert f"table rows ({SHOWN_TABLE_ROWS + 7} rows, first {SHOWN_TABLE_ROWS} shown)" in page
    assert f"download all {SHOWN_TABLE_ROWS + 7} rows as CSV" in page


def test_summary_counts_over_runs(tmp_path):
    page = render_report([_fake_run(tmp_path, True, "a"), _fake_run(tmp_path, False, "b")])
    assert "2 claims, 1 hold, 1 fail" in page
    assert "No claims." in render_report([])


def test_math_is_rendered_and_bad_latex_is_shown_as_code():
    html = str(render_math(r"a < b and $\alpha_L = 1/L^\beta$ done"))
    assert html.startswith("a &lt; b and <math") and html.endswith("</math> done")
    assert "<mi>&#x003B1;</mi>" in html  # α
    assert str(render_math(r"$\frac{1}{$")) in ("<code>$\\frac{1}{$</code>", "$\\frac{1}{$")
    assert str(render_math("no math, 5 $ only")) == "no math, 5 $ only"


def test_report_of_a_reloaded_run(tmp_path):
    run_experiment("stochastic-depth", "smoke", out=tmp_path / "run")
    page = render_report([load_run(tmp_path / "run")])
    assert "data:image/png;base64," in page and "<figcaption>Left: number of active nn.StochasticDepth blocks" in page


def test_an_interrupted_report_is_picked_up_where_it_stopped(tmp_path):
    """A report killed while an experiment ran: the next report reuses that experiment's finished grid points
    and reruns only the rest, with the same numbers."""
    from neurones.report.build import collect_runs

    root = tmp_path / "runs"
    first = collect_runs(root / "report" / "first", scale="smoke", only=["stochastic-depth"], runs_root=root)
    interrupted = first.directory / "stochastic-depth"
    (interrupted / "results.json").unlink()  # killed before the end: request.json and points/ remain
    points = sorted((interrupted / "points").iterdir())
    points[0].unlink()
    marked = pickle.loads(points[1].read_bytes())
    points[1].write_bytes(pickle.dumps({**marked, "measured": -7.0}))  # a mark that only a reused point can carry
    again = collect_runs(root / "report" / "again", scale="smoke", only=["stochastic-depth"], runs_root=root)
    resumed = again.runs[0]
    assert resumed.reused_from is None  # not complete anywhere: it ran, seeded with the 3 finished points
    assert len(list((resumed.directory / "points").iterdir())) == 4
    assert resumed.record["claims"] == first.runs[0].record["claims"]
    grid = resumed.record["tables"]["expected_depth_grid"]
    assert [row["measured"] for row in grid].count(-7.0) == 1  # taken from the interrupted run, not recomputed
    expected = first.runs[0].record["tables"]["expected_depth_grid"]
    assert [row for row in grid if row["measured"] != -7.0] == [row for row in expected if row != marked]
