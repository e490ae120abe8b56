"""Checks shared by the experiment tests: what a run directory written by the runner must hold."""

from __future__ import annotations

import json

from neurones.lab.bibliography import split_citation
from neurones.lab.runner import CONFIG_FILE, RESULT_KEYS, RESULTS_FILE, Run, load_run

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def check_run_directory(run: Run, figures: list[str]) -> dict:
    """The run's results.json has the schema's keys and equals the in-memory record; each named figure is a PNG
    carrying its caption; returns the record as read back from disk."""
    record = json.loads((run.directory / RESULTS_FILE).read_text(encoding="utf-8"))
    assert set(record) == set(RESULT_KEYS)
    assert record["claims"] == run.record["claims"] and record["tables"] == run.record["tables"]
    assert json.loads((run.directory / CONFIG_FILE).read_text(encoding="utf-8")) == record["config"]
    assert record["figures"] == [f"figures/{name}.png" for name in figures]
    for relative in record["figures"]:
        assert (run.directory / relative).read_bytes()[:8] == PNG_SIGNATURE
    assert load_run(run.directory).captions == run.captions
    assert all(caption for caption in run.captions.values())
    for claim in record["claims"]:
        assert set(claim) == {
            "id", "statement", "source", "prediction", "measured", "stderr", "holds", "rule", "margin", "notes",
        }  # fmt: skip
        assert isinstance(claim["holds"], bool) and claim["statement"] and claim["source"]
        assert split_citation(claim["source"])[0] is not None, f"{claim['id']} cites no bibliography key"
    return record


def claim_numbers(record: dict) -> tuple[list, dict]:
    """What must not change between two runs with the same seed: the claims and the tables."""
    return record["claims"], record["tables"]
