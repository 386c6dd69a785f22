"""Prefetch states and template tokens."""

from __future__ import annotations

from cds_service.gather.prefetch import PrefetchState, classify, context_tokens, render_template


def test_four_states():
    pf = {
        "a": None,
        "b": {"resourceType": "OperationOutcome", "issue": []},
        "c": {"resourceType": "Patient", "id": "p"},
        "d": {"resourceType": "Bundle", "type": "searchset", "total": 0},
    }
    assert classify(pf, "missing").state is PrefetchState.ABSENT
    assert classify(pf, "a").state is PrefetchState.EMPTY
    assert classify(pf, "b").state is PrefetchState.ERROR
    c = classify(pf, "c")
    assert c.state is PrefetchState.PRESENT and c.resources[0]["id"] == "p"
    d = classify(pf, "d")
    assert d.state is PrefetchState.PRESENT and d.resources == () and d.next_link is None


def test_paged_bundle_keeps_next_and_drops_outcome_entries():
    bundle = {
        "resourceType": "Bundle",
        "link": [{"relation": "next", "url": "http://x/fhir/Condition?page=2"}],
        "entry": [
            {"resource": {"resourceType": "Condition", "id": "c1"}},
            {"resource": {"resourceType": "OperationOutcome"}, "search": {"mode": "outcome"}},
        ],
    }
    v = classify({"k": bundle}, "k")
    assert [r["id"] for r in v.resources] == ["c1"]
    assert v.next_link == "http://x/fhir/Condition?page=2"


def test_tokens():
    t = context_tokens("p1", "Practitioner/dr1", None)
    assert render_template("Patient/{{context.patientId}}", t) == "Patient/p1"
    assert render_template("{{context.userId}}", t) == "Practitioner/dr1"
    assert (
        render_template("PractitionerRole?practitioner={{userPractitionerId}}", t)
        == "PractitionerRole?practitioner=dr1"
    )
    assert render_template("Encounter/{{context.encounterId}}", t) is None
    role = context_tokens("p1", "PractitionerRole/r1", "e1")
    assert render_template("PractitionerRole?practitioner={{userPractitionerId}}", role) is None
    assert render_template("Encounter/{{ context.encounterId }}", role) == "Encounter/e1"


def _searchset(total, entries, link=None):
    b = {"resourceType": "Bundle", "type": "searchset", "entry": entries}
    if total is not None:
        b["total"] = total
    if link:
        b["link"] = [{"relation": "next", "url": link}]
    return b


def _entry(rid, mode="match", rtype="MedicationRequest"):
    e = {"resource": {"resourceType": rtype, "id": rid}}
    if mode:
        e["search"] = {"mode": mode}
    return e


def test_a_bundle_whose_total_counts_more_matches_than_it_holds_was_cut_short():
    cut = classify({"k": _searchset(3, [_entry("a"), _entry("b")])}, "k")
    assert (cut.left_out, cut.matches, len(cut.resources)) == (1, 2, 2)
    # _include'd resources are not matches: 2 matches and 3 includes do not make up a total of 5
    with_includes = classify(
        {"k": _searchset(5, [_entry("a"), _entry("b")] + [_entry(f"m{i}", "include", "Medication") for i in range(3)])},
        "k",
    )
    assert (with_includes.left_out, with_includes.matches, len(with_includes.resources)) == (3, 2, 5)
    # entries without search.mode count as matches (the EHR did not say), so they never raise a false alarm
    assert classify({"k": _searchset(2, [_entry("a", None), _entry("b", None)])}, "k").left_out == 0


def test_a_complete_or_paged_bundle_is_not_cut_short():
    assert classify({"k": _searchset(2, [_entry("a"), _entry("b")])}, "k").left_out == 0
    assert classify({"k": _searchset(None, [_entry("a")])}, "k").left_out == 0  # no total given
    assert classify({"k": _searchset(True, [])}, "k").left_out == 0  # not a number
    assert classify({"k": _searchset("9", [_entry("a")])}, "k").left_out == 0
    paged = classify({"k": _searchset(9, [_entry("a")], link="http://x/fhir/MedicationRequest?page=2")}, "k")
    assert paged.left_out == 0 and paged.next_link  # followed instead
    # the real fixture with _include'd Medications (5 matches, 6 includes, total 5) is complete
    from tests.conftest import load_request

    req = load_request("medref-prefetch-ndc11")
    assert classify(req["prefetch"], "medicationRequests").left_out == 0
