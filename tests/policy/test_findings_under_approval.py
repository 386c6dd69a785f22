"""Findings under a current plan approval: the pathway's open criteria become one renewal note."""

from __future__ import annotations

from datetime import date

from cds_service.policy.findings import under_approval
from tests.policy.builders import allergy, decide, dose, order
from tests.policy.test_continuation import cont_case

START, END = date(2026, 3, 2), date(2027, 3, 1)


def test_missing_continuation_documentation_becomes_a_renewal_note_naming_the_approval():
    d = decide(cont_case(response=None))  # continuation.2: clinical benefit unknown
    assert [f.kind for f in d.findings if f.kind == "documentation"] == ["documentation"]
    out = under_approval(d.findings, "PA-7", START, END)
    kinds = [f.kind for f in out]
    assert "documentation" not in kinds and kinds.count("renewal") == 1
    note = next(f for f in out if f.kind == "renewal")
    assert note.severity == "info"
    assert "PA-7" in note.summary and "2027-03-01" in note.summary and len(note.summary) <= 140
    assert "continuation.2" in note.clause_ids
    doc = next(f for f in d.findings if f.kind == "documentation")
    assert doc.detail in note.detail  # what is missing is still said, in full
    assert "2026-03-02 to 2027-03-01" in note.detail and "no prior authorization is needed" in note.detail
    assert note.data == {"authorization": "PA-7", "expires": "2027-03-01"}
    # every other card is kept, in order
    assert [f for f in out if f.kind != "renewal"] == [f for f in d.findings if f.kind != "documentation"]


def test_a_criterion_the_chart_shows_unmet_is_a_renewal_warning_not_a_request_for_documentation():
    d = decide(cont_case(response="no-benefit"))  # continuation.2 not met: no benefit recorded
    assert [(f.kind, f.severity) for f in d.findings if f.kind == "criteria"] == [("criteria", "warning")]
    note = next(f for f in under_approval(d.findings, "PA-7", START, END) if f.kind == "renewal")
    assert note.severity == "warning"
    assert "does not meet every renewal criterion" in note.summary and "documentation" not in note.summary
    assert "PA-7" in note.summary and len(note.summary) <= 140
    assert "continuation.2" in note.clause_ids


def test_order_level_cards_are_never_turned_into_renewal_notes():
    d = decide(cont_case(response=None, order_facts=order(dose_facts=dose(mg=200, syringes=56))))
    out = under_approval(d.findings, "PA-7", START, END)
    assert any(f.kind == "dose" for f in out)
    assert all("continuation.6" not in c for f in out if f.kind == "renewal" for c in f.clause_ids)
    d = decide(cont_case(allergies=(allergy("anakinra"),)))
    out = under_approval(d.findings, "PA-7", START, END)
    assert [f.kind for f in out] == [f.kind for f in d.findings]  # nothing about the pathway's criteria


def test_findings_without_open_criteria_are_returned_unchanged():
    d = decide(cont_case())  # every criterion met
    assert under_approval(d.findings, "PA-7", START, END) is d.findings
