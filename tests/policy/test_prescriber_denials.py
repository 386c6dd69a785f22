"""The prescriber's "no" (a documentation questionnaire answer): what the chart leaves open becomes NOT_MET, what
the chart meets becomes UNKNOWN (both shown), what the chart fails stays NOT_MET."""

from __future__ import annotations

import pytest

from cds_service.facts.model import PrescriberStatement
from cds_service.policy.model import Determination, Outcome
from tests.policy.builders import (anakinra_dispense, case, covid_case, decide, misc_case, node, prior_auth,
                                   statement, with_order)

M, NM, U = Outcome.MET, Outcome.NOT_MET, Outcome.UNKNOWN


def no(key: str) -> PrescriberStatement:
    return PrescriberStatement(key, f"\"question about {key}\" no", f"QuestionnaireResponse/qr-1#{key}")


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
    assert any(r.startswith("MedicationDispense") for r in refs) and "QuestionnaireResponse/qr-1#clinical_benefit" in refs
    assert n.missing and "Clarification" in n.missing[0].text


def test_a_no_never_lifts_what_the_chart_fails():
    assert node(decide(denied(cont_case("no-benefit"), "clinical_benefit")), "continuation.2").outcome is NM


def test_no_specialist_consultation_is_not_met_and_conditional():
    c = denied(case(specialties=("family-medicine",)), "specialist_consult")
    d = decide(c)
    assert node(d, "initiation.2").outcome is NM
    assert d.determination is Determination.CONDITIONAL      # not a hard exclusion: prior authorization review


def test_a_specialist_by_role_who_answers_no_is_asked_to_clarify():
    assert node(decide(denied(case(), "specialist_consult")), "initiation.2").outcome is U


@pytest.mark.parametrize("make, clause, key", [
    (lambda: covid_case(statements=(statement("elevated_supar"),)), "table1.covid-19.4", "respiratory_failure_risk"),
    (lambda: covid_case(statements=(statement("respiratory_failure_risk"),)), "table1.covid-19.5", "elevated_supar"),
    (misc_case, "table1.mis-c.4.b", "glucocorticoid_contraindication"),
    (lambda: case(medications=()), "table1.ra.1.d", "conventional_all_contraindicated"),
    (lambda: case(medications=()), "table1.ra.2.f", "preferred_inappropriate"),
])
def test_a_no_makes_an_open_clause_not_met(make, clause, key):
    before = node(decide(make()), clause).outcome
    after = node(decide(denied(make(), key)), clause).outcome
    assert (before, after) == (U, NM)


def test_a_no_to_recent_treatment_makes_1b_not_met():
    c = case(medications=())
    assert node(decide(denied(c, "at_risk_if_changed")), "initiation.1.b").outcome is NM


def test_a_no_to_2f_keeps_asking_for_the_trials_documentation():
    from tests.policy.builders import span
    c = case(medications=(span("adalimumab", classes=("tnf", "biologic"), preferred="humira", start=None),))
    d = decide(denied(c, "preferred_inappropriate"))
    assert node(d, "table1.ra.2.f").outcome is NM
    assert any("Humira" in m.text for m in d.missing)
