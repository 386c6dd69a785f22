"""PatientResources: every resource of the chart is read once, and none is dropped because it shares an id."""

from __future__ import annotations

from cds_service.gather.patient_resources import PatientResources


def _cond(rid: str, text: str, **meta) -> dict:
    res = {"resourceType": "Condition", "id": rid, "code": {"text": text}}
    if meta:
        res["meta"] = meta
    return res


def test_the_same_resource_twice_is_read_once():
    r = PatientResources("p")
    r.add(_cond("c1", "NOMID"))
    r.add(_cond("c1", "NOMID"))
    assert [c["code"]["text"] for c in r.of("Condition")] == ["NOMID"]


def test_two_different_resources_under_one_id_are_both_read():
    """A Bundle may not hold two different resources with one id (FHIR bdl-7), but a chart that does still holds
    both: the clinical review chart nomid-g031-with-nomid-documented-pass has "Chronic aseptic meningitis" (G03.1)
    and "NOMID / CINCA syndrome" under one id, nomid-adult-active-cellulitis-on-antibiotics its active cellulitis.
    Keeping the first only dropped the NOMID diagnosis (a false 'not documented') and the infection (a false
    approval)."""
    r = PatientResources("p")
    r.add(_cond("c1", "Chronic aseptic meningitis"))
    r.add(_cond("c1", "Cellulitis of the left leg"))
    r.add(_cond("c1", "Cellulitis of the left leg"))
    assert [c["code"]["text"] for c in r.of("Condition")] == [
        "Chronic aseptic meningitis",
        "Cellulitis of the left leg",
    ]
    assert r.get("Condition/c1")["code"]["text"] == "Chronic aseptic meningitis"  # references: the first


def test_two_versions_of_one_resource_keep_the_newer():
    r = PatientResources("p")
    r.add(_cond("c1", "active NOMID", lastUpdated="2026-03-01T10:00:00Z"))
    r.add(_cond("c1", "NOMID refuted", lastUpdated="2026-03-02T10:00:00Z"))
    r.add(_cond("c1", "active NOMID", lastUpdated="2026-03-01T10:00:00Z"))
    assert [c["code"]["text"] for c in r.of("Condition")] == ["NOMID refuted"]
    r = PatientResources("p")
    r.add(_cond("c2", "v3", versionId="3"))
    r.add(_cond("c2", "v2", versionId="2"))
    assert [c["code"]["text"] for c in r.of("Condition")] == ["v3"]
