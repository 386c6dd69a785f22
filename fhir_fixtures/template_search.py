"""Answering prefetch templates against a chart: a tiny FHIR search engine (`answer_template`).

Reads return the resource (or null); searches return a `searchset` Bundle with `total`, absolute
`fullUrl`s and `search.mode`. A search parameter it does not know raises `TemplateError`.
"""

from __future__ import annotations

import copy
from datetime import datetime
from urllib.parse import parse_qsl

from .codes import BUNDLE_TIMESTAMP, FHIR_SERVER, TZ
from .datatypes import fixed_uuid

PATIENT_PARAM = {
    "Coverage": "beneficiary",
    "AllergyIntolerance": "patient",
    "Immunization": "patient",
    "ClaimResponse": "patient",
}
DATE_PATHS = {
    "Observation": ("effectiveDateTime", "effectivePeriod.start", "effectiveInstant", "issued"),
    "Encounter": ("period.start",),
    "Procedure": ("performedDateTime", "performedPeriod.start"),
    "MedicationRequest": ("authoredOn",),
    "Condition": ("recordedDate", "onsetDateTime"),
}


class TemplateError(ValueError):
    """A prefetch template this generator cannot answer: extend answer_template rather than guess."""


def _get(resource: dict, path: str):
    value = resource
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def _when(value: str) -> datetime:
    if len(value) == 10:
        value += "T00:00:00" + TZ
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _sort_key(resource: dict) -> datetime | None:
    for path in DATE_PATHS.get(resource["resourceType"], ()):
        value = _get(resource, path)
        if value:
            return _when(value)
    return None


def _ref_matches(reference: dict | None, rtype: str, rid: str) -> bool:
    if not reference or "reference" not in reference:
        return False
    return reference["reference"] in (f"{rtype}/{rid}", f"{FHIR_SERVER}/{rtype}/{rid}")


def _token_matches(concept_: dict | None, tokens: list[str]) -> bool:
    codings = (concept_ or {}).get("coding", [])
    for token in tokens:
        system, sep, code = token.rpartition("|")
        for c in codings:
            if c.get("code") == code and (not sep or c.get("system") == system):
                return True
    return False


def resolve_tokens(template: str, context: dict, resources: list[dict]) -> str:
    user_type, _, user_id = context["userId"].partition("/")
    practitioner_id = user_id if user_type == "Practitioner" else None
    if user_type == "PractitionerRole":
        role = next(r for r in resources if r["resourceType"] == "PractitionerRole" and r["id"] == user_id)
        practitioner_id = role["practitioner"]["reference"].split("/")[-1]
    tokens = {
        "userPractitionerId": practitioner_id,
        "userPractitionerRoleId": user_id if user_type == "PractitionerRole" else None,
    }
    out = template
    while "{{" in out:
        start = out.index("{{")
        end = out.index("}}", start)
        name = out[start + 2 : end].strip()
        if name.startswith("context."):
            value = context.get(name[len("context.") :])
        elif name in tokens:
            value = tokens[name]
        else:
            raise TemplateError(f"unknown prefetch token {{{{{name}}}}}")
        if not isinstance(value, str) or not value:
            raise TemplateError(f"prefetch token {{{{{name}}}}} has no value in this context")
        out = out[:start] + value + out[end + 2 :]
    return out


def answer_template(
    template: str,
    context: dict,
    resources: list[dict],
    *,
    include_medications: bool = False,
    extra_medication_refs: tuple[dict, ...] = (),
) -> dict | None:
    """What a FHIR server holding `resources` answers to the prefetch template."""
    url = resolve_tokens(template, context, resources)
    if "?" not in url:
        rtype, _, rid = url.partition("/")
        if not rid or "/" in rid:
            raise TemplateError(f"not a read: {url}")
        return next((copy.deepcopy(r) for r in resources if r["resourceType"] == rtype and r["id"] == rid), None)
    rtype, _, query = url.partition("?")
    matches = [r for r in resources if r["resourceType"] == rtype]
    sort: str | None = None
    count: int | None = None
    for name, value in parse_qsl(query, keep_blank_values=True, strict_parsing=True):
        if name == "patient":
            path = PATIENT_PARAM.get(rtype, "subject")
            matches = [r for r in matches if _ref_matches(r.get(path), "Patient", value.split("/")[-1])]
        elif name == "practitioner" and rtype == "PractitionerRole":
            matches = [r for r in matches if _ref_matches(r.get("practitioner"), "Practitioner", value)]
        elif name == "status":
            allowed = value.split(",")
            matches = [r for r in matches if r.get("status") in allowed]
        elif name == "code":
            matches = [r for r in matches if _token_matches(r.get("code"), value.split(","))]
        elif name == "_sort":
            sort = value
        elif name == "_count":
            count = int(value)
        else:
            raise TemplateError(f"search parameter {name!r} of {url!r} is not supported by build.py")
    if sort is not None:
        if sort not in ("date", "-date") or rtype not in DATE_PATHS:
            raise TemplateError(f"_sort={sort} on {rtype} is not supported by build.py")
        dated = [r for r in matches if _sort_key(r) is not None]
        undated = [r for r in matches if _sort_key(r) is None]
        dated.sort(key=_sort_key, reverse=sort.startswith("-"))
        matches = dated + undated
    if count is not None:
        matches = matches[:count]
    entries = [
        {
            "fullUrl": f"{FHIR_SERVER}/{r['resourceType']}/{r['id']}",
            "resource": copy.deepcopy(r),
            "search": {"mode": "match"},
        }
        for r in matches
    ]
    if include_medications:
        wanted: list[str] = []
        for r in [*matches, *extra_medication_refs]:
            reference = (r.get("medicationReference") or {}).get("reference", "")
            if reference.startswith("Medication/") and reference not in wanted:
                wanted.append(reference)
        for reference in wanted:
            med = next(
                (m for m in resources if f"Medication/{m['id']}" == reference and m["resourceType"] == "Medication"),
                None,
            )
            if med is None:
                raise TemplateError(f"{reference} is referenced but not in the chart")
            entries.append(
                {"fullUrl": f"{FHIR_SERVER}/{reference}", "resource": copy.deepcopy(med), "search": {"mode": "include"}}
            )
    bundle = {
        "resourceType": "Bundle",
        "id": fixed_uuid(context["patientId"], template),
        "meta": {"lastUpdated": BUNDLE_TIMESTAMP},
        "type": "searchset",
        "total": len(matches),
        "link": [{"relation": "self", "url": f"{FHIR_SERVER}/{url}"}],
    }
    if entries:
        bundle["entry"] = entries
    return bundle
