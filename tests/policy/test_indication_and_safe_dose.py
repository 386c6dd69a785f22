"""Issue 17, classes 4 and 6 at the policy layer: the most specific indication wins and its weight-based maximum
is always checked; a suggested dose meets every limit that applies to the member.

Guideline 09-J0000-45: "the neonatal-onset multisystem inflammatory disease (NOMID)/chronic infantile neurologic
cutaneous articular syndrome (CINCA) describes the severe phenotype" of CAPS; FDA-approved for "(2) Neonatal-Onset
Multisystem Inflammatory Disease (NOMID), and (3) Deficiency of Interleukin-1 Receptor Antagonist (DIRA)";
"The recommended starting dose of anakinra for NOMID and DIRA is 1 to 2 mg/kg daily. The dose can be individually
adjusted to a maximum of 8 mg/kg daily"; 5.a "The dosage does not exceed 100 mg once daily / QL: 100 mg syringe -
28 syringes (18.76 mL)/28 days"; 5.b.i "does NOT exceed the maximum FDA labeled dose for the requested
indication"; renal: "consider administration of the prescribed dose every other day" below CrCl 30 mL/min;
"anakinra is available as a 100 mg/0.67 mL prefilled glass syringe".
"""

from __future__ import annotations

import pytest

from tests.policy.builders import NA, NM, M, U, case, decide, dose, dx, lab, node, nomid_case, order

CAPS_REASON = dx(
    ("caps",), "M04.2", text="Cryopyrin-associated periodic syndromes", from_order=True, possible=("nomid",)
)
NOMID_PROBLEM = dx(("nomid",), "M04.2", text="NOMID")


def infant(
    weight_kg: float,
    mg: float,
    *,
    diagnoses,
    reasons=(),
    syringes: float = 28,
    per_day: float = 1,
    labs=None,
    age: int = 0,
    weight_days_ago: int = 5,
):
    kw = {"labs": labs} if labs is not None else {}
    return case(
        age=age,
        sex="male",
        weight_kg=weight_kg,
        weight_days_ago=weight_days_ago,
        diagnoses=diagnoses,
        medications=(),
        specialties=("pediatric-rheumatology",),
        order_facts=order(dose_facts=dose(mg=mg, per_day=per_day, syringes=syringes), reasons=reasons),
        **kw,
    )


def finding(d, kind):
    return next((f for f in d.findings if f.kind == kind), None)


# ------------------------------------------------------------------ class 4: indication specificity


def test_nomid_on_the_problem_list_beats_a_caps_order_reason_and_the_weight_limit_is_checked():
    """The issue's chart: problem list NOMID, order reason M04.2 'cryopyrin-associated periodic syndromes';
    a 7.5 kg infant at 100 mg/day (13.3 mg/kg) was covered with no card."""
    d = decide(infant(7.5, 100, diagnoses=(NOMID_PROBLEM,), reasons=(CAPS_REASON,)))
    assert d.indication == "nomid"
    assert node(d, "dosage.nomid-dira").outcome is NM
    assert d.determination.value != "covered"
    assert "most_specific_indication" in d.readings
    assert "most specific" in node(d, "initiation.1.c.i").note


def test_m04_2_alone_is_caps_but_its_possible_nomid_keeps_the_weight_limit():
    d = decide(infant(7.5, 100, diagnoses=(), reasons=(CAPS_REASON,)))
    assert d.indication == "caps"
    assert node(d, "dosage.nomid-dira").outcome is NM
    assert d.determination.value != "covered"
    assert "most_specific_indication" in d.readings


def test_m04_2_alone_without_a_current_weight_is_unknown_not_covered():
    d = decide(infant(30, 100, diagnoses=(), reasons=(CAPS_REASON,), weight_days_ago=400, age=10))
    assert node(d, "dosage.nomid-dira").outcome is U
    assert d.determination.value == "conditional"


def test_a_caps_adult_within_the_weight_limit_is_conditional_never_covered_on_the_code():
    """Round 2 (chart nomid-m042-muckle-wells-not-nomid): M04.2 alone is not NOMID, and the guideline names no
    compendia support for CAPS beyond NOMID ("specifically neonatal-onset multisystem inflammatory disease
    (NOMID)"; M04.2 is not among the ICD-10 codes that support medical necessity). This order was covered."""
    d = decide(case(age=40, weight_kg=70, medications=(), diagnoses=(), order_facts=order(reasons=(CAPS_REASON,))))
    assert d.indication == "caps" and node(d, "dosage.nomid-dira").outcome is M
    assert node(d, "table1.nomid").outcome is U  # M04.2 may be NOMID: the phenotype is asked for
    assert node(d, "table1.other").outcome is U  # CAPS beyond NOMID: compendia support is asked for
    assert d.determination.value == "conditional"


def test_muckle_wells_is_caps_only_and_has_no_weight_limit():
    mws = dx(("caps",), "M04.2", text="Muckle-Wells syndrome", from_order=True)
    d = decide(case(age=40, weight_kg=None, medications=(), diagnoses=(), order_facts=order(reasons=(mws,))))
    assert d.indication == "caps" and node(d, "dosage.nomid-dira").outcome is NA


def test_caps_over_100_mg_needs_compendia_evidence_while_nomid_is_within_its_label():
    """NOMID is FDA-labeled (5.b by 8 mg/kg daily); CAPS in general is compendia-supported (5.c)."""
    caps = decide(
        case(
            age=40,
            weight_kg=70,
            medications=(),
            diagnoses=(),
            order_facts=order(reasons=(CAPS_REASON,), dose_facts=dose(mg=200, syringes=56)),
        )
    )
    assert node(caps, "initiation.5").outcome is U and node(caps, "initiation.5.c").outcome is U
    nomid = decide(
        case(
            age=40,
            weight_kg=70,
            medications=(),
            diagnoses=(NOMID_PROBLEM,),
            order_facts=order(reasons=(CAPS_REASON,), dose_facts=dose(mg=200, syringes=56)),
        )
    )
    assert nomid.indication == "nomid" and node(nomid, "initiation.5.b").outcome is M


def test_dira_supported_anywhere_checks_the_weight_limit():
    possible_dira = dx((), "M04.8", text="Other autoinflammatory syndromes", qualified=("dira",), possible=("dira",))
    d = decide(infant(7.5, 100, diagnoses=(possible_dira,)))
    assert node(d, "dosage.nomid-dira").outcome is NM


# ------------------------------------------------------------------ class 6: safe suggestions, within-label doses


def test_adult_nomid_at_200_mg_is_within_the_label_no_change_to_100_mg_and_no_compendia_request():
    d = decide(nomid_case(weight_kg=70, age=30, order_facts=order(dose_facts=dose(mg=200, syringes=56))))
    assert node(d, "initiation.5.a").outcome is NM
    assert node(d, "initiation.5.b").outcome is M  # 2.9 mg/kg daily, within 8 mg/kg
    assert node(d, "initiation.5").outcome is M
    assert finding(d, "dose") is None
    assert not any("compendia" in f.detail.lower() for f in d.findings)
    assert d.determination.value == "covered"


def test_nomid_at_200_mg_under_25_kg_is_above_the_label():
    d = decide(nomid_case(weight_kg=24, age=8, order_facts=order(dose_facts=dose(mg=200, syringes=56))))
    assert node(d, "dosage.nomid-dira").outcome is NM and d.determination.value != "covered"


def test_9_kg_infant_ordered_1_ml_gets_a_dose_within_8_mg_per_kg_rounded_down():
    """1 mL = 149 mg = 16.6 mg/kg. The old suggestion, 100 mg, is 11.1 mg/kg (above the label)."""
    d = decide(infant(9, 149.25, diagnoses=(NOMID_PROBLEM,)))
    card = finding(d, "dose")
    plan = card.data["suggested_dose"]
    assert plan["ml"] == 0.48 and plan["mg"] == pytest.approx(71.64, abs=0.01)
    assert plan["mg"] / 9 <= 8
    assert plan["interval_days"] == 1 and plan["syringes"] == 28
    assert "100 mg once daily" not in card.summary
    assert "0.48 mL" in card.summary
    weight_card = finding(d, "weight-dose")
    assert weight_card is not None and "suggested_dose" not in weight_card.data  # one suggestion, on the dose card
    assert "at most 72 mg" in weight_card.summary


def test_within_100_mg_but_above_8_mg_per_kg_the_weight_card_carries_the_suggestion():
    d = decide(infant(7.5, 100, diagnoses=(NOMID_PROBLEM,)))
    assert finding(d, "dose") is None
    plan = finding(d, "weight-dose").data["suggested_dose"]
    assert plan["ml"] == 0.40 and plan["mg"] <= 60


def test_weight_limit_rounding_never_goes_above_the_maximum():
    d = decide(infant(9.45, 100, diagnoses=(NOMID_PROBLEM,)))  # 8 x 9.45 = 75.6 mg
    card = finding(d, "weight-dose")
    assert "at most 75 mg" in card.summary
    assert card.data["suggested_dose"]["mg"] <= 75.6


def test_no_current_weight_no_suggested_dose_and_the_card_says_why():
    d = decide(infant(9, 149.25, diagnoses=(NOMID_PROBLEM,), weight_days_ago=200))
    card = finding(d, "dose")
    assert card.data["suggested_dose"] is None
    assert "current body weight" in card.data["no_suggestion"]
    assert "No dose change is suggested" in card.detail


def test_renal_every_other_day_and_weight_both_shape_the_suggestion():
    crcl = (lab("crcl", 20, "mL/min", 10), lab("anc", 4.2, "10*3/uL", 14))
    d = decide(infant(9, 149.25, diagnoses=(NOMID_PROBLEM,), labs=crcl))
    plan = finding(d, "dose").data["suggested_dose"]
    assert plan["interval_days"] == 2 and plan["syringes"] == 14 and plan["mg"] <= 72
    renal = finding(d, "renal")
    assert renal.data["suggested_dose"] == plan


def test_renal_suggestion_keeps_the_prescribed_dose_when_within_every_limit():
    crcl = (lab("crcl", 20, "mL/min", 10), lab("anc", 4.2, "10*3/uL", 14))
    d = decide(case(labs=crcl))
    plan = finding(d, "renal").data["suggested_dose"]
    assert (plan["mg"], plan["ml"], plan["interval_days"], plan["syringes"]) == (100, None, 2, 14)


def test_ra_above_100_mg_is_suggested_100_mg_once_daily():
    d = decide(case(order_facts=order(dose_facts=dose(mg=200, syringes=56))))
    plan = finding(d, "dose").data["suggested_dose"]
    assert (plan["mg"], plan["interval_days"], plan["syringes"]) == (100, 1, 28)


def test_the_suggestion_never_raises_the_ordered_daily_amount():
    """20 mg daily with too many syringes: the change is to the quantity, not to a higher dose."""
    d = decide(infant(9, 20, diagnoses=(NOMID_PROBLEM,), syringes=56))
    plan = finding(d, "dose").data["suggested_dose"]
    assert plan["mg"] <= 20
