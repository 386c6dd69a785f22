"""Property tests over random CaseFacts: the safety rules of the determination.

- covered  => every leaf the coverage groups rest on is met (ALL: all children; ANY / ONE: a met option);
- not-covered => no coverage, or a hard exclusion (site of care, contraindication, combination) is not met;
- a program decided elsewhere is never covered and never denied on this guideline;
- composites fold their children (Kleene); reminders never change the determination;
- a conditional decision always says why (missing documentation, a card, or a reason);
- a met coverage leaf carries evidence (what it read, also when it is met because nothing was found).
"""

from __future__ import annotations

import json
from dataclasses import replace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cds_service.facts.model import ImmunizationFact, ProcedureFact
from cds_service.policy.logic import fold_all, fold_any
from cds_service.policy.model import Determination, Outcome
from tests.fuzz_examples import examples
from tests.policy.builders import (
    CLINIC,
    COMMUNITY,
    INPATIENT_ORDER,
    POLICY,
    ago,
    allergy,
    anakinra_dispense,
    case,
    decide,
    dose,
    dx,
    failed,
    inpatient,
    lab,
    mtx_failed,
    order,
    preferred_failed,
    prior_auth,
    span,
    statement,
)

DIAGNOSES = [
    dx(("ra",), "M05.79"),
    dx(("ra",), "M05.A"),
    dx(("still",), "M06.1"),
    dx(("caps",), "M04.2", possible=("nomid",)),
    dx(("nomid",), "M04.2", text="NOMID"),
    dx(("dira",), "M04.8", text="DIRA"),
    dx((), "G03.1", qualified=("nomid",)),
    dx(("mis-c",), "M35.81"),
    dx((), "Z86.16", kinds=("sars_cov_2_prior",)),
    dx(("covid-19",), "U07.1", kinds=("infection", "sars_cov_2", "sars_cov_2_prior")),
    dx((), "J12.82", kinds=("infection", "pneumonia")),
    dx(("castleman",), "D47.Z2"),
    dx(("hlh",), "D76.1", kinds=("mas",)),
    dx((), "A41.9", kinds=("infection",)),
    dx((), "I10"),
    dx(("ra",), "M05.79", active=False),
    dx(("ra",), "M05.79", from_order=True),
    dx(("covid-19",), "U07.1", from_order=True, kinds=("sars_cov_2",)),
]
MEDS = [
    mtx_failed(),
    preferred_failed("humira"),
    preferred_failed("enbrel"),
    preferred_failed("xeljanz"),
    preferred_failed("rinvoq"),
    failed("abatacept", ("biologic", "ra-biologic")),
    span("adalimumab", classes=("tnf", "biologic"), start=ago(100), active=True),
    span("tofacitinib", classes=("jak",), start=ago(100), active=True),
    anakinra_dispense(20),
    anakinra_dispense(20, sample=True),
    anakinra_dispense(20, response="benefit"),
    anakinra_dispense(200),
    span("immune-globulin", classes=("ivig",), start=ago(4), end=ago(3), stopped="ineffective"),
    span("methylprednisolone", classes=("glucocorticoid",), start=ago(4), end=ago(1)),
    span("oxygen", classes=("oxygen",), start=ago(2), active=True),
]
ALLERGIES = [
    allergy("anakinra"),
    allergy("anakinra", unconfirmed=True),
    allergy("ecoli-protein"),
    allergy("methotrexate", kind="intolerance"),
    allergy("etanercept", preferred="enbrel"),
    allergy("adalimumab", preferred="humira", route_only=True),
    allergy("prednisone", classes=("glucocorticoid",)),
]
LABS = [
    lab("anc", 4.0, "10*3/uL", 5),
    lab("anc", 4.0, "10*3/uL", 60),
    lab("creatinine", 2.4, "mg/dL"),
    lab("crcl", 25, "mL/min"),
    lab("egfr", 20, "mL/min/{1.73_m2}"),
    lab("sars_cov_2", None, None, 2, positive=True),
    lab("sars_cov_2", None, None, 2, positive=False),
    lab("supar", 7.0, "ng/mL", 1),
    lab("oxygen", 4, "L/min", 1),
]
STATEMENTS = [
    "recent_anakinra",
    "at_risk_if_changed",
    "age_support",
    "specialist_consult",
    "clinical_benefit",
    "glucocorticoid_contraindication",
    "respiratory_failure_risk",
    "elevated_supar",
]
PROGRAMS = ["commercial", "fep", "sao", "medicare-part-d", "medicare-advantage", "medicare-other", None]
UNAVAILABLE = ["medicationDispenses", "medicationStatements", "allergies", "conditions", "encounters", "coverage"]


def subset(pool, max_size=5):
    return st.lists(st.sampled_from(pool), max_size=max_size, unique_by=id).map(tuple)


@st.composite
def cases(draw):
    program = draw(st.sampled_from(PROGRAMS))
    d = dose(
        mg=draw(st.sampled_from([None, 20, 50, 100, 150, 200])),
        per_day=draw(st.sampled_from([None, 0.5, 1, 2])),
        syringes=draw(st.sampled_from([None, 10, 14, 28, 56])),
        supply=draw(st.sampled_from([None, 10, 28])),
        duration=draw(st.sampled_from([None, 5, 10, 14])),
        route=draw(st.sampled_from(["subcutaneous", None, "intravenous"])),
    )
    o = order(
        dose_facts=d,
        setting=draw(st.sampled_from([COMMUNITY, CLINIC, INPATIENT_ORDER])),
        reasons=draw(subset([x for x in DIAGNOSES if x.from_order], 2)),
        statements=tuple(statement(k) for k in draw(st.lists(st.sampled_from(STATEMENTS), max_size=4, unique=True))),
        single_syringe=draw(st.booleans()),
    )
    drafts = draw(subset([span("etanercept", classes=("tnf", "biologic"), kind="draft", active=True)], 1))
    imms = draw(
        subset(
            [
                ImmunizationFact("Immunization/mmr", "MMR", True, ago(5)),
                ImmunizationFact("MedicationRequest/v", "Varivax", True, None, "ordered"),
            ],
            2,
        )
    )
    procs = draw(subset([ProcedureFact("Oxygen therapy", "Procedure/o2", ago(1), True, frozenset({"oxygen"}))], 1))
    return case(
        order_facts=o,
        drafts=drafts,
        hook=draw(st.sampled_from(["order-sign", "order-select"])),
        age=draw(st.one_of(st.none(), st.integers(0, 90))),
        sex=draw(st.sampled_from(["female", "male", None])),
        weight_kg=draw(st.sampled_from([None, 4.0, 20.0, 58.0, 90.0])),
        weight_days_ago=draw(st.sampled_from([5, 60, 400])),
        labs=draw(subset(LABS, 5)),
        diagnoses=draw(subset([x for x in DIAGNOSES if not x.from_order], 4)),
        medications=draw(subset(MEDS, 7)),
        allergies=draw(subset(ALLERGIES, 3)),
        specialties=draw(subset(["rheumatology", "infectious-disease", "hematology", "family-medicine"], 2)),
        program=program,
        coverage_present=program is not None,
        encounters=draw(subset([inpatient(), inpatient(active=False), inpatient(class_code="EMER", review=True)], 2)),
        immunizations=imms,
        prior_authorizations=draw(
            subset([prior_auth(), prior_auth(status="denied"), prior_auth(indication="covid-19")], 2)
        ),
        procedures=procs,
        unavailable=draw(subset(UNAVAILABLE, 2)),
    )


def deciding_leaves(n):
    """The leaves a MET (or N/A) node rests on: all children of an ALL, the met options of an ANY / ONE."""
    if n.outcome is Outcome.NOT_APPLICABLE:
        return
    if not n.children:
        yield n
        return
    kids = [c for c in n.children if c.outcome is not Outcome.NOT_APPLICABLE]
    if n.combinator in ("ANY", "ONE"):
        kids = [c for c in kids if c.outcome is Outcome.MET]
    for c in kids:
        yield from deciding_leaves(c)


HARD = set(POLICY.data["hard_exclusions"])
SETTINGS = settings(max_examples=examples(250), deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(cases())
def test_safety_properties(c):
    """One generated case, every property (generation is the slow part)."""
    d = decide(c)
    check_covered_rests_only_on_met_leaves(c, d)
    check_not_covered_only_for_no_coverage_or_a_hard_exclusion(c, d)
    check_composites_fold_and_conditional_says_why(c, d)
    check_reminders_never_change_the_determination(c, d)
    check_met_coverage_leaves_carry_evidence(d)


def check_met_coverage_leaves_carry_evidence(d):
    """A coverage clause met by the chart says what it read, a clause met by absence included."""
    for top in d.coverage_tree():
        for n in top.walk():
            if not n.children and n.outcome is Outcome.MET:
                assert n.evidence, (n.clause_id, n.note)


def check_covered_rests_only_on_met_leaves(c, d):
    if d.determination is Determination.COVERED:
        assert c.patient.coverage.present
        for top in d.coverage_tree():
            for leaf in deciding_leaves(top):
                assert leaf.outcome is Outcome.MET, (leaf.clause_id, leaf.outcome, leaf.note)
        assert not d.missing


def check_not_covered_only_for_no_coverage_or_a_hard_exclusion(c, d):
    program = POLICY.data["programs"].get(c.patient.coverage.program or "", {})
    if program.get("decides") is False:
        assert d.determination is Determination.CONDITIONAL or not c.patient.coverage.present
    if d.determination is Determination.NOT_COVERED:
        failed_hard = {
            n.clause_id
            for t in d.coverage_tree()
            for n in t.walk()
            if n.clause_id in HARD and n.outcome is Outcome.NOT_MET
        }
        assert not c.patient.coverage.present or failed_hard
        assert d.pa_needed is None


def check_composites_fold_and_conditional_says_why(c, d):
    for top in d.coverage_tree():
        for n in top.walk():
            if n.combinator == "ALL" and len(n.children) > 1:
                assert n.outcome is fold_all(k.outcome for k in n.children), n.clause_id
            elif n.combinator in ("ANY", "ONE"):
                assert n.outcome is fold_any(k.outcome for k in n.children), n.clause_id
    if d.determination is Determination.CONDITIONAL:
        assert d.missing or d.findings or d.reasons
    json.dumps(d.to_json())


def check_reminders_never_change_the_determination(c, d):
    quiet = replace(
        c,
        patient=replace(
            c.patient,
            immunizations=(),
            labs=tuple(x for x in c.patient.labs if x.kind not in ("anc", "creatinine", "crcl", "egfr")),
        ),
    )
    assert d.determination is decide(quiet).determination
