"""fmt: how numbers appear in notes, evidence and cards (two decimals at most, no trailing zeros)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from cds_service.policy.clauses.common import fmt


def _reference(x, unit=""):
    if x is None:
        return "unknown"
    s = f"{x:.2f}".rstrip("0").rstrip(".")
    return f"{s} {unit}".strip()


def test_examples():
    assert fmt(100) == "100" and fmt(100.0) == "100" and fmt(1.5) == "1.5" and fmt(1 / 3) == "0.33"
    assert fmt(0) == "0" and fmt(10, "mg/day") == "10 mg/day" and fmt(None, "kg") == "unknown"
    assert fmt(True) == "1"


@settings(max_examples=400, deadline=None)
@given(
    st.one_of(st.none(), st.booleans(), st.integers(-(2**53), 2**53), st.floats(allow_nan=True, allow_infinity=True)),
    st.sampled_from(["", "kg", "mg/day", " mL/min ", "syringes/28 d"]),
)
def test_same_text_as_the_two_decimal_rule(x, unit):
    assert fmt(x, unit) == _reference(x, unit)


def test_large_integers_are_written_exactly():
    """(The two-decimal rule went through a float and lost digits past 2**53.)"""
    assert fmt(2**53 + 1) == "9007199254740993"
