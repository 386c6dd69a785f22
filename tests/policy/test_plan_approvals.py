"""A plan approval on file and a decision: when an order stays within it (`order_within_approval`), and what
approving does to the decision (`apply_plan_approvals`: satisfied, to be issued, or unchanged)."""

from __future__ import annotations

from cds_service.policy.plan_approvals import order_within_approval
from tests.policy.builders import CLINIC, allergy, decide, dose, dx, order
from tests.policy.test_continuation import cont_case


def test_an_order_within_the_approved_pathway_stays_within_it_even_with_criteria_open():
    assert order_within_approval(decide(cont_case()), "ra")
    # the approval vouches for the pathway's criteria: clinical benefit not documented, or documented as absent
    assert order_within_approval(decide(cont_case(response=None)), "ra")
    assert order_within_approval(decide(cont_case(response="no-benefit")), "ra")


def test_the_member_and_the_order_must_still_qualify_outside_the_pathways_criteria():
    sepsis = dx((), "A41.9", text="Sepsis", kinds=("infection",))
    infected = cont_case(diagnoses=cont_case().patient.diagnoses + (sepsis,))
    assert not order_within_approval(decide(infected), "ra")                                   # precautions
    assert not order_within_approval(decide(cont_case(order_facts=order(setting=CLINIC))), "ra")   # site of care


def test_order_level_clauses_inside_the_pathway_must_hold():
    assert not order_within_approval(decide(cont_case(allergies=(allergy("anakinra"),))), "ra")            # continuation.4
    assert not order_within_approval(decide(cont_case(order_facts=order(dose_facts=dose(mg=200, syringes=56)))), "ra")


def test_an_approval_vouches_only_for_the_indication_it_was_given_for():
    decision = decide(cont_case())                     # rheumatoid arthritis, everything else in order
    assert order_within_approval(decision, "ra")
    assert not order_within_approval(decision, "covid-19")    # a week's COVID-19 course says nothing of RA
    assert not order_within_approval(decision, "caps")
    assert not order_within_approval(decision, None)          # an approval that names no indication
