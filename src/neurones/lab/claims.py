"""Claims: what a source says, what theory predicts, what was measured, and whether it holds.

The verdict is decided by one rule, fixed here before any run and the same at every scale:

* an **equality** ``measured ≈ predicted`` holds iff ``|measured − predicted| ≤ 3·stderr + tol``, where ``tol`` is
  stated with the claim (0 for an exact formula checked by Monte Carlo; the size of a known bias otherwise);
* a **band** ``low ≤ measured ≤ high`` (one-sided when a bound is infinite) holds iff the measured value lies in it
  up to three standard errors: ``low − 3·stderr ≤ measured ≤ high + 3·stderr``.

``stderr`` is the Monte Carlo standard error of ``measured`` (0 for a deterministic computation). A measured value
or standard error that is NaN or infinite cannot support anything: the claim fails and its statement says why.
A failing claim is a result like any other: it is reported, never dropped, weakened or re-seeded; an experiment
can attach ``notes`` that explain a verdict (why a measurement misses a prediction, what a protocol leaves open).

Each claim also records its **margin** under its rule, which says how close the verdict was: for an equality
``|measured − predicted| / (3·stderr + tol)`` (the claim holds iff it is ≤ 1), for a band the distance from the
measurement to the band in standard errors (0 inside the band; the claim holds iff it is ≤ 3).

Statements may hold mathematics as LaTeX between dollar signs (``$\\alpha_L = 1/L^\\beta$``); the report renders it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

SIGMAS = 3.0
"""How many standard errors a measurement may stray from a prediction before the claim fails."""


@dataclass(frozen=True)
class Claim:
    """One verdict. ``prediction`` is human-readable ("= 40.25", "= 0.6487 ± tol 0.05", "∈ [0.5, 2]", "≤ 1");
    ``source`` cites a work of :mod:`neurones.lab.bibliography` by key (``"shen-vin-2023, Lemme 1"``); ``rule`` is
    ``"equality"`` or ``"band"``, ``limits`` its numbers at full precision — (predicted, tol) or (low, high) —
    and ``margin`` the distance under that rule (module docstring)."""

    id: str
    statement: str
    source: str
    prediction: str
    measured: float
    stderr: float
    holds: bool
    rule: str = "equality"
    limits: tuple[float, float] = (math.nan, math.nan)
    margin: float = math.nan
    notes: str = ""

    def to_record(self) -> dict:
        """The claim as a results.json record (non-finite numbers become ``None``, which JSON can represent)."""
        return {
            "id": self.id,
            "statement": self.statement,
            "source": self.source,
            "prediction": self.prediction,
            "measured": _finite_or_none(self.measured),
            "stderr": _finite_or_none(self.stderr),
            "holds": self.holds,
            "rule": self.rule_record(),
            "margin": _finite_or_none(self.margin),
            "notes": self.notes,
        }


    def rule_record(self) -> dict:
        """``{"kind": "equality", "predicted", "tol"}`` or ``{"kind": "band", "low", "high"}`` (an infinite bound,
        that is no bound on that side, is ``None``)."""
        names = ("predicted", "tol") if self.rule == "equality" else ("low", "high")
        return {"kind": self.rule, **{name: _finite_or_none(value) for name, value in zip(names, self.limits)}}


# The parameter ``id`` shadows the builtin on purpose: it is the name of the field in results.json.
def equality(
    id: str,
    statement: str,
    source: str,
    *,
    predicted: float,
    measured: float,
    stderr: float,
    tol: float,
    notes: str = "",
) -> Claim:
    """The claim ``measured = predicted``: it holds iff ``|measured − predicted| ≤ 3·stderr + tol``."""
    predicted = _finite_number("predicted", id, predicted)
    tol = _finite_number("tol", id, tol)
    if tol < 0:
        raise ValueError(f"claim {id}: tol must be ≥ 0, got {tol}")
    prediction = f"= {_fmt(predicted)}" if tol == 0 else f"= {_fmt(predicted)} ± tol {_fmt(tol)}"
    measured, stderr, problem = _checked_measurement(id, measured, stderr)
    allowance = SIGMAS * stderr + tol
    holds = problem is None and abs(measured - predicted) <= allowance
    margin = math.nan if problem is not None else _ratio(abs(measured - predicted), allowance)
    return Claim(id, _with_note(statement, problem), source, prediction, measured, stderr, holds, "equality",
                 (predicted, tol), margin, notes)


def band(
    id: str,
    statement: str,
    source: str,
    *,
    low: float,
    high: float,
    measured: float,
    stderr: float,
    notes: str = "",
) -> Claim:
    """The claim ``low ≤ measured ≤ high``: it holds iff ``low − 3·stderr ≤ measured ≤ high + 3·stderr``.

    Either bound may be infinite (``at_most``/``at_least`` are the one-sided forms)."""
    low, high = float(low), float(high)
    if math.isnan(low) or math.isnan(high) or low > high:
        raise ValueError(f"claim {id}: the band [{low}, {high}] is empty or undefined")
    measured, stderr, problem = _checked_measurement(id, measured, stderr)
    slack = SIGMAS * stderr if problem is None else 0.0
    holds = problem is None and low - slack <= measured <= high + slack
    margin = math.nan if problem is not None else _ratio(max(low - measured, measured - high, 0.0), stderr)
    return Claim(id, _with_note(statement, problem), source, _band_text(low, high), measured, stderr, holds, "band",
                 (low, high), margin, notes)


def at_most(
    id: str, statement: str, source: str, *, high: float, measured: float, stderr: float, notes: str = ""
) -> Claim:
    """The claim ``measured ≤ high``, up to three standard errors."""
    return band(id, statement, source, low=-math.inf, high=high, measured=measured, stderr=stderr, notes=notes)


def at_least(
    id: str, statement: str, source: str, *, low: float, measured: float, stderr: float, notes: str = ""
) -> Claim:
    """The claim ``measured ≥ low``, up to three standard errors."""
    return band(id, statement, source, low=low, high=math.inf, measured=measured, stderr=stderr, notes=notes)


def frequency(
    id: str, statement: str, source: str, *, violations: int, trials: int, delta: float, notes: str = ""
) -> Claim:
    """The claim "an event of probability at most δ happens at most that often": over ``trials`` independent
    trials it happened ``violations`` times. The observed frequency f = violations/trials, with its binomial
    standard error √(f(1 − f)/trials), is held to ``f ≤ δ`` by the band rule (up to three standard errors) —
    the rule of every high-probability statement "with probability ≥ 1 − δ"."""
    if not (isinstance(trials, int) and trials >= 1 and isinstance(violations, int) and 0 <= violations <= trials):
        raise ValueError(f"claim {id}: need 0 ≤ violations ≤ trials and trials ≥ 1, got {violations}/{trials}")
    delta = _finite_number("delta", id, delta)
    if not 0 < delta < 1:
        raise ValueError(f"claim {id}: δ must lie in (0, 1), got {delta}")
    observed = violations / trials
    stderr = math.sqrt(observed * (1 - observed) / trials)
    return at_most(id, statement, source, high=delta, measured=observed, stderr=stderr, notes=notes)


def _ratio(distance: float, scale: float) -> float:
    """``distance / scale``, with 0/0 = 0 (an exact match under an exact rule) and d/0 = ∞."""
    if scale == 0:
        return 0.0 if distance == 0 else math.inf
    return distance / scale


def _checked_measurement(claim_id: str, measured, stderr) -> tuple[float, float, str | None]:
    """Cast to float; return the reason (or ``None``) why this measurement cannot support a verdict."""
    measured, stderr = float(measured), float(stderr)
    if stderr < 0:
        raise ValueError(f"claim {claim_id}: a standard error cannot be negative, got {stderr}")
    if not math.isfinite(measured):
        return measured, stderr, f"the measured value is {measured}, so the claim cannot hold"
    if not math.isfinite(stderr):
        return measured, stderr, f"the standard error is {stderr}, so the claim cannot hold"
    return measured, stderr, None


def _finite_number(what: str, claim_id: str, value) -> float:
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"claim {claim_id}: {what} must be a finite number, got {value}")
    return value


def _with_note(statement: str, problem: str | None) -> str:
    return statement if problem is None else f"{statement} [note: {problem}]"


def _band_text(low: float, high: float) -> str:
    if math.isinf(low) and math.isinf(high):
        return "any value"
    if math.isinf(low):
        return f"≤ {_fmt(high)}"
    if math.isinf(high):
        return f"≥ {_fmt(low)}"
    return f"∈ [{_fmt(low)}, {_fmt(high)}]"


def _fmt(value: float) -> str:
    return f"{value:.6g}"


def _finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None
