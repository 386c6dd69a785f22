"""Small builders of FHIR datatypes (Coding, CodeableConcept, Reference, Quantity, dates with the
fixtures' time zone) and deterministic identifiers (NPIs, uuids).
"""

from __future__ import annotations

import uuid
from datetime import date

from .codes import ROUTES, SYS, TZ, UUID_NAMESPACE


def d(text: str) -> date:
    return date.fromisoformat(text)


def dt(day: str | date, clock: str = "09:30:00") -> str:
    return f"{day if isinstance(day, str) else day.isoformat()}T{clock}{TZ}"


def coding(system: str, code: str, display: str | None = None) -> dict:
    out = {"system": SYS.get(system, system), "code": code}
    if display:
        out["display"] = display
    return out


def concept(*codings: dict, text: str | None = None) -> dict:
    out: dict = {}
    if codings:
        out["coding"] = list(codings)
    if text:
        out["text"] = text
    return out


def ref(resource: dict, display: str | None = None) -> dict:
    out = {"reference": f"{resource['resourceType']}/{resource['id']}"}
    if display:
        out["display"] = display
    return out


def quantity(value: float, unit: str, code: str | None = None) -> dict:
    return {"value": value, "unit": unit, "system": SYS["ucum"], "code": code or unit}


def route_concept(name: str) -> dict:
    code, display = ROUTES[name]
    return concept(coding("snomed", code, display), text=display)


def npi_for(seed: str) -> str:
    """A 10-digit number that passes the NPI Luhn check (prefix 80840), synthetic by construction."""
    body = "1" + str(int(uuid.uuid5(UUID_NAMESPACE, seed).int % 10**8)).zfill(8)
    digits = [int(c) for c in "80840" + body]
    total = 0
    for i, digit in enumerate(reversed(digits)):
        n = digit * 2 if i % 2 == 0 else digit
        total += n - 9 if n > 9 else n
    return body + str((10 - total % 10) % 10)


def fixed_uuid(*parts: str) -> str:
    return str(uuid.uuid5(UUID_NAMESPACE, "/".join(parts)))


def diagnosis_concept(dx: dict) -> dict:
    codings = [coding("icd10cm", dx["icd"], dx["icd_display"])]
    if dx.get("snomed"):
        codings.append(coding("snomed", dx["snomed"], dx["snomed_display"]))
    return concept(*codings, text=dx["text"])
