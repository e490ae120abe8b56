"""Numbers for people: a measurement to the precision its standard error supports, 3–4 significant digits, powers
of ten for very large or very small values, and no "± 0" after an exact computation. One implementation, used by
the HTML report, the Markdown report and the command line."""

from __future__ import annotations

import math

SUPERSCRIPTS = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")
SIGNIFICANT = 4
LARGE, SMALL = 1e4, 1e-3  # outside [SMALL, LARGE) a value is written with a power of ten


def format_number(value: float | None) -> str:
    """``0.6487``, ``40.25``, ``1.235×10⁶``, ``3.1×10⁻⁵``; ``n/a`` for a missing (non-finite) value; integers
    below 10⁴ exactly."""
    if value is None or not math.isfinite(value):
        return "n/a"
    if value == 0:
        return "0"
    exponent = _exponent(value)
    if exponent == 0:
        return f"{value:.{SIGNIFICANT}g}"
    return f"{_trim(f'{value / 10**exponent:.{SIGNIFICANT - 1}f}')}×10{str(exponent).translate(SUPERSCRIPTS)}"


def format_measurement(measured: float | None, stderr: float | None) -> str:
    """``40.257 ± 0.010``: the value to the decimals its standard error supports (two significant digits of the
    error), at most 4 significant digits (an error too small to show at those is written on its own:
    ``40.25 ± 1.2×10⁻⁶``);
    ``(1.234 ± 0.012)×10⁶`` for large values; an exact value (error 0) alone; "n/a" for a missing one."""
    if measured is None or not math.isfinite(measured):
        return "n/a"
    if stderr is None or not math.isfinite(stderr):
        return f"{format_number(measured)} ± n/a"
    if stderr == 0:
        return format_number(measured)
    exponent = _exponent(measured) if measured != 0 else _exponent(stderr)
    value, error = measured / 10**exponent, stderr / 10**exponent
    value_decimals = max(0, SIGNIFICANT - 1 - math.floor(math.log10(abs(value)))) if value != 0 else SIGNIFICANT
    error_decimals = max(0, 1 - math.floor(math.log10(error)))
    if error_decimals <= value_decimals:
        text = f"{value:.{error_decimals}f} ± {error:.{error_decimals}f}"
    elif round(error, value_decimals) > 0:
        text = f"{value:.{value_decimals}f} ± {error:.{value_decimals}f}"
    else:
        text = f"{value:.{value_decimals}f} ± {format_number(error)}"
    return text if exponent == 0 else f"({text})×10{str(exponent).translate(SUPERSCRIPTS)}"


def format_prediction(claim: dict) -> str:
    """The prediction of a claim record in the format of :func:`format_number` (``= 0.6018``, ``∈ [5.583, 34.53]``,
    ``≥ 100``), from its rule's numbers; the stored text where a record has none."""
    rule = claim.get("rule")
    if not isinstance(rule, dict):
        return claim.get("prediction", "")
    if rule["kind"] == "equality":
        tol = rule.get("tol")
        return f"= {format_number(rule['predicted'])}" + (f" ± tol {format_number(tol)}" if tol else "")
    low, high = rule.get("low"), rule.get("high")
    if low is None and high is None:
        return "any value"
    if low is None:
        return f"≤ {format_number(high)}"
    if high is None:
        return f"≥ {format_number(low)}"
    return f"∈ [{format_number(low)}, {format_number(high)}]"


def format_margin(claim: dict) -> str:
    """The claim's margin under its rule: for an equality ``|m − p| / (3·stderr + tol)`` (the claim holds up to 1),
    for a band the distance outside it in standard errors (``inside`` when within the band itself); an exact
    value (error 0) that misses its prediction is infinitely many standard errors away."""
    margin = claim.get("margin")
    if margin is None:
        exact_miss = claim.get("measured") is not None and claim.get("stderr") == 0 and not claim.get("holds")
        return "∞ (exact value)" if exact_miss else "n/a"
    if _kind(claim) == "band":
        return "inside" if margin == 0 else f"{format_number(margin)} se out"
    return format_number(margin)


def summary_line(total: int, holding: int, skipped: int = 0) -> str:
    text = f"{total} claim{'s' if total != 1 else ''}, {holding} hold, {total - holding} fail"
    return text + (f", {skipped} skipped" if skipped else "")


def _kind(claim: dict) -> str | None:
    rule = claim.get("rule")
    return rule.get("kind") if isinstance(rule, dict) else rule


def _exponent(value: float) -> int:
    magnitude = abs(value)
    if SMALL <= magnitude < LARGE:
        return 0
    exponent = math.floor(math.log10(magnitude))
    if round(magnitude / 10**exponent, SIGNIFICANT - 1) >= 10:  # 9.9996e5 rounds to 10.000×10⁵: write 1.000×10⁶
        exponent += 1
    return exponent


def _trim(text: str) -> str:
    return text.rstrip("0").rstrip(".") if "." in text else text
