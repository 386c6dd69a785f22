"""When an order stays within a plan approval on file (policy.approvals.order_within_approval)."""

from __future__ import annotations

from cds_service.policy.approvals import order_within_approval
from tests.policy.builders import CLINIC, allergy, decide, dose, dx, order
from tests.policy.test_continuation import cont_case


def test_an_order_within_the_approved_pathway_stays_within_it_even_with_criteria_open():
    assert order_within_approval(decide(cont_case()))
    # the approval vouches for the pathway's criteria: clinical benefit not documented, or documented as absent
    assert order_within_approval(decide(cont_case(response=None)))
    assert order_within_approval(decide(cont_case(response="no-benefit")))


def test_the_member_and_the_order_must_still_qualify_outside_the_pathways_criteria():
    sepsis = dx((), "A41.9", text="Sepsis", kinds=("infection",))
    infected = cont_case(diagnoses=cont_case().patient.diagnoses + (sepsis,))
    assert not order_within_approval(decide(infected))                                   # precautions
    assert not order_within_approval(decide(cont_case(order_facts=order(setting=CLINIC))))   # site of care


def test_order_level_clauses_inside_the_pathway_must_hold():
    assert not order_within_approval(decide(cont_case(allergies=(allergy("anakinra"),))))            # continuation.4
    assert not order_within_approval(decide(cont_case(order_facts=order(dose_facts=dose(mg=200, syringes=56)))))
