"""Coverage information points to the questionnaire (crd-ci-q1), and the card to the form page."""

from __future__ import annotations

from datetime import date

from cds_service.documentation import questionnaire_for
from cds_service.respond.cards import DOCUMENTATION_SUMMARY, documentation_card
from cds_service.respond.coverage_information import coverage_information
from tests.policy.builders import case, decide

BASE = "https://cds.example.org"


def _ext(decision, questionnaire, hook="order-sign"):
    ext = coverage_information(
        decision,
        hook=hook,
        hook_instance="h",
        coverage_ref="Coverage/c",
        today=date(2026, 3, 2),
        policy_url=BASE + "/policy/x",
        questionnaire=questionnaire,
        assertion_id="AKR-1",
    )
    return {e["url"]: e for e in ext["extension"]}, [e["url"] for e in ext["extension"]]


def test_a_conditional_decision_the_questionnaire_answers_names_it_with_doc_needed():
    decision = decide(case(specialties=("family-medicine",)))
    canonical = questionnaire_for(decision, BASE)
    assert canonical and canonical.startswith(BASE + "/fhir/Questionnaire/kineret-09-J0000-45|")
    by_url, urls = _ext(decision, canonical)
    assert by_url["questionnaire"]["valueCanonical"] == canonical and "doc-needed" in urls  # crd-ci-q1


def test_no_questionnaire_when_covered_or_on_order_select():
    covered = decide(case())
    assert questionnaire_for(covered, BASE) is None
    conditional = decide(case(specialties=("family-medicine",)))
    _, urls = _ext(conditional, questionnaire_for(conditional, BASE), hook="order-select")
    assert "questionnaire" not in urls and "doc-needed" not in urls  # q1 holds on a secondary hook too
    _, urls = _ext(conditional, None)
    assert "questionnaire" not in urls  # unchanged without one


def test_the_documentation_card_links_absolute_to_the_form_url():
    decision = decide(case(specialties=("family-medicine",)))
    assert documentation_card(decision, None, plan_name="Plan", policy_url=BASE) is None
    card = documentation_card(decision, "https://cds.example.org/forms/abc?sig=x", plan_name="Plan", policy_url=BASE)
    assert card["summary"] == DOCUMENTATION_SUMMARY and len(card["summary"]) < 140
    assert card["links"] == [
        {"label": DOCUMENTATION_SUMMARY, "url": "https://cds.example.org/forms/abc?sig=x", "type": "absolute"}
    ]
    assert card["extension"]["davinci-crd.associated-resource"] == [{"reference": "MedicationRequest/draft-1"}]
