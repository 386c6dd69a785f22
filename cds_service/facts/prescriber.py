"""The prescriber's specialty, from PractitionerRole.specialty (NUCC or SNOMED) or qualifications."""

from __future__ import annotations

from .fhir_reading import codings, concept_text, dicts, ref_of, reference
from .model import Code, Prescriber
from .terminology import valuesets as vs


def _specialties_of(resource: dict) -> tuple[set[str], list[Code]]:
    found: set[str] = set()
    codes: list[Code] = []
    fields = []
    if resource.get("resourceType") == "PractitionerRole":
        fields = list(dicts(resource.get("specialty"))) + list(dicts(resource.get("code")))
    elif resource.get("resourceType") == "Practitioner":
        fields = [q.get("code") for q in dicts(resource.get("qualification")) if isinstance(q.get("code"), dict)]
    for concept in fields:
        for c in codings(concept):
            codes.append(c)
            hit = vs.specialty_for(c.system, c.code, c.display)
            if hit:
                found.add(hit)
        if not any(vs.specialty_for(c.system, c.code) for c in codings(concept)):
            hit = vs.specialty_for(None, None, concept_text(concept))
            if hit:
                found.add(hit)
    return found, codes


def read_prescriber(requester: str | None, user_id: str | None, roles: list[dict], practitioners: list[dict],
                    lookup) -> Prescriber:
    """Specialties of the order's requester (or, failing that, the user signing it)."""
    for who in (requester, user_id):
        if not who:
            continue
        rtype = who.split("/")[0]
        candidates: list[dict] = []
        if rtype == "PractitionerRole":
            role = lookup(who)
            if role:
                candidates.append(role)
                prac = reference(role.get("practitioner"))
                if prac:
                    p = lookup(prac)
                    if p:
                        candidates.append(p)
        elif rtype == "Practitioner":
            p = lookup(who)
            if p:
                candidates.append(p)
            for role in roles:
                if reference(role.get("practitioner")) in (who, who.split("/")[-1]):
                    candidates.append(role)
        if not candidates:
            continue
        specialties: set[str] = set()
        codes: list[Code] = []
        for c in candidates:
            s, cs = _specialties_of(c)
            specialties |= s
            codes.extend(cs)
        return Prescriber(frozenset(specialties), ref_of(candidates[0]), True, tuple(codes))
    return Prescriber(frozenset(), requester or user_id, False, ())
