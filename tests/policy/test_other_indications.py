"""Table 1 'Other indications' (round 2): what the guideline itself names, CAPS beyond NOMID, CAR T-cell
toxicities, diagnoses the guideline does not name, and inpatient orders.

Table 1, Other indications: "The member has another FDA labeled indication or an indication supported in DrugDex
with 1 or 2a level of evidence, AHFS, or NCCN compendium recommended use 1 or 2a". Description: "The NCCN recommend
anakinra in a variety of scenarios for CAR T-cell-related toxicities"; "the FDA expanded the approval of anakinra to
include treatment of cryopyrin-associated periodic syndromes (CAPS), specifically neonatal-onset multisystem
inflammatory disease (NOMID)". Position statement: "coverage (i.e., administration) in a provider-administered
setting such as an outpatient hospital, ambulatory surgical suite, physician office, or emergency facility is not
considered medically necessary".
"""

from __future__ import annotations

import pytest

from tests.policy.builders import INPATIENT_ORDER, NM, M, U, case, decide, dx, node, order

HEME = ("hematology-oncology",)
T8082 = dict(code="T80.82XA")


def car_t(*diagnoses, setting=None, reasons=()):
    kw = {"setting": setting} if setting is not None else {}
    return case(
        age=62,
        weight_kg=77,
        medications=(),
        diagnoses=diagnoses,
        specialties=HEME,
        order_facts=order(reasons=reasons, **kw),
    )


ICANS = dx(("car-t-toxicity",), "T80.82XA", text="ICANS grade 3 after CAR T-cell therapy", kinds=("car_t_toxicity",))
T_CODE_ONLY = dx(("car-t-toxicity",), "T80.82XA", text="Complication of immune effector cellular therapy")
CRS_CODE = dx((), "D89.832", text="Cytokine release syndrome, grade 2", kinds=("car_t_toxicity",))
CRS_TEXT_ONLY = dx(("car-t-toxicity",), None, text="Cytokine release syndrome after CAR-T", kinds=("car_t_toxicity",))


# ------------------------------------------------------------------ CAR T-cell-related toxicities


def test_car_t_toxicity_named_with_the_listed_code_is_met_and_covered():
    """Chart car-t-iec-hs-home-taper-pass: the listed code and the named toxicity are the use the guideline names."""
    d = decide(car_t(ICANS))
    assert node(d, "table1.other").outcome is M
    assert d.determination.value == "covered"
    assert "car_t_toxicity_named_use" in d.readings
    assert "CAR T-cell-related toxicities" in node(d, "table1.other").note


@pytest.mark.parametrize(
    "diagnoses",
    [
        (T_CODE_ONLY,),  # any complication of immune effector cell therapy: no toxicity named
        (CRS_TEXT_ONLY,),  # the toxicity named, but not the listed code
    ],
)
def test_car_t_toxicity_without_the_code_or_the_named_toxicity_is_unknown(diagnoses):
    d = decide(car_t(*diagnoses))
    assert node(d, "table1.other").outcome is U
    assert d.determination.value == "conditional"
    assert any("compendia-supported use" in m.text for m in d.missing)


def test_car_t_toxicity_code_and_toxicity_on_separate_records_is_met():
    assert node(decide(car_t(T_CODE_ONLY, CRS_CODE)), "table1.other").outcome is M


def test_an_inpatient_car_t_order_is_provider_administered_not_covered():
    """Chart car-t-icans-t8082xa-pass (expectation changed): the position statement's settings are examples ('such
    as'); only COVID-19 and MIS-C, whose Table 1 rows require hospitalisation, are exempt."""
    d = decide(car_t(ICANS, setting=INPATIENT_ORDER))
    assert node(d, "table1.other").outcome is M
    assert node(d, "position.site-of-care").outcome is NM
    assert d.determination.value == "not-covered"
    assert "site_of_care_inpatient" in d.readings
    assert "such as" in node(d, "position.site-of-care").note
    card = next(f for f in d.findings if "position.site-of-care" in f.clause_ids)
    assert "such as" in card.detail  # the card says the reading


# ------------------------------------------------------------------ CAPS beyond NOMID

MWS = dx(("caps",), "M04.2", text="Muckle-Wells syndrome (CAPS, moderate phenotype)", from_order=True)
CAPS_CODE = dx(("caps",), "M04.2", text="Cryopyrin-associated periodic syndromes", from_order=True, possible=("nomid",))


def test_muckle_wells_is_not_nomid_and_caps_beyond_nomid_needs_compendia_documentation():
    """Chart nomid-m042-muckle-wells-not-nomid (was covered as an 'other indication' on the code alone)."""
    d = decide(case(age=40, weight_kg=78, medications=(), diagnoses=(), order_facts=order(reasons=(MWS,))))
    assert node(d, "table1.nomid").outcome is NM
    assert node(d, "table1.other").outcome is U
    assert node(d, "initiation.1.c.i").outcome is U and node(d, "initiation.1.c.i").combinator == "ANY"
    assert d.determination.value == "conditional"
    assert "other_indications_named_by_guideline" in d.readings
    assert any("DrugDex" in m.text and "cryopyrin" in m.text for m in d.missing)
    card = next(f for f in d.findings if f.kind == "documentation")
    assert "specifically neonatal-onset multisystem inflammatory disease (NOMID)" in card.detail


def test_m04_2_without_a_phenotype_asks_whether_it_is_nomid():
    d = decide(case(age=40, weight_kg=78, medications=(), diagnoses=(), order_facts=order(reasons=(CAPS_CODE,))))
    assert node(d, "table1.nomid").outcome is U
    assert any("neonatal-onset multisystem inflammatory disease (NOMID)" in m.text for m in d.missing)
    assert d.determination.value == "conditional"


def test_nomid_named_beside_caps_is_still_nomid_and_covered():
    nomid = dx(("nomid",), "M04.2", text="NOMID")
    d = decide(
        case(
            age=7,
            weight_kg=20,
            medications=(),
            diagnoses=(nomid,),
            specialties=("pediatric-rheumatology",),
            order_facts=order(reasons=(CAPS_CODE,)),
        )
    )
    assert d.indication == "nomid" and node(d, "table1.nomid").outcome is M
    assert d.determination.value == "covered"


@pytest.mark.parametrize("key", ["still", "schnitzler"])
def test_other_indications_the_guideline_names_by_code_stay_met(key):
    d = decide(
        case(
            diagnoses=(dx((key,), None, text=key),),
            medications=(),
            specialties=("rheumatology", "hematology-oncology", "allergy-immunology"),
        )
    )
    assert node(d, "table1.other").outcome is M
    assert "other_indications_named_by_guideline" not in d.readings


# ------------------------------------------------------------------ diagnoses the guideline does not name


@pytest.mark.parametrize(
    "reason",
    [
        dx((), "M10.9", text="Acute gout flare, right first MTP", from_order=True),
        dx((), "I30.0", text="Recurrent idiopathic pericarditis", from_order=True),
        dx((), "M17.11", text="Primary osteoarthritis, right knee", from_order=True),
    ],
)
def test_a_diagnosis_outside_table_1_evaluates_table1_other_and_says_what_decides_it(reason):
    """Charts gout-flare-not-named, recurrent-pericarditis-not-named, knee-osteoarthritis-not-named: table1.other
    was never evaluated."""
    d = decide(case(diagnoses=(), medications=(), order_facts=order(reasons=(reason,))))
    other = node(d, "table1.other")
    assert other.outcome is U
    assert reason.text in other.note and reason.source in {e.reference for e in other.evidence}
    assert any("DrugDex" in m.text and reason.text in m.text for m in other.missing)
    assert d.determination.value == "conditional"
    assert "other_indications_named_by_guideline" in d.readings


def test_no_diagnosis_at_all_asks_for_the_diagnosis_not_for_compendia():
    d = decide(case(diagnoses=(), medications=()))
    n = node(d, "initiation.1.c.i")
    assert n.outcome is U and not n.children and "diagnosis" in n.missing[0].text
    assert "other_indications_named_by_guideline" not in d.readings
