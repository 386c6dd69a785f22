"""program.*, billing.*, the step-therapy exemption and the approval duration."""

from __future__ import annotations

import pytest

from tests.policy.builders import (
    CLINIC,
    NA,
    NM,
    SNOMED,
    M,
    U,
    allergy,
    case,
    covid_case,
    decide,
    dx,
    misc_case,
    mtx_failed,
    node,
    nomid_case,
    order,
    preferred_failed,
    still_case,
)


@pytest.mark.parametrize(
    "program, clause, expected, determination",
    [
        ("commercial", "program.fep", NA, "covered"),
        ("fep", "program.fep", U, "conditional"),
        ("sao", "program.sao", U, "conditional"),
        ("medicare-part-d", "program.medicare-part-d", U, "conditional"),
        ("medicare-advantage", "program.medicare-advantage", M, "covered"),
    ],
)
def test_program_clauses(program, clause, expected, determination):
    d = decide(case(program=program))
    assert node(d, clause).outcome is expected
    assert d.determination.value == determination


@pytest.mark.parametrize(
    "program, process",
    [("fep", "FEP"), ("medicare-part-d", "Prime Therapeutics"), ("sao", "State Account Organization")],
)
def test_deferring_programs_never_say_covered_and_name_the_process(program, process):
    d = decide(case(program=program))
    assert d.determination.value == "conditional"
    assert any(process in r for r in d.reasons)
    card = next(f for f in d.findings if f.kind == "program")
    assert process in card.detail and card.clause_ids[0].startswith("program.")


def test_deferring_program_does_not_deny_on_this_guideline_either():
    d = decide(case(program="fep", allergies=(allergy("anakinra"),)))
    assert d.determination.value == "conditional"
    assert "contraindication" in [f.kind for f in d.findings]  # the clinician still sees it


def test_no_coverage_is_not_covered():
    d = decide(case(coverage_present=False, program=None))
    assert d.determination.value == "not-covered" and d.pa_needed is None


def test_coverage_unreadable_is_indeterminate():
    d = decide(case(coverage_present=False, program=None, unavailable=("coverage",)))
    assert d.determination.value == "indeterminate"


@pytest.mark.parametrize(
    "c, expected",
    [
        (case, NA),  # pharmacy claim: by NDC
        (lambda: case(order_facts=order(setting=CLINIC)), M),  # medical claim: J3590
    ],
)
def test_billing_hcpcs(c, expected):
    n = node(decide(c()), "billing.hcpcs")
    assert n.outcome is expected and "J3590" in (n.note + " ".join(e.description for e in n.evidence))


@pytest.mark.parametrize(
    "maker, expected, code",
    [
        (lambda: case(diagnoses=(dx(("ra",), "M05.A"),)), M, "M05.A"),
        (lambda: case(diagnoses=(dx(("ra",), "M05.7A"),)), M, "M05.7A"),
        (lambda: case(diagnoses=(dx(("ra",), "M06.0A"),)), M, "M06.0A"),
        (lambda: still_case("M08.2A"), M, "M08.2A"),
        (lambda: case(diagnoses=(dx(("ra",), "M06.4"),)), NM, "M06.4"),  # inflammatory polyarthropathy: not listed
        (nomid_case, NM, "M04.2"),  # NOMID's own code is not on the list
        (lambda: nomid_case(diagnoses=(dx(("nomid",), "Q87.89"),)), M, "Q87.89"),  # listed for NOMID only
        (lambda: case(diagnoses=(dx(("schnitzler",), "Q87.89"),), medications=()), NM, "Q87.89"),  # not for Schnitzler
        (lambda: case(diagnoses=(dx(("schnitzler",), "D47.2"),), medications=()), M, "D47.2"),
        (lambda: nomid_case(diagnoses=(dx(("dira",), "M04.8"),)), M, "M04.8"),
        (covid_case, M, "U07.1"),
        (misc_case, NM, "M35.81"),
        (lambda: case(diagnoses=(dx(("ra",), "69896004", system=SNOMED),)), U, None),  # SNOMED only
    ],
)
def test_billing_icd10(maker, expected, code):
    d = decide(maker())
    n = node(d, "billing.icd10")
    assert n.outcome is expected
    if code:
        assert code in [e.value for e in n.evidence]
    # informational: never the reason for the determination
    assert "billing.icd10" not in [c for f in d.findings if f.kind != "reading" for c in f.clause_ids]


def test_step_therapy_exemption():
    short = decide(case(medications=(mtx_failed(), preferred_failed("humira"))))
    assert node(short, "program.step-therapy-exemption").outcome is M
    assert node(decide(case()), "program.step-therapy-exemption").outcome is NA
    assert node(decide(nomid_case()), "program.step-therapy-exemption").outcome is NA


@pytest.mark.parametrize(
    "maker, clause, months",
    [
        (case, "initiation.duration", 12),
        (nomid_case, "initiation.duration", 12),
        (covid_case, "initiation.duration", 1),
        (misc_case, "initiation.duration", 1),
    ],
)
def test_approval_duration(maker, clause, months):
    d = decide(maker())
    assert node(d, clause).outcome is M
    assert d.approval_months == months
    assert d.to_json()["approvalMonths"] == months


def test_approval_duration_unknown_without_indication():
    d = decide(case(diagnoses=()))
    assert node(d, "initiation.duration").outcome is U and d.approval_months is None
