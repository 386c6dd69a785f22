"""Small helpers shared by clause evaluators (dates, evidence from facts)."""

from __future__ import annotations

import functools
from calendar import monthrange
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from typing import ParamSpec

from ...facts.model import CaseFacts, Diagnosis, LabValue, PrescriberStatement, TherapySpan, Weight
from ..model import ClauseResult, Evidence, Missing, Need, Outcome

P = ParamSpec("P")


def add_months(d: date, months: int) -> date:
    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    try:
        return date(year, month, d.day)
    except ValueError:  # no such day in that month (31 April): its last day (monthrange is slow)
        return date(year, month, monthrange(year, month)[1])


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


def records_read(what: str, count: int, finding: str) -> Evidence:
    """Evidence for a clause met by absence: what was read (and how much) and that nothing matched,
    so "none found" is never confused with "not looked at" (unreadable data makes those clauses unknown)."""
    return Evidence(f"{what}: {count} record(s) read; {finding}", None, f"{count} record(s)")


def fmt(x: int | float | None, unit: str = "") -> str:
    """A number with at most two decimals and no trailing zeros ("100", "1.5", "0.33"), then the unit."""
    if x is None:
        return "unknown"
    s = str(x) if x.__class__ is int else f"{x:.2f}".rstrip("0").rstrip(".")
    return f"{s} {unit}".strip() if unit else s


def diagnosis_evidence(d: Diagnosis) -> Evidence:
    system = d.code.system.rsplit("/", 1)[-1] if d.code.system else "text"
    code = f"{system} {d.code.code or ''}".strip()
    status = f", {d.clinical_status}" if d.clinical_status and d.clinical_status != "active" else ""
    text = d.text.split(" | ")[0] if d.text else d.code.label()
    return Evidence(
        f"{text} ({code}{status})" + (" stated as the order's reason" if d.from_order else ""),
        d.source,
        d.code.code,
        d.onset.isoformat() if d.onset else None,
    )


def statement_evidence(st: PrescriberStatement) -> Evidence:
    if st.source.startswith("QuestionnaireResponse/"):
        return Evidence(f"prescriber's answer: {st.text}", st.source, st.key)
    return Evidence(f'prescriber\'s note: "{st.text}"', st.source, st.key)


def denial(case: CaseFacts, *keys: str) -> PrescriberStatement | None:
    """The prescriber's "no" (questionnaire answer) to one of the statements `keys`, if any."""
    denials = case.order.prescriber_denials
    return next((denials[k] for k in keys if k in denials), None)


DENIAL_VALUE = "no: "  # the value of a denial's evidence: "no: <statement key>"


def denial_evidence(st: PrescriberStatement) -> Evidence:
    return Evidence(f"prescriber's answer: {st.text}", st.source, f"{DENIAL_VALUE}{st.key}")


def is_denial_evidence(ev: Evidence) -> bool:
    """Is this the prescriber's own "no" (a questionnaire answer, `denial_evidence`)?"""
    return (ev.value or "").startswith(DENIAL_VALUE) and (ev.reference or "").startswith("QuestionnaireResponse/")


def lab_evidence(lab: LabValue, label: str) -> Evidence:
    if lab.value is not None:
        value = f"{fmt(lab.value)} {lab.unit or ''}".strip()
    elif lab.positive is not None:
        value = "positive" if lab.positive else "negative"
    else:
        value = lab.text or "recorded"
    shown = f" (recorded as {lab.text})" if lab.text and lab.value is not None and lab.text != value else ""
    return Evidence(
        f"{label}: {value}{shown}", lab.source, value, lab.observed_on.isoformat() if lab.observed_on else None
    )


def weight_evidence(w: Weight) -> Evidence:
    shown = fmt(w.kg, "kg")
    text = (
        f"body weight {shown}"
        if w.original.replace(" ", "") in (shown.replace(" ", ""), f"{w.kg:g}kg")
        else f"body weight {w.original} = {shown}"
    )
    return Evidence(text, w.source, shown, w.observed_on.isoformat() if w.observed_on else None)


def with_denial(result: ClauseResult, case: CaseFacts, keys: tuple[str, ...]) -> ClauseResult:
    """A clause result read with the prescriber's "no" to one of its statements (`keys`), when there is one:
    what the chart leaves UNKNOWN the answer makes NOT_MET; what the chart meets it makes UNKNOWN (the chart and
    the answer disagree: both are shown, clarification is asked); NOT_MET stays NOT_MET. Either way the answer is
    cited with the chart's evidence: an answer never hides what the chart says."""
    st = denial(case, *keys)
    if st is None or result.outcome is Outcome.NOT_APPLICABLE or result.children:
        return result
    ev = (*result.evidence, denial_evidence(st))
    if result.outcome is Outcome.UNKNOWN:
        return replace(
            result, outcome=Outcome.NOT_MET, evidence=ev, missing=(), note=f"The prescriber answers no: {st.text}"
        )
    if result.outcome is Outcome.MET:
        return replace(
            result,
            outcome=Outcome.UNKNOWN,
            evidence=ev,
            note=result.note + f" But the prescriber answers no ({st.text}): the chart and the answer disagree.",
            missing=(
                Missing(
                    f"Clarification: the chart meets this criterion but the prescriber answered no ({st.text})",
                    Need.CLINICAL_DOC,
                ),
            ),
        )
    return replace(result, evidence=ev)


def answered(*keys: str) -> Callable[[Callable[P, ClauseResult]], Callable[P, ClauseResult]]:
    """Decorate a clause evaluator `(case, policy, ...) -> ClauseResult` so that it reads the prescriber's "no"
    to the statements `keys` (`with_denial`)."""

    def decorate(fn: Callable[P, ClauseResult]) -> Callable[P, ClauseResult]:
        @functools.wraps(fn)
        def evaluate(*args: P.args, **kwargs: P.kwargs) -> ClauseResult:
            case = args[0] if args else kwargs["case"]
            assert isinstance(case, CaseFacts)  # noqa: S101  (every clause evaluator takes the case first)
            return with_denial(fn(*args, **kwargs), case, keys)

        return evaluate

    return decorate
