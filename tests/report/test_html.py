"""The HTML report: summary line, claims table first, figures embedded, text escaped."""

import base64
import re
from pathlib import Path

import pytest

from neurones.lab.runner import Run, load_run, run_experiment
from neurones.report.build import build_report
from neurones.report.html import format_measurement, render_report, summary_line

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def smoke_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    path = build_report(out, scale="smoke", only=["stochastic-depth"], seed=0)
    return out, path


def test_report_layout(smoke_report):
    out, path = smoke_report
    assert path == out / "report.html"
    assert (out / "stochastic-depth" / "results.json").is_file()
    page = path.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    assert '<p class="summary">1 claim, 1 hold, 0 fail</p>' in page
    claims_table = page.index('<table class="claims">')
    assert claims_table < page.index("<figure>") < page.index("</html>")
    header = re.search(r"<table class=\"claims\">\s*<thead><tr>(.*?)</tr></thead>", page).group(1)
    assert re.findall(r"<th>(.*?)</th>", header) == [
        "id",
        "statement",
        "source",
        "prediction",
        "measured ± stderr",
        "verdict",
    ]
    row = re.search(r'<tr class="pass" id="claim-002.ex6">(.*?)</tr>', page).group(1)
    assert "<code>002.ex6</code>" in row and "= 40.25" in row and '<td class="verdict">PASS</td>' in row
    assert "Exercice 6" in row
    assert 'id="experiment-stochastic-depth"' in page


def test_figures_are_embedded_as_the_written_pngs(smoke_report):
    out, path = smoke_report
    page = path.read_text(encoding="utf-8")
    sources = re.findall(r'<img src="([^"]*)"', page)
    assert len(sources) == 1
    prefix = "data:image/png;base64,"
    assert sources[0].startswith(prefix)
    data = base64.b64decode(sources[0][len(prefix) :])
    assert data.startswith(PNG_SIGNATURE)
    assert data == (out / "stochastic-depth" / "figures" / "active-blocks.png").read_bytes()
    assert "<figcaption>Left: number of active nn.StochasticDepth blocks" in page
    assert 'src="http' not in page and 'href="http' not in page  # self-contained


def _fake_run(tmp_path: Path, holds: bool, statement: str) -> Run:
    record = {
        "experiment": "fake<exp>",
        "scale": "smoke",
        "seed": 0,
        "config": {"note": "<b>bold</b>"},
        "claims": [
            {
                "id": "x.1",
                "statement": statement,
                "source": "S & T",
                "prediction": "≤ 1",
                "measured": None,
                "stderr": None,
                "holds": holds,
            }
        ],
        "tables": {"rows": [{"a": 1.23456789, "b": [1, 2]}]},
        "figures": [],
        "version": "0",
        "elapsed_s": 0.5,
    }
    return Run(record, tmp_path, {})


def test_failing_claims_are_styled_and_text_is_escaped(tmp_path):
    page = render_report([_fake_run(tmp_path, False, "<script>alert(1)</script> & more")])
    assert '<p class="summary">1 claim, 0 hold, 1 fail</p>' in page
    assert '<tr class="fail" id="claim-x.1">' in page
    assert '<td class="verdict">FAIL</td>' in page
    assert "tr.fail td.verdict" in page  # the style sheet colours the verdicts
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in page
    assert "S &amp; T" in page and "&lt;b&gt;bold&lt;/b&gt;" in page and "fake&lt;exp&gt;" in page
    assert '<td class="number">n/a</td>' in page
    assert "1.23457" in page and "1, 2" in page


def test_summary_counts_over_runs(tmp_path):
    page = render_report([_fake_run(tmp_path, True, "a"), _fake_run(tmp_path, False, "b")])
    assert "2 claims, 1 hold, 1 fail" in page
    assert summary_line(1, 1) == "1 claim, 1 hold, 0 fail"
    assert "No claims." in render_report([])


@pytest.mark.parametrize(
    "measured, stderr, text",
    [
        (40.25682, 0.009543, "40.2568 ± 0.0095"),
        (40.278, 0.0939, "40.278 ± 0.094"),
        (1234.5, 12.0, "1234 ± 12"),
        (3.0, 0.0, "3 ± 0"),
        (None, 0.1, "n/a"),
        (2.5, None, "2.5 ± n/a"),
    ],
)
def test_format_measurement(measured, stderr, text):
    assert format_measurement(measured, stderr) == text


def test_report_of_a_reloaded_run(tmp_path):
    run_experiment("stochastic-depth", "smoke", out=tmp_path / "run")
    page = render_report([load_run(tmp_path / "run")])
    assert "data:image/png;base64," in page and "<figcaption>Left: number of active nn.StochasticDepth blocks" in page
