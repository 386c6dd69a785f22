"""PatientResources.add: two different resources under one id (a Bundle against FHIR bdl-7, as the clinical review
charts' second Condition) must not silently drop one of them: the MAS diagnosis, the COVID-19 pneumonia and the
cellulitis of those charts were lost that way."""

from cds_service.gather.patient_resources import PatientResources


def _cond(text: str, **meta) -> dict:
    res = {"resourceType": "Condition", "id": "dx", "code": {"text": text}}
    if meta:
        res["meta"] = meta
    return res


def test_two_different_resources_with_one_id_are_both_kept():
    r = PatientResources("p")
    r.add(_cond("COVID-19"))
    r.add(_cond("Macrophage activation syndrome"))
    assert sorted(c["code"]["text"] for c in r.of("Condition")) == ["COVID-19", "Macrophage activation syndrome"]
    assert r.get("Condition/dx")["code"]["text"] == "COVID-19"  # a reference still finds the first


def test_identical_duplicates_collapse():
    r = PatientResources("p")
    r.add(_cond("COVID-19"))
    r.add(_cond("COVID-19"))
    r.add(_cond("MAS"))
    r.add(_cond("MAS"))
    assert [c["code"]["text"] for c in r.of("Condition")] == ["COVID-19", "MAS"]


def test_versions_of_one_resource_keep_the_newest_in_either_order():
    old = _cond("pneumonia, active", versionId="1")
    new = _cond("pneumonia, resolved", versionId="2")
    for first, second in ((old, new), (new, old)):
        r = PatientResources("p")
        r.add(first)
        r.add(second)
        assert [c["code"]["text"] for c in r.of("Condition")] == ["pneumonia, resolved"]
    r = PatientResources("p")
    r.add(_cond("a", lastUpdated="2026-03-01T10:00:00Z"))
    r.add(_cond("b", lastUpdated="2026-03-02T10:00:00Z"))
    assert [c["code"]["text"] for c in r.of("Condition")] == ["b"]
