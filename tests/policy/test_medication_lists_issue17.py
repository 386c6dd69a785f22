"""Combination clauses and initiation.1.a over planned use, doubtful records and unread lists (issue 17,
classes 2, 7 and 12). Facts are built directly (no FHIR); the default case meets every clause."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.policy.builders import NM, M, U, ago, anakinra_dispense, case, decide, node, prior_auth, span

COMBINATION = ("initiation.4", "precautions.tnf")


def _with(c, **patient):
    return replace(c, patient=replace(c.patient, **patient))


def test_the_default_case_is_covered():
    assert decide(case()).determination.value == "covered"


def test_planned_use_is_a_combination():
    planned = span(
        "apremilast", classes=("pde4",), start=ago(-7), status="intended", source="MedicationStatement/otezla-next-week"
    )
    d = decide(_with(case(), planned_medications=(planned,)))
    assert node(d, "initiation.4").outcome is NM
    assert d.determination.value == "not-covered"
    assert "planned use" in str(node(d, "initiation.4").evidence)


@pytest.mark.parametrize(
    "key", ["medicationStatements", "medicationRequests", "medicationDispenses", "medicationAdministrations"]
)
def test_every_unread_medication_list_makes_the_combination_clauses_unknown(key):
    d = decide(case(unavailable=(key,)))
    for cid in COMBINATION:
        n = node(d, cid)
        assert n.outcome is U, cid
        assert any("could not be read" in m.text for m in n.missing)
    assert d.determination.value == "conditional"


@pytest.mark.parametrize("key", ["medicationDispenses", "medicationAdministrations"])
def test_unread_dispenses_make_continuation_5_unknown_too(key):
    d = decide(case(unavailable=(key,), prior_authorizations=(prior_auth(),)))
    assert d.pathway == "continuation"
    assert node(d, "continuation.5").outcome is U


def test_a_conflict_found_in_what_was_read_still_decides():
    humira = span(
        "adalimumab", classes=("tnf", "biologic"), start=ago(30), active=True, source="MedicationDispense/humira"
    )
    d = decide(case(medications=(*case().patient.medications, humira), unavailable=("medicationStatements",)))
    assert node(d, "initiation.4").outcome is NM
    assert d.determination.value == "not-covered"


def test_a_doubtful_record_asks_to_confirm_and_is_at_most_conditional():
    stale = replace(
        span(
            "adalimumab",
            classes=("tnf", "biologic"),
            start=ago(400),
            active=True,
            kind="request",
            source="MedicationRequest/humira-old",
        ),
        doubt="the prescription's validity period ended",
    )
    d = decide(case(medications=(*case().patient.medications, stale)))
    assert node(d, "initiation.4").outcome is U and node(d, "precautions.tnf").outcome is U
    assert d.determination.value == "conditional"
    kinds = [f.kind for f in d.findings]
    assert "combination-confirm" in kinds and "combination" not in kinds
    assert not any(f.severity == "critical" for f in d.findings)


def test_near_miss_a_doubtful_record_beside_a_clear_one_is_a_combination():
    stale = replace(
        span(
            "adalimumab",
            classes=("tnf", "biologic"),
            start=ago(400),
            active=True,
            kind="request",
            source="MedicationRequest/humira-old",
        ),
        doubt="the prescription's validity period ended",
    )
    clear = span(
        "adalimumab",
        classes=("tnf", "biologic"),
        start=ago(10),
        active=True,
        kind="dispense",
        source="MedicationDispense/humira-new",
    )
    d = decide(case(medications=(*case().patient.medications, stale, clear)))
    assert node(d, "initiation.4").outcome is NM


@pytest.mark.parametrize(
    "key", ["medicationStatements", "medicationRequests", "medicationDispenses", "medicationAdministrations"]
)
def test_initiation_1a_is_unknown_when_a_list_it_reads_is_unread(key):
    c = case(medications=(), unavailable=(key,))
    assert node(decide(c), "initiation.1.a").outcome is U


def test_initiation_1a_met_by_a_dispense_read_even_when_another_list_is_unread():
    c = case(medications=(anakinra_dispense(20),), unavailable=("medicationStatements",))
    assert node(decide(c), "initiation.1.a").outcome is M


def test_continuing_therapy_card_leads_over_step_therapy():
    statement = span(
        "anakinra", classes=("anakinra", "biologic"), start=ago(60), active=True, source="MedicationStatement/kineret"
    )
    c = case(medications=(statement,))  # no step therapy documented: Table 1 not met either
    d = decide(c)
    assert node(d, "initiation.1.a").outcome is U
    kinds = [f.kind for f in d.findings]
    assert kinds[0] == "continuing-therapy", kinds
    step = next(f for f in d.findings if f.kind == "step-therapy")
    assert step.severity == "info"
