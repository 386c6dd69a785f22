"""Resolve prefetch: a key may be absent, null, an OperationOutcome, a resource or a (paged) Bundle."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum


class PrefetchState(str, Enum):
    ABSENT = "absent"  # the client did not (or could not) satisfy the key: fetch it
    EMPTY = "null"  # the client has no data for it: nothing to fetch
    ERROR = "operation-outcome"  # the client reported an error: fetch it
    PRESENT = "present"


@dataclass(frozen=True)
class PrefetchValue:
    state: PrefetchState
    resources: tuple[dict, ...] = ()
    next_link: str | None = None  # a paginated Bundle's next page, still to follow
    left_out: int = 0  # matches a Bundle's `total` counts but it neither holds nor links to
    matches: int = 0  # the Bundle's match entries (search.mode match, or no mode given)


def _next_link(bundle: dict) -> str | None:
    for link in bundle.get("link") or []:
        if isinstance(link, dict) and link.get("relation") == "next" and isinstance(link.get("url"), str):
            return link["url"]
    return None


def classify(prefetch: dict, key: str) -> PrefetchValue:
    if key not in prefetch:
        return PrefetchValue(PrefetchState.ABSENT)
    value = prefetch[key]
    if value is None:
        return PrefetchValue(PrefetchState.EMPTY)
    if not isinstance(value, dict):
        return PrefetchValue(PrefetchState.ABSENT)
    rtype = value.get("resourceType")
    if rtype == "OperationOutcome":
        return PrefetchValue(PrefetchState.ERROR)
    if rtype == "Bundle":
        resources = []
        matches = 0
        for entry in value.get("entry") or []:
            if isinstance(entry, dict) and isinstance(entry.get("resource"), dict):
                res = entry["resource"]
                # A searchset may carry an OperationOutcome entry (search.mode outcome): ignore it.
                if res.get("resourceType") != "OperationOutcome":
                    resources.append(res)
                    search = entry.get("search")
                    if not isinstance(search, dict) or search.get("mode") in (None, "match"):
                        matches += 1
        next_link = _next_link(value)
        total = value.get("total")
        # `total` counts the search's matches (not _include'd resources). A Bundle that holds fewer and
        # links to no next page was cut short by the EHR: absence in it proves nothing.
        left_out = 0
        if next_link is None and isinstance(total, int) and not isinstance(total, bool) and total > matches:
            left_out = total - matches
        return PrefetchValue(PrefetchState.PRESENT, tuple(resources), next_link, left_out, matches)
    return PrefetchValue(PrefetchState.PRESENT, (value,))


_TOKEN = re.compile(r"\{\{\s*([^}]+?)\s*\}\}")


def render_template(template: str, tokens: dict[str, str | None]) -> str | None:
    """Fill {{...}} tokens; None when a token has no value (the query cannot be run)."""
    missing = False

    def sub(m: re.Match) -> str:
        nonlocal missing
        value = tokens.get(m.group(1))
        if not value:
            missing = True
            return ""
        return value

    out = _TOKEN.sub(sub, template)
    return None if missing else out


def context_tokens(patient_id: str, user_id: str, encounter_id: str | None) -> dict[str, str | None]:
    rtype, _, uid = user_id.partition("/")
    return {
        "context.patientId": patient_id,
        "context.userId": user_id,
        "context.encounterId": encounter_id,
        "userPractitionerId": uid if rtype == "Practitioner" else None,
        "userPractitionerRoleId": uid if rtype == "PractitionerRole" else None,
        "userPatientId": uid if rtype == "Patient" else None,
        "userRelatedPersonId": uid if rtype == "RelatedPerson" else None,
    }
