"""Skipped results: an experiment whose data is absent returns ``Result.skip(reason)``; the runner writes it with the
usual schema, and the report and the command line say it was skipped and why."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from neurones import cli
from neurones.lab import registry
from neurones.lab.claims import at_most
from neurones.lab.config import scales
from neurones.lab.registry import Experiment
from neurones.lab.result import SKIPPED_TABLE, Result, skip_reason
from neurones.lab.runner import RESULT_KEYS, load_run, run_experiment
from neurones.report import render_report

REASON = "data set not found at /nowhere: set DATA=/path"


@scales(quick={}, smoke={})
@dataclass(frozen=True)
class NeedsDataConfig:
    present: bool = False


def needs_data(config: NeedsDataConfig, rng: np.random.Generator) -> Result:
    result = Result(config)
    if not config.present:
        result.skip(REASON)
        return result
    draw = float(rng.standard_normal())
    result.claim(at_most("toy.value", "A draw is at most 10.", "Toy", high=10.0, measured=draw, stderr=0.0))
    return result


@pytest.fixture
def toy(monkeypatch):
    experiment = Experiment("needs-data", needs_data, NeedsDataConfig, "Needs data", "Toy source")
    monkeypatch.setitem(registry._REGISTRY, "needs-data", experiment)
    return "needs-data"


def test_skip_records_the_reason_and_forbids_claims_and_figures():
    result = Result(NeedsDataConfig())
    assert result.skipped is None and skip_reason(result.tables) is None
    result.skip(REASON)
    assert result.skipped == REASON and result.tables == {SKIPPED_TABLE: [{"reason": REASON}]}
    with pytest.raises(ValueError, match="makes no claims"):
        result.claim(at_most("x", "s", "S", high=1.0, measured=0.0, stderr=0.0))
    with pytest.raises(ValueError, match="has no figures"):
        result.figure("f", "caption")
    with pytest.raises(ValueError, match="cannot be skipped"):
        result.skip("twice")


def test_skip_needs_a_reason_and_an_empty_result():
    result = Result(NeedsDataConfig())
    with pytest.raises(ValueError, match="needs a reason"):
        result.skip("")
    with pytest.raises(ValueError, match="reserved"):
        result.table(SKIPPED_TABLE, [{"reason": "by hand"}])
    result.claim(at_most("x", "s", "S", high=1.0, measured=0.0, stderr=0.0))
    with pytest.raises(ValueError, match="cannot be skipped"):
        result.skip(REASON)


def test_runner_and_report_show_the_skip(toy, tmp_path, capsys):
    skipped = run_experiment(toy, "smoke", out=tmp_path / "skipped")
    ran = run_experiment(toy, "smoke", overrides={"present": "true"}, out=tmp_path / "ran")
    assert tuple(skipped.record) == RESULT_KEYS
    assert skipped.record["claims"] == [] and skipped.record["figures"] == []
    loaded = load_run(tmp_path / "skipped")
    assert skip_reason(loaded.record["tables"]) == REASON and skip_reason(ran.record["tables"]) is None

    page = render_report([ran, loaded])
    assert "1 claim, 1 hold, 0 fail, 1 skipped" in page and "2 experiments" in page
    assert page.count('class="skipped"') == 2  # the line under the summary and the banner in the section
    assert f"<code>needs-data</code></a> skipped: {REASON}" in page
    assert f"<strong>Skipped</strong> (no claims): {REASON}" in page
    assert "table skipped" not in page  # the reason is shown once, not again as a table
    assert "skipped" not in render_report([ran]).split('id="totals">')[1].split("<")[0]

    cli._print_run(skipped)
    printed = capsys.readouterr().out
    assert "0 claims, 0 hold, 0 fail" in printed and f"  SKIPPED  {REASON}" in printed
