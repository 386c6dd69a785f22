"""The prescriber's "no" (a documentation questionnaire answer): what the chart leaves open becomes NOT_MET, what
the chart meets becomes UNKNOWN (both shown), what the chart fails stays NOT_MET."""

from __future__ import annotations

import pytest

from cds_service.facts.model import PrescriberStatement
from cds_service.policy.engine import denied_leaves
from cds_service.policy.logic import all_of, any_of, leaf
from cds_service.policy.model import Determination, Evidence, Outcome
from tests.policy.builders import (
    anakinra_dispense,
    case,
    covid_case,
    decide,
    misc_case,
    node,
    prior_auth,
    span,
    statement,
    with_order,
)

M, NM, U = Outcome.MET, Outcome.NOT_MET, Outcome.UNKNOWN


def no(key: str) -> PrescriberStatement:
    return PrescriberStatement(key, f'"question about {key}" no', f"QuestionnaireResponse/qr-1#{key}")


def denied(c, *keys):
    return with_order(c, prescriber_denials={k: no(k) for k in keys})


def cont_case(response=None):
    return case(prior_authorizations=(prior_auth(),), medications=(anakinra_dispense(20, response=response),))


def test_no_clinical_benefit_is_a_hard_exclusion_not_covered():
    d = decide(denied(cont_case(), "clinical_benefit"))
    assert node(d, "continuation.2").outcome is NM
    assert d.determination is Determination.NOT_COVERED
    assert any(e.reference == "QuestionnaireResponse/qr-1#clinical_benefit" for e in node(d, "continuation.2").evidence)


def test_a_no_against_the_charts_benefit_is_unknown_with_both_shown():
    n = node(decide(denied(cont_case("benefit"), "clinical_benefit")), "continuation.2")
    assert n.outcome is U
    refs = [e.reference for e in n.evidence]
    assert any(r.startswith("MedicationDispense") for r in refs)
    assert "QuestionnaireResponse/qr-1#clinical_benefit" in refs
    assert n.missing and "Clarification" in n.missing[0].text


def test_a_no_never_lifts_what_the_chart_fails():
    assert node(decide(denied(cont_case("no-benefit"), "clinical_benefit")), "continuation.2").outcome is NM


def test_no_specialist_consultation_is_not_covered_citing_the_clause():
    """Not a hard exclusion, but the prescriber was asked and answered no: initiation fails on the answer, which is
    no longer missing documentation (engine: a coverage group NOT_MET because of the prescriber's "no")."""
    before = decide(case(specialties=("family-medicine",)))
    assert node(before, "initiation.2").outcome is U and before.determination is Determination.CONDITIONAL
    d = decide(denied(case(specialties=("family-medicine",)), "specialist_consult"))
    assert node(d, "initiation.2").outcome is NM and node(d, "initiation").outcome is NM
    assert d.determination is Determination.NOT_COVERED and d.pa_needed is None
    assert any(r.startswith("initiation.2: The prescriber answers no") for r in d.reasons), d.reasons


def test_near_miss_a_no_to_one_alternative_while_another_is_unknown_stays_conditional():
    """initiation.1 is ONE of a, b, c: a "no" to 1.b (not at risk if changed) leaves 1.c (step therapy) unknown,
    so initiation.1 is still open and nothing is decided on the answer."""
    d = decide(denied(case(medications=()), "at_risk_if_changed"))
    assert node(d, "initiation.1.b").outcome is NM
    assert node(d, "initiation.1").outcome is U
    assert d.determination is Determination.CONDITIONAL
    assert not any(r.startswith("initiation.1.b") for r in d.reasons)


def test_a_denial_only_counts_where_it_is_part_of_why_the_group_fails():
    """denied_leaves follows NOT_MET nodes only: a "no" under an alternative that is still open does not decide,
    even when the group fails for another (chart) reason; a chart failure alone never counts as an answer."""
    answer_no = Evidence("prescriber's answer: no", "QuestionnaireResponse/qr-1#x", "no: x")
    chart_no = Evidence("chart", "Observation/o-1", "42")
    by_answer = leaf("g.1.b", NM, "The prescriber answers no: x", [answer_no])
    open_any = any_of("g.1", (leaf("g.1.a", U), by_answer))
    group = all_of("g", (open_any, leaf("g.2", NM, "chart", [chart_no])))
    assert group.outcome is NM and denied_leaves(group) == []
    failing = all_of("g", (any_of("g.1", (leaf("g.1.a", NM, "chart", [chart_no]), by_answer)), leaf("g.2", U)))
    assert failing.outcome is NM and [n.clause_id for n in denied_leaves(failing)] == ["g.1.b"]
    assert denied_leaves(all_of("g", (leaf("g.2", NM, "chart", [chart_no]),))) == []


def test_a_specialist_by_role_who_answers_no_is_asked_to_clarify():
    assert node(decide(denied(case(), "specialist_consult")), "initiation.2").outcome is U


@pytest.mark.parametrize(
    "make, clause, key",
    [
        (
            lambda: covid_case(statements=(statement("elevated_supar"),)),
            "table1.covid-19.4",
            "respiratory_failure_risk",
        ),
        (
            lambda: covid_case(statements=(statement("respiratory_failure_risk"),)),
            "table1.covid-19.5",
            "elevated_supar",
        ),
        (misc_case, "table1.mis-c.4.b", "glucocorticoid_contraindication"),
        (lambda: case(medications=()), "table1.ra.1.d", "conventional_all_contraindicated"),
        (lambda: case(medications=()), "table1.ra.2.f", "preferred_inappropriate"),
    ],
)
def test_a_no_makes_an_open_clause_not_met(make, clause, key):
    before = node(decide(make()), clause).outcome
    after = node(decide(denied(make(), key)), clause).outcome
    assert (before, after) == (U, NM)


def test_a_no_to_recent_treatment_makes_1b_not_met():
    c = case(medications=())
    assert node(decide(denied(c, "at_risk_if_changed")), "initiation.1.b").outcome is NM


def test_a_no_to_2f_keeps_asking_for_the_trials_documentation():
    c = case(medications=(span("adalimumab", classes=("tnf", "biologic"), preferred="humira", start=None),))
    d = decide(denied(c, "preferred_inappropriate"))
    assert node(d, "table1.ra.2.f").outcome is NM
    assert any("Humira" in m.text for m in d.missing)
