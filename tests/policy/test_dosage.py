"""Dosage: initiation.5 a-d, the weight-based NOMID/DIRA maximum, the RA dose, the renal advice and the form."""

from __future__ import annotations

import pytest

from tests.policy.builders import NA, NM, M, U, case, decide, dose, lab, node, nomid_case, order, outcome, still_case


@pytest.mark.parametrize(
    "d, expected",
    [
        (dose(), M),
        (dose(mg=200, syringes=56), NM),
        (dose(mg=100, per_day=2, syringes=56), NM),
        (dose(mg=100, syringes=56), NM),  # quantity above 28 syringes / 28 days
        (dose(mg=None, per_day=None, syringes=None), U),
        (dose(mg=100, per_day=0.5, syringes=14), M),
    ],
)
def test_initiation_5a_quantity_limit(d, expected):
    assert outcome(case(order_facts=order(dose_facts=d)), "initiation.5.a") is expected


def test_initiation_5c_compendia_dose_above_limit_needs_evidence():
    d = decide(still_case(order_facts=order(dose_facts=dose(mg=200, syringes=56))))
    assert node(d, "initiation.5.b").outcome is NM
    assert node(d, "initiation.5.c").outcome is U
    assert node(d, "initiation.5").outcome is U


def test_initiation_5d_unknown_indication():
    d = decide(case(diagnoses=(), order_facts=order(dose_facts=dose(mg=200, syringes=56))))
    assert node(d, "initiation.5.d").outcome is U


@pytest.mark.parametrize(
    "weight, mg, weight_days, expected",
    [
        (20.0, 100, 10, M),  # 5 mg/kg
        (20.0, 160, 10, M),  # 8 mg/kg: at the maximum
        (20.0, 200, 10, NM),  # 10 mg/kg
        (None, 100, 10, U),  # no weight
        (20.0, 100, 200, U),  # weight too old
    ],
)
def test_dosage_nomid_dira_weight_based(weight, mg, weight_days, expected):
    syringes = 28 if mg <= 100 else 56
    c = nomid_case(
        weight_kg=weight, weight_days_ago=weight_days, order_facts=order(dose_facts=dose(mg=mg, syringes=syringes))
    )
    d = decide(c)
    assert node(d, "dosage.nomid-dira").outcome is expected
    kinds = [f.kind for f in d.findings]
    if expected is NM:
        assert "weight-dose" in kinds
    if expected is U:
        assert "missing-weight" in kinds and d.determination.value == "conditional"


def test_dosage_nomid_dira_infant_weight_window_is_shorter():
    assert outcome(nomid_case(age=1, weight_days_ago=45), "dosage.nomid-dira") is U
    assert outcome(nomid_case(age=5, weight_days_ago=45), "dosage.nomid-dira") is M


def test_dosage_nomid_dira_not_applicable_to_ra():
    assert outcome(case(), "dosage.nomid-dira") is NA


@pytest.mark.parametrize(
    "d, expected",
    [
        (dose(), M),
        (dose(mg=50), NM),
        (dose(route="intravenous"), NM),
        (dose(mg=100, per_day=0.5, syringes=14), M),
        (dose(mg=None, per_day=None), U),
    ],
)
def test_dosage_ra(d, expected):
    assert outcome(case(order_facts=order(dose_facts=d)), "dosage.ra") is expected


def test_dosage_ra_not_applicable_elsewhere():
    assert outcome(nomid_case(), "dosage.ra") is NA


@pytest.mark.parametrize(
    "d, single, expected",
    [
        (dose(), True, M),
        (dose(mg=20), True, M),  # discard the rest: still one syringe per dose
        (dose(mg=50, syringes=14), True, NM),  # 14 syringes for 28 daily doses: a syringe reused
        (dose(mg=200, syringes=28), True, NM),  # 2 syringes per dose
        (dose(), False, U),
    ],
)
def test_dosage_form(d, single, expected):
    c = case(order_facts=order(dose_facts=d, single_syringe=single))
    dec = decide(c)
    assert node(dec, "dosage.form").outcome is expected
    if d.mg_per_dose == 20:
        assert "discard" in node(dec, "dosage.form").note


# -------------------------------------------------------------------------------- renal (advice)


def renal_case(labs, age=70, sex="female", weight=58.0, d=None):
    return case(
        age=age,
        sex=sex,
        weight_kg=weight,
        labs=(*labs, lab("anc", 4.0, "10*3/uL", 5)),
        order_facts=order(dose_facts=d or dose()),
    )


@pytest.mark.parametrize(
    "labs, age, sex, weight, expected, method",
    [
        ((lab("creatinine", 2.1, "mg/dL"),), 70, "female", 58.0, NM, "Cockcroft-Gault"),  # 22.8 mL/min
        ((lab("creatinine", 2.1, "mg/dL"),), 70, "male", 58.0, NM, "Cockcroft-Gault"),  # 26.9 mL/min
        ((lab("creatinine", 1.6, "mg/dL"),), 70, "male", 58.0, M, "Cockcroft-Gault"),  # 35.2 mL/min
        ((lab("creatinine", 1.6, "mg/dL"),), 70, "female", 58.0, NM, "Cockcroft-Gault"),  # 29.96: below 30, unrounded
        ((lab("crcl", 25, "mL/min"),), 70, "female", 58.0, NM, "measured"),
        ((lab("crcl", 45, "mL/min"), lab("creatinine", 3.0, "mg/dL")), 70, "female", 58.0, M, "measured"),
        ((lab("creatinine", 0.8, "mg/dL"),), 50, "female", 70.0, M, "Cockcroft-Gault"),
        ((lab("egfr", 20, "mL/min/{1.73_m2}"),), 70, "female", 58.0, U, None),  # eGFR is not CrCl
        ((lab("creatinine", 2.1, "mg/dL"),), 70, "female", None, U, None),  # no weight
        ((lab("creatinine", 2.1, "mg/dL"),), 12, "female", 40.0, U, None),  # child: CG not used
        ((lab("creatinine", 4.0, "mg/dL"),), 70, None, 58.0, NM, "Cockcroft-Gault"),  # both sexes below 30
    ],
)
def test_dosage_renal(labs, age, sex, weight, expected, method):
    d = decide(renal_case(labs, age, sex, weight))
    n = node(d, "dosage.renal")
    assert n.outcome is expected
    if method:
        assert method in n.note
    baseline = decide(renal_case((), age, sex, weight))
    assert d.determination is baseline.determination  # advice never changes coverage
    assert ("renal" in [f.kind for f in d.findings]) is (expected is NM)


def test_dosage_renal_cockcroft_gault_value_and_evidence():
    n = node(decide(renal_case((lab("creatinine", 2.1, "mg/dL"),))), "dosage.renal")
    assert "22.8" in n.note
    formula = n.evidence[0].description
    assert "(140 - 70) x 58 / (72 x 2.1) x 0.85" in formula


def test_dosage_renal_egfr_shown_but_not_used():
    n = node(
        decide(renal_case((lab("egfr", 20, "mL/min/{1.73_m2}"), lab("creatinine", 0.7, "mg/dL")), age=40, weight=80.0)),
        "dosage.renal",
    )
    assert n.outcome is M
    assert any("eGFR" in e.description for e in n.evidence)


def test_dosage_renal_every_other_day_already():
    d = decide(renal_case((lab("crcl", 20, "mL/min"),), d=dose(mg=100, per_day=0.5, syringes=14)))
    assert node(d, "dosage.renal").outcome is M
    assert "renal" not in [f.kind for f in d.findings]
