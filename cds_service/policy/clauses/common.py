"""Small helpers shared by clause evaluators (dates, evidence from facts)."""

from __future__ import annotations

from calendar import monthrange
from datetime import date

from ...facts.model import TherapySpan
from ..model import Evidence


def add_months(d: date, months: int) -> date:
    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    return date(year, month, min(d.day, monthrange(year, month)[1]))


def lasted_months(span: TherapySpan, months: int, as_of: date) -> bool | None:
    """Did the span last at least `months`? None when its dates do not say."""
    if span.start is None:
        return None
    end = span.end or (as_of if span.active else None)
    if end is None:
        return None
    return end >= add_months(span.start, months)


def span_evidence(span: TherapySpan, extra: str = "") -> Evidence:
    when = ""
    if span.start or span.end:
        when = f"{span.start.isoformat() if span.start else '?'} to {span.end.isoformat() if span.end else 'ongoing'}"
    text = f"{span.label} ({span.kind}, {span.status or 'status unknown'})"
    if span.reason_text:
        text += f": {span.reason_text}"
    if extra:
        text += f"; {extra}"
    return Evidence(text, span.source, when or None, span.start.isoformat() if span.start else None)


def fmt(x: float | None, unit: str = "") -> str:
    if x is None:
        return "unknown"
    s = f"{x:.2f}".rstrip("0").rstrip(".")
    return f"{s} {unit}".strip()
