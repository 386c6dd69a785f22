"""Defensive readers for raw FHIR JSON (dicts): dates, codings, quantities, references.

Every reader accepts anything (wrong types included) and returns None / empty rather than
raising: odd but valid resources must never crash the facts layer. Every fact is read with these; validation
against the FHIR models (`fhir_validation`) only reports what is structurally wrong, for explanations.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import date, datetime
from typing import Any

from .memo import text_memo
from .model import Code

#: Resolves a reference ("Medication/m1", "#contained") to the resource it names, or None.
ReferenceLookup = Callable[[str], "dict[str, Any] | None"]

_DATE_RE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?")


def parse_date(value: Any, *, end_of_period: bool = False) -> date | None:
    """A FHIR date/dateTime/instant to a date. Partial dates ("2024", "2024-05") take the first
    day of the period, or the last when `end_of_period` (for the end of an effectivePeriod)."""
    if not isinstance(value, str):
        return None
    return _parse_date(value, end_of_period)


@text_memo(maxsize=16384)
def _parse_date(value: str, end_of_period: bool) -> date | None:
    """`parse_date` of a string: charts repeat their dates, so each distinct one is parsed once."""
    m = _DATE_RE.match(value.strip())
    if not m:
        return None
    y, mo, d = m.group(1), m.group(2), m.group(3)
    try:
        year = int(y)
        if mo is None:
            return date(year, 12, 31) if end_of_period else date(year, 1, 1)
        month = int(mo)
        if d is None:
            if end_of_period:
                nxt = date(year + (month == 12), month % 12 + 1, 1)
                return date.fromordinal(nxt.toordinal() - 1)
            return date(year, month, 1)
        # A full dateTime with an offset: the local date as written is what the clinician meant.
        return date(year, month, int(d))
    except ValueError:
        return None


def parse_instant(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def as_list(value: Any) -> list[Any]:
    """FHIR arrays, tolerating a single object where an array belongs (the Sandbox's category)."""
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]


def dicts(value: Any) -> Iterator[dict[str, Any]]:
    for v in as_list(value):
        if isinstance(v, dict):
            yield v


def object_or_empty(value: Any) -> dict[str, Any]:
    """A JSON object, or {} for anything else (absent, null, a list, a string)."""
    return value if isinstance(value, dict) else {}


def list_or_empty(value: Any) -> list[Any]:
    """A JSON array, or [] for anything else (a single object is not wrapped: see `as_list` for that)."""
    return value if isinstance(value, list) else []


def text_or_empty(value: Any) -> str:
    """A JSON string, or "" for anything else."""
    return value if isinstance(value, str) else ""


def str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def codings(concept: Any) -> list[Code]:
    """Every Coding of a CodeableConcept (or a list of them) as a Code (hot path: plain loops)."""
    out: list[Code] = []
    for cc in concept if isinstance(concept, list) else (concept,):
        if not isinstance(cc, dict):
            continue
        coding = cc.get("coding")
        if coding is None:
            continue
        for c in coding if isinstance(coding, list) else (coding,):
            if isinstance(c, dict):
                out.append(
                    Code(str_or_none(c.get("system")), str_or_none(c.get("code")), str_or_none(c.get("display")))
                )
    return out


def concept_text(concept: Any) -> str:
    """All human text of a CodeableConcept (or a list of them): text + coding displays."""
    if concept is None:
        return ""
    parts: list[str] = []
    for cc in concept if isinstance(concept, list) else (concept,):  # hot path: plain loops
        if not isinstance(cc, dict):
            continue
        t = cc.get("text")
        if isinstance(t, str):
            parts.append(t)
        coding = cc.get("coding")
        if coding is None:
            continue
        for c in coding if isinstance(coding, list) else (coding,):
            if isinstance(c, dict):
                d = c.get("display")
                if isinstance(d, str):
                    parts.append(d)
    return " | ".join(parts)


def first_text(concept: Any) -> str:
    for cc in dicts(concept):
        t = cc.get("text")
        if isinstance(t, str) and t:
            return t
        for c in dicts(cc.get("coding")):
            d = c.get("display")
            if isinstance(d, str) and d:
                return d
            code = c.get("code")
            if isinstance(code, str) and code:
                return code
    return ""


def number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def quantity(q: Any) -> tuple[float | None, str | None]:
    """(value, unit code or unit text) of a Quantity."""
    if not isinstance(q, dict):
        return None, None
    v = number(q.get("value"))
    unit = str_or_none(q.get("code"))
    if unit is None and isinstance(q.get("unit"), str):
        unit = q["unit"]
    return v, unit


def reference(ref: Any) -> str | None:
    if isinstance(ref, dict):
        value = ref.get("reference")
        if isinstance(value, str):
            return value
    return None


def ref_of(resource: dict[str, Any]) -> str:
    rt = resource.get("resourceType") if isinstance(resource.get("resourceType"), str) else "Resource"
    rid = resource.get("id") if isinstance(resource.get("id"), str) else "?"
    return f"{rt}/{rid}"


def status_code(concept: Any) -> str | None:
    """The code of a status CodeableConcept (clinicalStatus / verificationStatus): the first non-empty coding
    code, as `codings` would give it (hot path: read in place, no Code built)."""
    for cc in concept if isinstance(concept, list) else (concept,):
        if not isinstance(cc, dict):
            continue
        coding = cc.get("coding")
        for c in coding if isinstance(coding, list) else (coding,):
            if isinstance(c, dict):
                code = c.get("code")
                if isinstance(code, str) and code:
                    return code
    return None
