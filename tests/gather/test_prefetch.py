"""Prefetch states and template tokens."""

from __future__ import annotations

from cds_service.gather.prefetch import PrefetchState, classify, context_tokens, render_template


def test_four_states():
    pf = {"a": None, "b": {"resourceType": "OperationOutcome", "issue": []},
          "c": {"resourceType": "Patient", "id": "p"},
          "d": {"resourceType": "Bundle", "type": "searchset", "total": 0}}
    assert classify(pf, "missing").state is PrefetchState.ABSENT
    assert classify(pf, "a").state is PrefetchState.EMPTY
    assert classify(pf, "b").state is PrefetchState.ERROR
    c = classify(pf, "c")
    assert c.state is PrefetchState.PRESENT and c.resources[0]["id"] == "p"
    d = classify(pf, "d")
    assert d.state is PrefetchState.PRESENT and d.resources == () and d.next_link is None


def test_paged_bundle_keeps_next_and_drops_outcome_entries():
    bundle = {"resourceType": "Bundle", "link": [{"relation": "next", "url": "http://x/fhir/Condition?page=2"}],
              "entry": [{"resource": {"resourceType": "Condition", "id": "c1"}},
                        {"resource": {"resourceType": "OperationOutcome"}, "search": {"mode": "outcome"}}]}
    v = classify({"k": bundle}, "k")
    assert [r["id"] for r in v.resources] == ["c1"]
    assert v.next_link == "http://x/fhir/Condition?page=2"


def test_tokens():
    t = context_tokens("p1", "Practitioner/dr1", None)
    assert render_template("Patient/{{context.patientId}}", t) == "Patient/p1"
    assert render_template("{{context.userId}}", t) == "Practitioner/dr1"
    assert render_template("PractitionerRole?practitioner={{userPractitionerId}}", t) == "PractitionerRole?practitioner=dr1"
    assert render_template("Encounter/{{context.encounterId}}", t) is None
    role = context_tokens("p1", "PractitionerRole/r1", "e1")
    assert render_template("PractitionerRole?practitioner={{userPractitionerId}}", role) is None
    assert render_template("Encounter/{{ context.encounterId }}", role) == "Encounter/e1"
