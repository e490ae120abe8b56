"""Numbers for people: significant digits, powers of ten, a measurement to the precision of its error."""

import pytest

from neurones.report.numbers import (
    format_margin,
    format_measurement,
    format_number,
    format_prediction,
    summary_line,
)  # fmt: skip


@pytest.mark.parametrize(
    "value, text",
    [
        (0.6487123, "0.6487"),
        (40.25, "40.25"),
        (12, "12"),
        (-0.5, "-0.5"),
        (0.0, "0"),
        (1234567.0, "1.235×10⁶"),
        (3.1e-5, "3.1×10⁻⁵"),
        (999_960.0, "1×10⁶"),
        (None, "n/a"),
        (float("nan"), "n/a"),
    ],
)
def test_format_number(value, text):
    assert format_number(value) == text


@pytest.mark.parametrize(
    "measured, stderr, text",
    [
        (40.25682, 0.009543, "40.26 ± 0.01"),  # at most 4 significant digits
        (40.278, 0.0939, "40.28 ± 0.09"),
        (1234.5, 12.0, "1234 ± 12"),
        (0.40278, 0.0939, "0.403 ± 0.094"),
        (40.25, 1.2e-6, "40.25 ± 1.2×10⁻⁶"),  # an error too small for them is written on its own
        (1234567.0, 3000.0, "(1.235 ± 0.003)×10⁶"),
        (3.0, 0.0, "3"),  # exact: no "± 0"
        (None, 0.1, "n/a"),
        (2.5, None, "2.5 ± n/a"),
    ],
)
def test_format_measurement(measured, stderr, text):
    assert format_measurement(measured, stderr) == text


def test_format_margin_and_summary():
    assert format_margin({"rule": {"kind": "equality"}, "margin": 0.4213}) == "0.4213"
    assert format_margin({"rule": {"kind": "band"}, "margin": 0.0}) == "inside"
    assert format_margin({"rule": {"kind": "band"}, "margin": 4.5}) == "4.5 se out"
    assert format_margin({"rule": {"kind": "band"}, "margin": None, "measured": None, "stderr": None}) == "n/a"
    exact_miss = {"rule": {"kind": "band"}, "margin": None, "measured": 1.3, "stderr": 0.0, "holds": False}
    assert format_margin(exact_miss) == "∞ (exact value)"
    assert summary_line(1, 1) == "1 claim, 1 hold, 0 fail"
    assert summary_line(3, 1, 2) == "3 claims, 1 hold, 2 fail, 2 skipped"


def test_format_prediction_from_the_rule_at_full_precision():
    def claim(**rule):
        return {"prediction": "stored text", "rule": rule}

    assert format_prediction(claim(kind="equality", predicted=0.601807, tol=0.0)) == "= 0.6018"
    assert format_prediction(claim(kind="equality", predicted=0.6487, tol=0.05)) == "= 0.6487 ± tol 0.05"
    assert format_prediction(claim(kind="band", low=5.58325, high=34.5271)) == "∈ [5.583, 34.53]"
    assert format_prediction(claim(kind="band", low=None, high=1e-5)) == "≤ 1×10⁻⁵"
    assert format_prediction(claim(kind="band", low=100.0, high=None)) == "≥ 100"
    assert format_prediction(claim(kind="band", low=None, high=None)) == "any value"
    assert format_prediction({"prediction": "= 3 (an older run)"}) == "= 3 (an older run)"
