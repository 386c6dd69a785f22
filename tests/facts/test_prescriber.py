"""The prescriber's specialty when the draft's requester is a Practitioner (CRD 2.2 MedicationRequest profile:
"requester only Reference(CRDPractitioner)") and the specialty is on a PractitionerRole."""

from __future__ import annotations

from cds_service.facts.prescriber import read_prescriber

NUCC = "http://nucc.org/provider-taxonomy"


def role(rid: str, practitioner_ref: str, code: str = "207RR0500X", display: str = "Rheumatology", **extra) -> dict:
    return {
        "resourceType": "PractitionerRole",
        "id": rid,
        "practitioner": {"reference": practitioner_ref},
        "specialty": [{"coding": [{"system": NUCC, "code": code, "display": display}]}],
        **extra,
    }


def practitioner(pid: str) -> dict:
    return {"resourceType": "Practitioner", "id": pid, "name": [{"family": "Okafor"}]}


def lookup_in(*resources: dict):
    index = {f"{r['resourceType']}/{r['id']}": r for r in resources}

    def lookup(ref: str):
        if ref in index:
            return index[ref]
        parts = ref.rstrip("/").split("/")
        return index.get("/".join(parts[-2:])) if len(parts) >= 2 else None

    return lookup


def test_requester_practitioner_takes_the_specialty_from_the_users_role():
    """The fixtures' shape: requester Practitioner/dr, user PractitionerRole/role (prefetch `user`); the
    Practitioner itself was not prefetched."""
    r = role("role-rheum", "Practitioner/dr-rheum")
    got = read_prescriber("Practitioner/dr-rheum", "PractitionerRole/role-rheum", [r], [], lookup_in(r))
    assert got.known and got.specialties == frozenset({"rheumatology"})


def test_requester_practitioner_with_roles_from_user_roles_prefetch():
    p, r = practitioner("dr-rheum"), role("role-rheum", "Practitioner/dr-rheum")
    got = read_prescriber("Practitioner/dr-rheum", "Practitioner/dr-rheum", [r], [p], lookup_in(p, r))
    assert got.specialties == frozenset({"rheumatology"}) and got.source == "Practitioner/dr-rheum"


def test_absolute_requester_reference_is_the_same_practitioner():
    """An EHR may send the requester as an absolute URL; it names the same Practitioner as the role's
    relative reference (before: the type was read as 'https:' and the specialty was lost)."""
    r = role("role-rheum", "Practitioner/dr-rheum")
    got = read_prescriber("https://ehr.example.org/fhir/Practitioner/dr-rheum", None, [r], [], lookup_in(r))
    assert got.known and got.specialties == frozenset({"rheumatology"})


def test_another_practitioners_role_is_not_the_requesters_specialty():
    """Near miss: a rheumatology role in the bundle belongs to someone else (the user), not the requester."""
    p = practitioner("dr-family")
    other = role("role-other", "Practitioner/dr-rheum")
    got = read_prescriber("Practitioner/dr-family", None, [other], [p], lookup_in(p, other))
    assert got.known and got.specialties == frozenset()


def test_an_inactive_role_does_not_make_a_specialist():
    """Near miss: the practitioner's rheumatology role is marked inactive (active: false)."""
    p = practitioner("dr-rheum")
    old = role("role-old", "Practitioner/dr-rheum", active=False)
    got = read_prescriber("Practitioner/dr-rheum", None, [old], [p], lookup_in(p, old))
    assert got.specialties == frozenset()
    got = read_prescriber("PractitionerRole/role-old", None, [old], [p], lookup_in(p, old))
    assert got.specialties == frozenset()
