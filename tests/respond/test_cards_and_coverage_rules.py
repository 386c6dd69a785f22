"""Rules enforced where cards and coverage information are built (CRD 2.2.1 / CDS Hooks 2.0)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from cds_service.policy.data_loader import load_policy
from cds_service.policy.model import Determination
from cds_service.respond.cards import MAX_SUMMARY, card_for, fit_summary
from cds_service.respond.coverage_information import coverage_information
from cds_service.respond.suggestions import Limits
from tests.policy.builders import case, decide
from tests.respond import crd_rules as rules

POLICY = load_policy()
LIMITS = Limits.from_policy(POLICY.limits)
ORDER = {"resourceType": "MedicationRequest", "id": "draft-1", "status": "draft", "intent": "order"}


def card(finding, decision):
    return card_for(
        finding,
        decision,
        ORDER,
        plan_name="Plan",
        policy_url="https://plan.example.org/policy",
        patient_id="p1",
        limits=LIMITS,
    )


def test_fit_summary_keeps_short_texts_and_cuts_long_ones_at_a_word():
    short = "a" * MAX_SUMMARY
    assert fit_summary(short) == short and MAX_SUMMARY == 139
    long = "Federal Employee Program member: " + "follow the plan's process " * 8
    cut = fit_summary(long)
    assert len(cut) < 140 and cut.endswith("\u2026")
    assert long.startswith(cut[:-1]) and long[len(cut) - 1] == " "  # cut between words, not inside one
    assert len(fit_summary("x" * 300)) < 140


@pytest.mark.parametrize("program", [p for p, spec in POLICY.data["programs"].items() if spec.get("decides") is False])
def test_every_program_card_summary_fits_uncut(program):
    """The four programs this guideline defers (FEP, SAO, Medicare Part D, Medicare other): their card summary
    is under 140 characters as written in the policy data (they used to be cut mid-word at 140)."""
    decision = decide(case(program=program))
    finding = next(f for f in decision.findings if f.kind == "program")
    summary = card(finding, decision)["summary"]
    assert summary == finding.summary and len(summary) < 140
    assert POLICY.data["programs"][program]["label"] in summary


def test_card_topic_is_a_cdshooks_card_type():
    decision = decide(case(program="fep"))
    topic = card(decision.findings[0], decision)["source"]["topic"]
    assert topic["system"] == "http://terminology.hl7.org/CodeSystem/cdshooks-card-type"
    assert topic["code"] in rules.CARD_TYPES and topic["display"]


def _values(ext: dict) -> dict:
    out: dict = {}
    for sub in ext["extension"]:
        out.setdefault(sub["url"], []).append(
            next((v for k, v in sub.items() if k.startswith("value")), sub.get("extension"))
        )
    return out


def _ci(decision, **kw) -> dict:
    return coverage_information(
        decision,
        hook="order-sign",
        hook_instance="h1",
        coverage_ref="Coverage/c1",
        today=date(2026, 3, 2),
        policy_url="https://plan.example.org/policy",
        limits=LIMITS,
        **kw,
    )


def test_detail_category_is_a_code_and_the_code_comes_from_tho():
    ext = _ci(decide(case()))
    errors, _ = rules.check_coverage_information(ext, "ci", hook="order-sign")
    assert not errors
    details = _values(ext)["detail"]
    assert {"url": "category", "valueCode": "cat-other"} in details[0]
    assert details[0][1]["valueCodeableConcept"]["coding"][0]["system"] == rules.COVERAGE_DETAIL_CS


def test_satisfied_without_an_approval_number_is_not_sent_as_satisfied():
    """crd-ci-q5: pa-needed 'satisfied' iff satisfied-pa-id. A decision saying 'satisfied' with no approval
    number to show keeps prior authorization needed (never a bare 'satisfied')."""
    decision = replace(decide(case()), pa_needed="satisfied")
    assert decision.determination is Determination.COVERED
    values = _values(_ci(decision))
    assert values["pa-needed"] == ["auth-needed"] and "satisfied-pa-id" not in values
    values = _values(_ci(decision, satisfied_pa_id="PA-1"))
    assert values["pa-needed"] == ["satisfied"] and values["satisfied-pa-id"] == ["PA-1"]


def test_an_indeterminate_prior_authorization_always_says_why():
    """crd-ci-q9, for a pa-needed 'indeterminate' on an otherwise covered decision."""
    decision = replace(decide(case()), pa_needed="indeterminate", reasons=())
    ext = _ci(decision)
    assert _values(ext)["reason"]
    assert not rules.check_coverage_information(ext, "ci", hook="order-sign")[0]
