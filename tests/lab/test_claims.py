"""The verdict rule of claims: equalities within 3·stderr + tol, bands up to 3·stderr, non-finite values fail."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from neurones.lab.claims import SIGMAS, Claim, at_least, at_most, band, equality

SOURCE = "Test document, §1"
finite = st.floats(-1e6, 1e6, allow_nan=False)
# Standard errors: exactly 0 (a deterministic value) or well above the scale where a miss drowns in rounding.
nonnegative = st.one_of(st.just(0.0), st.floats(1e-3, 1e3))
# A factor of the allowed distance kept clear of 1, so that the verdict is not decided by rounding.
inside = st.floats(-0.99, 0.99)
outside = st.one_of(st.floats(1.01, 100.0), st.floats(-100.0, -1.01))


@given(finite, nonnegative, nonnegative, inside)
def test_equality_holds_within_three_stderr_plus_tol(predicted, stderr, tol, factor):
    allowed = SIGMAS * stderr + tol
    claim = equality(
        "t.eq", "s", SOURCE, predicted=predicted, measured=predicted + factor * allowed, stderr=stderr, tol=tol
    )
    assert claim.holds


@given(finite, nonnegative, nonnegative, outside)
def test_equality_fails_beyond_three_stderr_plus_tol(predicted, stderr, tol, factor):
    allowed = SIGMAS * stderr + tol
    if allowed == 0:
        allowed = 1.0  # an exact claim: any nonzero miss fails
    claim = equality(
        "t.eq", "s", SOURCE, predicted=predicted, measured=predicted + factor * allowed, stderr=stderr, tol=tol
    )
    assert not claim.holds


def test_equality_boundary_cases():
    # Binary-exact numbers: 3·0.125 + 0.125 = 0.5 exactly, so the boundary itself is tested.
    assert equality("a", "s", SOURCE, predicted=1.0, measured=1.5, stderr=0.125, tol=0.125).holds
    assert equality("a", "s", SOURCE, predicted=1.0, measured=0.5, stderr=0.125, tol=0.125).holds
    assert not equality("a", "s", SOURCE, predicted=1.0, measured=1.5 + 1e-9, stderr=0.125, tol=0.125).holds
    assert not equality("a", "s", SOURCE, predicted=1.0, measured=0.5 - 1e-9, stderr=0.125, tol=0.125).holds
    assert equality("a", "s", SOURCE, predicted=2.0, measured=2.0, stderr=0.0, tol=0.0).holds
    assert not equality("a", "s", SOURCE, predicted=2.0, measured=2.0 + 1e-12, stderr=0.0, tol=0.0).holds


@given(finite, st.floats(0.0, 1e3), nonnegative, st.floats(0.0, 1.0))
def test_band_holds_inside(low, width, stderr, position):
    high = low + width
    claim = band("t.band", "s", SOURCE, low=low, high=high, measured=low + position * width, stderr=stderr)
    assert claim.holds


@given(finite, st.floats(0.0, 1e3), st.floats(1e-3, 1e3), inside)
def test_band_stretches_by_three_stderr(low, width, stderr, factor):
    high = low + width
    below = low - abs(factor) * SIGMAS * stderr
    above = high + abs(factor) * SIGMAS * stderr
    assert band("t.band", "s", SOURCE, low=low, high=high, measured=below, stderr=stderr).holds
    assert band("t.band", "s", SOURCE, low=low, high=high, measured=above, stderr=stderr).holds


@given(finite, st.floats(0.0, 1e3), nonnegative, st.floats(1.01, 100.0))
def test_band_fails_outside(low, width, stderr, factor):
    high = low + width
    miss = factor * SIGMAS * stderr if stderr > 0 else factor
    assert not band("t.band", "s", SOURCE, low=low, high=high, measured=low - miss, stderr=stderr).holds
    assert not band("t.band", "s", SOURCE, low=low, high=high, measured=high + miss, stderr=stderr).holds


def test_one_sided_claims():
    assert at_most("a", "s", SOURCE, high=1.0, measured=-1e9, stderr=0.0).holds
    assert at_most("a", "s", SOURCE, high=1.0, measured=1.375, stderr=0.125).holds
    assert not at_most("a", "s", SOURCE, high=1.0, measured=1.376, stderr=0.125).holds
    assert at_least("a", "s", SOURCE, low=0.5, measured=1e9, stderr=0.0).holds
    assert at_least("a", "s", SOURCE, low=0.5, measured=0.125, stderr=0.125).holds
    assert not at_least("a", "s", SOURCE, low=0.5, measured=0.124, stderr=0.125).holds


def test_predictions_are_readable():
    assert equality("a", "s", SOURCE, predicted=40.25, measured=40.0, stderr=1.0, tol=0.0).prediction == "= 40.25"
    assert (
        equality("a", "s", SOURCE, predicted=0.6487, measured=0.6, stderr=0.1, tol=0.05).prediction
        == "= 0.6487 ± tol 0.05"
    )
    assert band("a", "s", SOURCE, low=0.5, high=2, measured=1, stderr=0).prediction == "∈ [0.5, 2]"
    assert at_most("a", "s", SOURCE, high=1, measured=0, stderr=0).prediction == "≤ 1"
    assert at_least("a", "s", SOURCE, low=0.5, measured=1, stderr=0).prediction == "≥ 0.5"


@pytest.mark.parametrize(
    "measured, stderr", [(math.nan, 0.1), (math.inf, 0.1), (-math.inf, 0.0), (1.0, math.nan), (1.0, math.inf)]
)
def test_non_finite_measurements_fail_with_a_note(measured, stderr):
    claims = [
        equality("a", "the statement", SOURCE, predicted=1.0, measured=measured, stderr=stderr, tol=1e9),
        band("b", "the statement", SOURCE, low=-math.inf, high=math.inf, measured=measured, stderr=stderr),
        at_most("c", "the statement", SOURCE, high=math.inf, measured=measured, stderr=stderr),
    ]
    for claim in claims:
        assert claim.holds is False
        assert claim.statement.startswith("the statement [note: ")
        assert "cannot hold" in claim.statement
        record = claim.to_record()
        assert record["holds"] is False
        assert record["measured"] is None or math.isfinite(record["measured"])
        assert record["stderr"] is None or math.isfinite(record["stderr"])


def test_record_has_exactly_the_schema_keys_and_plain_types():
    record = equality("002.ex6", "s", SOURCE, predicted=40.25, measured=40.26, stderr=0.01, tol=0.0).to_record()
    assert list(record) == [
        "id", "statement", "source", "prediction", "measured", "stderr", "holds", "rule", "margin", "notes",
    ]  # fmt: skip
    assert record == {
        "id": "002.ex6",
        "statement": "s",
        "source": SOURCE,
        "prediction": "= 40.25",
        "measured": 40.26,
        "stderr": 0.01,
        "holds": True,
        "rule": {"kind": "equality", "predicted": 40.25, "tol": 0.0},
        "margin": pytest.approx(1 / 3),
        "notes": "",
    }
    assert type(record["measured"]) is float and type(record["holds"]) is bool


def test_claims_are_frozen():
    claim = equality("a", "s", SOURCE, predicted=1.0, measured=1.0, stderr=0.0, tol=0.0)
    assert isinstance(claim, Claim)
    with pytest.raises(AttributeError):
        claim.holds = False


def test_invalid_claims_are_programming_errors():
    with pytest.raises(ValueError, match="standard error cannot be negative"):
        equality("a", "s", SOURCE, predicted=1.0, measured=1.0, stderr=-0.1, tol=0.0)
    with pytest.raises(ValueError, match="tol must be ≥ 0"):
        equality("a", "s", SOURCE, predicted=1.0, measured=1.0, stderr=0.1, tol=-1.0)
    with pytest.raises(ValueError, match="predicted must be a finite number"):
        equality("a", "s", SOURCE, predicted=math.nan, measured=1.0, stderr=0.1, tol=0.0)
    with pytest.raises(ValueError, match="empty or undefined"):
        band("a", "s", SOURCE, low=2.0, high=1.0, measured=1.5, stderr=0.1)


@pytest.mark.parametrize(
    "constructor, numbers",
    [
        (equality, (1.0, 1.0, 0.1, 0.0)),
        (band, (0.0, 1.0, 0.5, 0.1)),
        (at_most, (1.0, 0.5, 0.1)),
        (at_least, (0.0, 0.5, 0.1)),
    ],
)
def test_the_numbers_of_a_claim_are_keyword_only(constructor, numbers):
    # A swapped bound and measurement must not silently flip a verdict: positional numbers are refused.
    with pytest.raises(TypeError, match="positional"):
        constructor("a", "s", SOURCE, *numbers)


def test_frequency_claims_hold_the_observed_rate_to_delta():
    from neurones.lab.claims import frequency

    held = frequency("p", "s", SOURCE, violations=3, trials=100, delta=0.05)
    assert held.holds and held.measured == 0.03 and held.stderr == pytest.approx(math.sqrt(0.03 * 0.97 / 100))
    assert held.prediction == "≤ 0.05" and held.rule == "band"
    failed = frequency("p", "s", SOURCE, violations=30, trials=100, delta=0.05)
    assert not failed.holds  # 0.30 − 3·0.046 > 0.05
    assert frequency("p", "s", SOURCE, violations=0, trials=10, delta=0.1).holds
    with pytest.raises(ValueError, match="need 0 ≤ violations ≤ trials"):
        frequency("p", "s", SOURCE, violations=11, trials=10, delta=0.1)
    with pytest.raises(ValueError, match=r"δ must lie in \(0, 1\)"):
        frequency("p", "s", SOURCE, violations=1, trials=10, delta=1.0)
