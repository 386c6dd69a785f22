"""NOMID and DIRA scenarios (weight-based paediatric dosing)."""

from __future__ import annotations

from ..building_blocks import Fixture, draft_anakinra, expect, practitioner_user, role_user
from ..chart import Chart


def pediatric_chart(
    slug: str,
    *,
    given: str,
    family: str,
    gender: str,
    birth: str,
    mrn_no: int,
    dx: dict,
    dx_onset: str,
    chart: Chart | None = None,
) -> Chart:
    chart = chart or Chart(slug)
    chart.add_patient(
        given=given,
        family=family,
        gender=gender,
        birth=birth,
        city="Gainesville",
        zipcode="32699",
        phone=f"(352) 555-01{mrn_no % 100:02d}",
        mrn=f"E{mrn_no:07d}",
    )
    chart.add_prescriber(
        specialty="pediatric-rheumatology",
        given="Anika",
        family="Vasquez-Lind",
        org="Synthetic Children's Hospital Pediatric Rheumatology",
        suffix="peds-rheum",
    )
    chart.add_coverage(relationship="child", plan_name="Florida Blue PPO (family)")
    chart.add_encounter(reason=dx, type_text="Pediatric rheumatology follow-up visit")
    chart.add_condition(dx, onset=dx_onset)
    return chart


NOMID_DX = {
    "icd": "M04.2",
    "icd_display": "Cryopyrin-associated periodic syndromes",
    "text": "Neonatal-onset multisystem inflammatory disease",
}
DIRA_DX = {
    "icd": "M04.8",
    "icd_display": "Other autoinflammatory syndromes",
    "text": "Deficiency of interleukin-1 receptor antagonist (DIRA), biallelic IL1RN mutation",
}


def nomid_chart(slug: str, mrn_no: int, given: str, family: str) -> Chart:
    chart = pediatric_chart(
        slug,
        given=given,
        family=family,
        gender="male",
        birth="2018-09-20",
        mrn_no=mrn_no,
        dx=NOMID_DX,
        dx_onset="2019-01-15",
    )
    chart.add_weight(44, "lb", "2026-02-02", suffix="wt-1")
    chart.add_weight(40, "lb", "2025-07-28", suffix="wt-0")
    chart.add_lab("anc", 3.6, "2026-02-02", suffix="anc-1")
    chart.add_lab("crp", 46.0, "2026-02-02", suffix="crp-1", clock="08:12:00", interpretation="H")
    chart.add_lab("creatinine", 0.41, "2026-02-02", suffix="cr-1", clock="08:13:00")
    chart.add_immunization("03", "MMR", "2019-09-23", suffix="imm-mmr")
    chart.add_immunization("21", "varicella", "2019-09-23", suffix="imm-var")
    return chart


def s_nomid_child_lb() -> Fixture:
    chart = nomid_chart("nomid-child-lb", 1000108, "Mateo", "Bellweather")
    return Fixture(
        "nomid-child-lb",
        "order-sign",
        "7-year-old boy with NOMID (M04.2, 'Neonatal-onset multisystem inflammatory disease'), pediatric "
        "rheumatologist (userId is a Practitioner). Weight 44 [lb_av] = 20.0 kg on 2026-02-02. Draft 100 mg SC "
        "daily = 5 mg/kg/day, within the 8 mg/kg/day maximum. Live vaccines (MMR, varicella) were given in 2019, "
        "long before treatment.",
        expect(
            "covered",
            ["none"],
            ["table1.nomid", "dosage.nomid-dira"],
            "NOMID is 'diagnosis only' (table1.nomid); 5 mg/kg/day is within the labeled maximum of 8 mg/kg/day "
            "(dosage.nomid-dira) and within 100 mg daily (initiation.5.a).",
        ),
        chart,
        practitioner_user(chart),
        [draft_anakinra(chart, rxnorm="727714")],
    )


def s_nomid_child_overdose() -> Fixture:
    chart = nomid_chart("nomid-child-overdose", 1000109, "Elias", "Fairbrook")
    draft = draft_anakinra(chart, dose_mg=200, syringes=56, sig="Inject 200 mg (2 syringes) subcutaneously once daily")
    return Fixture(
        "nomid-child-overdose",
        "order-sign",
        "Same clinical picture as nomid-child-lb (7 years, 44 lb = 20 kg) but the draft is 200 mg daily = "
        "10 mg/kg/day (56 syringes/28 days).",
        expect(
            "conditional",
            ["dose", "weight-dose"],
            ["initiation.5.a", "dosage.nomid-dira"],
            "10 mg/kg/day exceeds the labeled NOMID maximum of 8 mg/kg/day (dosage.nomid-dira) and 200 mg "
            "exceeds 100 mg daily / 28 syringes (initiation.5.a); initiation.5.b.ii needs records.",
        ),
        chart,
        role_user(chart),
        [draft],
    )


def s_dira_infant() -> Fixture:
    chart = pediatric_chart(
        "dira-infant-no-weight",
        given="Noor",
        family="Haddad-Brennan",
        gender="female",
        birth="2025-06-20",
        mrn_no=1000110,
        dx=DIRA_DX,
        dx_onset="2025-07-14",
    )
    chart.add_lab("crp", 88.0, "2026-02-23", suffix="crp-1", interpretation="H")
    chart.add_lab("anc", 5.2, "2026-02-23", suffix="anc-1", clock="08:11:00")
    draft = draft_anakinra(
        chart,
        dose_mg=20,
        syringes=28,
        refills=2,
        sig="Inject 20 mg (0.13 mL) subcutaneously once daily; discard the unused portion of each syringe",
    )
    return Fixture(
        "dira-infant-no-weight",
        "order-sign",
        "8-month-old girl with DIRA (M04.8), pediatric rheumatologist. No body weight anywhere in the chart. "
        "Draft: 20 mg SC daily from the 100 mg syringe, 28 syringes/28 days.",
        expect(
            "conditional",
            ["missing-weight"],
            ["dosage.nomid-dira"],
            "DIRA dosing is weight based (1-2 mg/kg to start, at most 8 mg/kg/day): without a weight the mg/kg "
            "dose cannot be checked, so the weight is requested (info needed).",
        ),
        chart,
        role_user(chart),
        [draft],
    )
