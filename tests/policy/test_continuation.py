"""Continuation 1 to 6 and the pathway choice (chart ClaimResponse or the plan's own authorization records)."""

from __future__ import annotations

import pytest

from tests.policy.builders import (
    CLINIC,
    NA,
    NM,
    M,
    U,
    allergy,
    anakinra_dispense,
    case,
    covid_case,
    decide,
    dose,
    misc_case,
    node,
    order,
    prior_auth,
    span,
    statement,
)


def cont_case(response="benefit", pas=(prior_auth(),), **kw):
    kw.setdefault("medications", (anakinra_dispense(20, response=response),))
    return case(prior_authorizations=pas, **kw)


def test_previous_approval_selects_continuation():
    d = decide(cont_case())
    assert d.pathway == "continuation"
    assert node(d, "continuation.1").outcome is M
    assert d.determination.value == "covered"
    assert d.approval_months == 12 and node(d, "continuation.duration").outcome is M
    assert "continuation_pathway" in d.readings


@pytest.mark.parametrize(
    "pas, pathway",
    [
        ((prior_auth(status="denied"),), "initiation"),
        ((prior_auth(start_days_ago=-10),), "initiation"),  # approved after the order date
        ((prior_auth(indication="covid-19"),), "initiation"),  # COVID-19 approvals do not count
        ((), "initiation"),
    ],
)
def test_what_counts_as_a_previous_approval(pas, pathway):
    assert decide(cont_case(pas=pas)).pathway == pathway


def test_plan_authorizations_are_passed_in():
    c = cont_case(pas=())
    assert decide(c).pathway == "initiation"
    d = decide(c, plan_authorizations=(prior_auth(pa_id="STORE-1"),))
    assert d.pathway == "continuation"
    assert node(d, "continuation.1").evidence[0].reference == "ClaimResponse/STORE-1"


def test_covid_and_misc_always_use_initiation():
    assert decide(covid_case(prior_authorizations=(prior_auth(),))).pathway == "initiation"
    d = decide(misc_case(prior_authorizations=(prior_auth(),)))
    assert d.pathway == "initiation"
    assert node(d, "continuation.1").outcome is NA and "initiation" in node(d, "continuation.1").note


@pytest.mark.parametrize(
    "response, statements, expected",
    [
        ("benefit", (), M),
        (None, (), U),
        (None, (statement("clinical_benefit", "Good clinical response on anakinra."),), M),
        ("no-benefit", (), NM),
    ],
)
def test_continuation_2_clinical_benefit(response, statements, expected):
    d = decide(cont_case(response=response, order_facts=order(statements=statements)))
    assert node(d, "continuation.2").outcome is expected
    if expected is U:
        assert any("clinical benefit" in m.text for m in d.missing)


@pytest.mark.parametrize(
    "kw, clause, expected, determination",
    [
        ({"specialties": ("family-medicine",)}, "continuation.3", U, "conditional"),
        ({"allergies": (allergy("anakinra"),)}, "continuation.4", NM, "not-covered"),
        (
            {"drafts": (span("adalimumab", classes=("tnf", "biologic"), kind="draft", active=True),)},
            "continuation.5",
            NM,
            "not-covered",
        ),
        ({"order_facts": order(dose_facts=dose(mg=200, syringes=56))}, "continuation.6.a", NM, "conditional"),
    ],
)
def test_continuation_3_to_6_reuse_initiation(kw, clause, expected, determination):
    d = decide(cont_case(**kw))
    assert node(d, clause).outcome is expected
    assert d.determination.value == determination


def test_continuation_hard_exclusions_and_cards_use_continuation_ids():
    d = decide(cont_case(allergies=(allergy("anakinra"),)))
    card = next(f for f in d.findings if f.kind == "contraindication")
    assert "continuation.4" in card.clause_ids
    d = decide(cont_case(order_facts=order(dose_facts=dose(mg=200, syringes=56))))
    assert "continuation.6.a" in next(f for f in d.findings if f.kind == "dose").clause_ids


def test_initiation_is_kept_for_the_record_and_does_not_decide():
    d = decide(cont_case(response=None))  # continuation.2 unknown
    assert d.determination.value == "conditional"
    alt = next(t for t in d.tree if t.clause_id == "alternative-pathway")
    assert alt.find("initiation.1.a").outcome is M  # initiation would be met...
    assert "alternative-pathway" not in d.coverage_groups  # ...but it does not decide


def _without_tree(d):
    from dataclasses import replace

    return replace(d, tree=tuple(t for t in d.tree if t.clause_id != "alternative-pathway"))


@pytest.mark.parametrize(
    "kw",
    [
        {},  # covered
        {"response": None},  # conditional: 2 unknown
        {"allergies": (allergy("anakinra"),)},  # not-covered
        {"specialties": ("family-medicine",), "response": "no-benefit"},  # several clauses
        {"medications": ()},  # no anakinra use on record
    ],
)
def test_the_pathway_not_applied_is_evaluated_only_when_asked_and_changes_nothing_else(kw):
    """The hook path leaves out `alternative-pathway` (initiation on a continuation); every other part of the
    decision is the same: determination, PA, reasons, findings (cards), missing items, the deciding tree."""
    full = decide(cont_case(**kw))
    lean = decide(cont_case(**kw), alternative_pathway=False)
    assert full.pathway == lean.pathway == "continuation"
    assert "alternative-pathway" in [t.clause_id for t in full.tree]
    assert "alternative-pathway" not in [t.clause_id for t in lean.tree]
    assert not any(n.clause_id.startswith("initiation.") for t in lean.tree for n in t.walk())
    assert lean == _without_tree(full)
    assert lean.missing == full.missing and lean.findings == full.findings


def test_on_the_initiation_pathway_there_is_no_alternative_either_way():
    c = cont_case(pas=())
    assert decide(c) == decide(c, alternative_pathway=False)
    assert "alternative-pathway" not in [t.clause_id for t in decide(c).tree]


def test_site_of_care_applies_to_continuation():
    assert decide(cont_case(order_facts=order(setting=CLINIC))).determination.value == "not-covered"


def test_no_benefit_stated_is_not_covered_and_recent_fills_do_not_reopen_initiation():
    """Continuation 2 ("Member has had clinical benefit with anakinra therapy") not met on the chart's own words is
    a denial: the member was approved before, so initiation (whose 1.a the recent fills would meet) is not open
    ("members not previously approved for the requested agent will require initial evaluation review")."""
    d = decide(cont_case(response="no-benefit"))
    assert d.pathway == "continuation"
    assert node(d, "continuation.2").outcome is NM
    assert d.determination.value == "not-covered" and d.pa_needed is None
    assert "continuation_no_benefit" in d.readings
    alt = next(t for t in d.tree if t.clause_id == "alternative-pathway")
    assert alt.find("initiation.1.a").outcome is M  # the fills would meet initiation 1.a: it does not decide
    assert any("continuation.2" in f.clause_ids for f in d.findings)
    # benefit merely undocumented stays a request for documentation, not a denial
    d = decide(cont_case(response=None))
    assert d.determination.value == "conditional" and "continuation_no_benefit" not in d.readings
