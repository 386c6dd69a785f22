"""The prescriber's specialty, from PractitionerRole.specialty (NUCC or SNOMED) or qualifications."""

from __future__ import annotations

from typing import Any

from .fhir_json import ReferenceLookup, codings, concept_text, dicts, ref_of, reference
from .memo import ConceptMemo
from .model import Code, Prescriber
from .terminology.codes import specialty_for


def _concept_specialties(concept: Any) -> tuple[frozenset[str], tuple[Code, ...]]:
    """The specialties one specialty/role/qualification concept names (its codes, else its text)."""
    found: set[str] = set()
    codes = tuple(codings(concept))
    for c in codes:
        hit = specialty_for(c.system, c.code, c.display)
        if hit:
            found.add(hit)
    if not any(specialty_for(c.system, c.code) for c in codes):
        hit = specialty_for(None, None, concept_text(concept))
        if hit:
            found.add(hit)
    return frozenset(found), codes


_specialties_memo = ConceptMemo(_concept_specialties)


def _specialties_of(resource: dict[str, Any]) -> tuple[set[str], list[Code]]:
    found: set[str] = set()
    codes: list[Code] = []
    fields = []
    if resource.get("resourceType") == "PractitionerRole":
        fields = list(dicts(resource.get("specialty"))) + list(dicts(resource.get("code")))
    elif resource.get("resourceType") == "Practitioner":
        fields = [q["code"] for q in dicts(resource.get("qualification")) if isinstance(q.get("code"), dict)]
    for concept in fields:
        hits, concept_codes = _specialties_memo(concept)
        found |= hits
        codes.extend(concept_codes)
    return found, codes


def _type_id(ref: str | None) -> str | None:
    """`Type/id` of a reference given relative, absolute or versioned ("https://ehr/fhir/Practitioner/7",
    "Practitioner/7/_history/2"); None when it names no resource."""
    if not isinstance(ref, str) or not ref.strip():
        return None
    parts = ref.strip().rstrip("/").split("/")
    if len(parts) >= 4 and parts[-2] == "_history":
        parts = parts[:-2]
    if len(parts) < 2 or not parts[-2][:1].isupper() or not parts[-1]:
        return None
    return f"{parts[-2]}/{parts[-1]}"


def _current(role: dict[str, Any]) -> bool:
    """A PractitionerRole marked `active: false` no longer says what the practitioner does."""
    return role.get("active") is not False


def read_prescriber(
    requester: str | None,
    user_id: str | None,
    roles: list[dict[str, Any]],
    practitioners: list[dict[str, Any]],
    lookup: ReferenceLookup,
) -> Prescriber:
    """Specialties of the order's requester (or, failing that, the user signing it).

    CRD 2.2 makes a draft MedicationRequest's requester a Practitioner (profile-medicationrequest: "requester
    only Reference(CRDPractitioner)"), while the specialty lives on the PractitionerRole: for a Practitioner
    the roles naming that practitioner (prefetch `user` when the user is the role, `userRoles`) count, with
    the Practitioner's own qualifications. A role marked inactive is not used: it could only add a
    specialty the prescriber no longer practises."""
    for who in (_type_id(requester), _type_id(user_id)):
        if not who:
            continue
        rtype = who.split("/")[0]
        candidates: list[dict[str, Any]] = []
        if rtype == "PractitionerRole":
            role = lookup(who)
            if role and _current(role):
                candidates.append(role)
            if role:
                prac = reference(role.get("practitioner"))
                if prac:
                    p = lookup(_type_id(prac) or prac)
                    if p:
                        candidates.append(p)
        elif rtype == "Practitioner":
            p = lookup(who)
            if p:
                candidates.append(p)
            for role in roles:
                named = reference(role.get("practitioner"))
                if (_type_id(named) == who or named == who.split("/")[-1]) and _current(role):
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
