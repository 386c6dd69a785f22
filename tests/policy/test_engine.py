"""The determination, the readings on cards, and a complete explanation (every node: outcome, text,
combinator or evidence; the policy revision named)."""

from __future__ import annotations

import pytest

from cds_service.policy.model import Outcome
from tests.policy.builders import (
    CLINIC,
    INPATIENT_ORDER,
    POLICY,
    allergy,
    case,
    covid_case,
    decide,
    dose,
    dx,
    misc_case,
    node,
    order,
    span,
    still_case,
)


def test_every_decision_names_the_policy_revision():
    d = decide(case())
    doc = d.to_json()
    assert doc["policy"] == {"id": "09-J0000-45", "revision": POLICY.revision, "effective": "2026-01-01"}
    assert d.policy_revision == POLICY.revision


@pytest.mark.parametrize(
    "maker",
    [
        case,
        covid_case,
        misc_case,
        still_case,
        lambda: case(medications=(), order_facts=order(dose_facts=dose(mg=200, syringes=56))),
    ],
)
def test_explanation_is_complete(maker):
    d = decide(maker())
    doc = d.to_json()

    def walk(n, depth=0):
        yield n, depth
        for c in n.get("children", []):
            yield from walk(c, depth + 1)

    for top in doc["clauses"]:
        for n, _depth in walk(top):
            assert n["outcome"] in {"met", "not-met", "unknown", "not-applicable"}
            assert n.get("text"), n["clause"]  # the guideline's words for every node
            assert n.get("note"), n["clause"]  # and why
            if n.get("children"):
                assert n.get("combinator") or n["clause"] in ("alternative-pathway",), n["clause"]
    ids = {n["clause"] for t in doc["clauses"] for n, _ in walk(t)}
    assert {
        "position.site-of-care",
        "precautions.neutrophils",
        "billing.icd10",
        "billing.hcpcs",
        "program.fep",
        "initiation.duration",
        "dosage.renal",
        "dosage.form",
    } <= ids


def test_composites_fold_their_children():
    """Kleene consistency: every ALL/ANY/ONE node's outcome is the fold of its children."""
    from cds_service.policy.logic import fold_all, fold_any

    for maker in (case, covid_case, misc_case, still_case, lambda: case(medications=())):
        d = decide(maker())
        for top in d.coverage_tree():
            for n in top.walk():
                if n.combinator == "ALL" and len(n.children) > 1:
                    assert n.outcome is fold_all(c.outcome for c in n.children), n.clause_id
                if n.combinator in ("ANY", "ONE"):
                    assert n.outcome is fold_any(c.outcome for c in n.children), n.clause_id


def test_hard_exclusions_deny_other_not_met_do_not():
    assert decide(case(order_facts=order(setting=CLINIC))).determination.value == "not-covered"
    assert decide(case(allergies=(allergy("anakinra"),))).determination.value == "not-covered"
    assert (
        decide(
            case(drafts=(span("etanercept", classes=("tnf", "biologic"), kind="draft", active=True),))
        ).determination.value
        == "not-covered"
    )
    # a dose above the limit or an RA age below labeling ask for records: conditional
    assert decide(case(order_facts=order(dose_facts=dose(mg=200, syringes=56)))).determination.value == "conditional"
    assert decide(case(age=15)).determination.value == "conditional"


def test_not_covered_reasons_cite_the_clause():
    d = decide(case(order_facts=order(setting=CLINIC)))
    assert d.pa_needed is None
    assert any(r.startswith("position.site-of-care:") for r in d.reasons)


def test_conditional_lists_what_is_missing_once():
    d = decide(case(medications=(), specialties=("family-medicine",)))
    texts = [m.text for m in d.missing]
    assert len(texts) == len(set(texts))
    card = next(f for f in d.findings if f.kind == "documentation")
    assert "initiation.2" in card.clause_ids


def test_order_select_is_a_preview():
    d = decide(case(specialties=("family-medicine",), hook="order-select"))
    card = next(f for f in d.findings if f.kind == "documentation")
    assert card.summary.startswith("Coverage preview")


# ---------------------------------------------------------------- where the guideline contradicts itself


@pytest.mark.parametrize("maker", [covid_case, misc_case])
def test_inpatient_indications_are_not_denied_for_the_setting_and_say_which_reading(maker):
    d = decide(maker())
    assert node(d, "position.site-of-care").outcome is Outcome.NOT_APPLICABLE
    assert "site_of_care_vs_inpatient_indications" in d.readings
    assert d.determination.value == "covered"
    assert any("How the guideline was read" in r and "COVID-19 (EUA) and MIS-C" in r for r in d.reasons)
    assert d.to_json()["readings"][0]["key"] == "site_of_care_vs_inpatient_indications"


def test_reading_is_on_every_card_of_the_order():
    d = decide(covid_case(statements=()))  # conditional: a documentation card
    assert d.findings
    for f in d.findings:
        assert "How the guideline was read" in f.detail and "position statement excludes" in f.detail


def test_the_same_setting_is_denied_for_other_indications():
    d = decide(case(order_facts=order(setting=INPATIENT_ORDER)))
    assert node(d, "position.site-of-care").outcome is Outcome.NOT_MET
    assert "site_of_care_vs_inpatient_indications" not in d.readings


@pytest.mark.parametrize("code", ["M06.1", "M08.20", "M08.2A"])
def test_still_codes_reading_on_the_card(code):
    d = decide(still_case(code))
    assert d.readings == ("still_codes_listed_with_ra",)
    card = next(f for f in d.findings if f.kind == "reading")
    assert "M06.1" in card.detail and "not as RA" in card.detail
    assert card.severity == "info"


def test_still_reading_not_applied_to_text_only_still():
    d = decide(case(diagnoses=(dx(("still",), None, text="Systemic JIA"),), medications=()))
    assert d.indication == "still" and d.readings == ()


def test_eua_age_reading():
    d = decide(covid_case(age=16))
    assert "eua_age" in d.readings
    assert d.determination.value == "conditional"


def test_a_record_not_read_in_full_makes_the_decision_indeterminate_unless_it_already_denies():
    why = "The patient's record could not be read in full: Condition search timed out"
    covered = decide(case())
    unread = decide(case(), record_unread=why)
    assert covered.determination.value == "covered"
    assert unread.determination.value == "indeterminate" and unread.pa_needed == "indeterminate"
    assert unread.reasons == (why, *covered.reasons) and unread.findings == covered.findings
    denied = decide(case(order_facts=order(setting=CLINIC)))
    assert denied.determination.value == "not-covered"
    assert decide(case(order_facts=order(setting=CLINIC)), record_unread=why) == denied
