"""A plan approval on file and a decision: when an order stays within it (`order_within_approval`), and what
approving does to the decision (`apply_plan_approvals`: satisfied, to be issued, or unchanged)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from cds_service.policy.clauses.common import add_months
from cds_service.policy.engine import when_record_unread
from cds_service.policy.findings import under_approval
from cds_service.policy.model import Determination
from cds_service.policy.plan_approvals import PlanApprovalResult, apply_plan_approvals, order_within_approval
from cds_service.store import Authorization
from tests.policy.builders import (
    AS_OF,
    CLINIC,
    POLICY,
    ago,
    allergy,
    case,
    covid_case,
    decide,
    dose,
    dx,
    mtx_failed,
    order,
)
from tests.policy.test_continuation import cont_case


def test_an_order_within_the_approved_pathway_stays_within_it_even_with_criteria_open():
    assert order_within_approval(decide(cont_case()), "ra")
    # the approval vouches for the pathway's criteria: clinical benefit not documented, or documented as absent
    assert order_within_approval(decide(cont_case(response=None)), "ra")
    assert order_within_approval(decide(cont_case(response="no-benefit")), "ra")


def test_the_member_and_the_order_must_still_qualify_outside_the_pathways_criteria():
    sepsis = dx((), "A41.9", text="Sepsis", kinds=("infection",))
    infected = cont_case(diagnoses=(*cont_case().patient.diagnoses, sepsis))
    assert not order_within_approval(decide(infected), "ra")  # precautions
    assert not order_within_approval(decide(cont_case(order_facts=order(setting=CLINIC))), "ra")  # site of care


def test_order_level_clauses_inside_the_pathway_must_hold():
    assert not order_within_approval(decide(cont_case(allergies=(allergy("anakinra"),))), "ra")  # continuation.4
    assert not order_within_approval(decide(cont_case(order_facts=order(dose_facts=dose(mg=200, syringes=56)))), "ra")


def test_an_approval_vouches_only_for_the_indication_it_was_given_for():
    decision = decide(cont_case())  # rheumatoid arthritis, everything else in order
    assert order_within_approval(decision, "ra")
    assert not order_within_approval(decision, "covid-19")  # a week's COVID-19 course says nothing of RA
    assert not order_within_approval(decision, "caps")
    assert not order_within_approval(decision, None)  # an approval that names no indication


# ------------------------------------------------------------------ apply_plan_approvals (what approving does)


def on_file(
    pa_id: str = "PA-9",
    *,
    indication: str | None = "ra",
    start: date = ago(100),
    months: int = 12,
    status: str = "approved",
) -> Authorization:
    """One of the plan's approval records, as the store keeps it."""
    return Authorization(
        pa_id=pa_id,
        member_ref="m" * 64,
        drug="anakinra",
        indication=indication,
        start=start,
        end=add_months(start, months) - timedelta(days=1),
        status=status,
        coverage_assertion_id=None,
        created_at=datetime(2025, 1, 1, tzinfo=UTC),
        source="imported",
    )


def apply(decision, approvals=(), policy=POLICY, *, at_order_sign=True, unsolicited=True, explain=False):
    return apply_plan_approvals(
        decision,
        approvals,
        policy,
        as_of=AS_OF,
        at_order_sign=at_order_sign,
        unsolicited_determinations=unsolicited,
        explain=explain,
    )


COVERED = decide(case())  # an RA initiation order meeting every clause
CONDITIONAL = decide(case(medications=(mtx_failed(),)))  # no preferred product tried: step therapy open


def test_the_builders_give_the_decisions_these_tests_start_from():
    assert COVERED.determination is Determination.COVERED and COVERED.pa_needed == "auth-needed"
    assert CONDITIONAL.determination is Determination.CONDITIONAL
    assert order_within_approval(CONDITIONAL, "ra")


@pytest.mark.parametrize(
    "decision",
    [
        decide(case(order_facts=order(setting=CLINIC))),  # not covered (site of care)
        when_record_unread(COVERED, "The patient's record could not be read in full: timeout"),  # indeterminate
    ],
    ids=["not-covered", "indeterminate"],
)
def test_an_approval_never_overrides_an_unmet_or_unknown_decision(decision):
    assert decision.determination in (Determination.NOT_COVERED, Determination.INDETERMINATE)
    result = apply(decision, [on_file()])
    assert result == PlanApprovalResult(decision)  # unchanged, nothing satisfied, nothing to issue


def test_a_current_approval_the_order_stays_within_satisfies_it():
    result = apply(CONDITIONAL, [on_file("PA-9", start=ago(100))])
    d = result.decision
    assert d.determination is Determination.COVERED and d.pa_needed == "satisfied"
    assert d.existing_authorization == "PA-9" and result.satisfied_pa_id == "PA-9"
    assert result.expiry == add_months(ago(100), 12) - timedelta(days=1) and result.to_issue is None
    assert d.reasons[-1].startswith("A current plan approval (PA-9, ") and d.reasons[-1].endswith("covers this order.")
    assert d.findings == under_approval(CONDITIONAL.findings, "PA-9", ago(100), result.expiry)
    assert any(f.kind == "renewal" for f in d.findings)  # step therapy still open: said as a renewal note


def test_the_newest_current_approval_is_the_one_reported():
    result = apply(CONDITIONAL, [on_file("PA-OLD", start=ago(300)), on_file("PA-NEW", start=ago(20))])
    assert result.satisfied_pa_id == "PA-NEW"


@pytest.mark.parametrize(
    "approval",
    [
        on_file(start=ago(400)),  # expired before the order date
        on_file(start=AS_OF + timedelta(days=1)),  # starts after it
        on_file(status="revoked"),
        on_file(indication="covid-19"),  # given for another indication
        on_file(indication=None),  # names none
    ],
    ids=["expired", "future", "revoked", "other-indication", "no-indication"],
)
def test_an_approval_that_does_not_answer_for_the_order_changes_nothing(approval):
    assert apply(CONDITIONAL, [approval]) == PlanApprovalResult(CONDITIONAL)


def test_a_covered_order_at_order_sign_is_to_be_approved_for_the_guidelines_duration():
    result = apply(COVERED)
    assert result.decision is COVERED and result.satisfied_pa_id is None and result.expiry is None
    issue = result.to_issue
    assert issue is not None and issue.indication == "ra" and issue.months == 12
    assert (issue.start, issue.end) == (AS_OF, date(2027, 3, 1))  # inclusive: 12 months less a day
    assert issue.decision == replace(COVERED, pa_needed="satisfied")


def test_the_approval_length_comes_from_the_policy_data():
    six = POLICY.with_limits(approval_months=6)
    issue = apply(COVERED, policy=six).to_issue
    assert issue.months == 6 and issue.end == date(2026, 9, 1)
    covid = decide(covid_case())
    assert covid.determination is Determination.COVERED, covid.reasons
    short = apply(covid).to_issue  # initiation.duration: COVID-19 is a short approval
    assert short.months == POLICY.limit("approval_months_short") == 1 and short.end == date(2026, 4, 1)


def test_no_approval_without_an_indication_to_give_it_for():
    no_indication = replace(COVERED, indication=None)
    assert apply(no_indication) == PlanApprovalResult(no_indication)


@pytest.mark.parametrize(
    "kw", [{"at_order_sign": False}, {"unsolicited": False}], ids=["order-select", "unsolicited-off"]
)
def test_no_approval_off_order_sign_or_when_the_client_turned_unsolicited_determinations_off(kw):
    assert apply(COVERED, **kw) == PlanApprovalResult(COVERED)
    assert apply(COVERED, explain=True, **kw) == PlanApprovalResult(COVERED)  # nor is one promised


def test_an_order_not_covered_yet_is_not_approved():
    assert apply(CONDITIONAL) == PlanApprovalResult(CONDITIONAL)


def test_an_explanation_says_what_the_call_would_record_and_records_nothing():
    result = apply(COVERED, explain=True)
    assert result.to_issue is None and result.satisfied_pa_id is None
    assert result.decision.pa_needed == "auth-needed"
    assert result.decision.reasons[:-1] == COVERED.reasons
    assert result.decision.reasons[-1] == (
        "At order-sign the service would record a plan approval for this order (12 months, 2026-03-02 to "
        "2027-03-01) and answer pa-needed satisfied; an explanation records none."
    )
    # an explanation still reports the approval on file, as the hook would
    assert apply(CONDITIONAL, [on_file("PA-9")], explain=True).satisfied_pa_id == "PA-9"
