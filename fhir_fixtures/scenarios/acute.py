"""Hospital indications: COVID-19 (EUA) and MIS-C."""

from __future__ import annotations

from ..building_blocks import Fixture, draft_anakinra, expect, practitioner_user, role_user
from ..chart import DETECTED, Chart, Therapy
from ..codes import DRUGS, US_CORE
from ..datatypes import coding, concept, diagnosis_concept, dt, quantity, ref, route_concept

COVID_DX = {
    "icd": "U07.1",
    "icd_display": "COVID-19",
    "snomed": "840539006",
    "snomed_display": "COVID-19",
    "text": "COVID-19",
}
PNEUMONIA_DX = {
    "icd": "J12.82",
    "icd_display": "Pneumonia due to coronavirus disease 2019",
    "text": "COVID-19 pneumonia",
}


def s_covid_inpatient() -> Fixture:
    slug = "covid-inpatient"
    chart = Chart(slug)
    chart.add_patient(
        given="Raymond",
        family="Thibodeaux",
        gender="male",
        birth="1967-08-09",
        city="Pensacola",
        zipcode="32599",
        phone="(850) 555-0118",
        mrn="E1000118",
    )
    chart.add_prescriber(
        specialty="infectious-disease",
        given="Yusuf",
        family="Karimi",
        gender="male",
        org="Synthetic Regional Medical Center",
        suffix="id",
    )
    chart.add_coverage()
    enc = chart.add_encounter(kind="IMP", start="2026-02-28", clock="22:40:00", reason=COVID_DX)
    chart.add_condition(COVID_DX, onset="2026-02-25", encounter=enc)
    chart.add_condition(PNEUMONIA_DX, onset="2026-02-28", suffix="dx-pna", encounter=enc, primary=False)
    chart.add_lab("sars-cov-2-pcr", DETECTED, "2026-02-28", suffix="sars-1", clock="23:05:00", interpretation="POS")
    chart.add_weight(92.0, "kg", "2026-02-28", suffix="wt-1")
    chart.add_lab("creatinine", 1.04, "2026-03-01", suffix="cr-1", clock="05:30:00")
    chart.add_lab("anc", 6.3, "2026-03-01", suffix="anc-1", clock="05:31:00")
    chart.add_lab("crp", 142.0, "2026-03-01", suffix="crp-1", clock="05:32:00", interpretation="H")
    chart.add(
        {
            "resourceType": "Procedure",
            "id": chart.rid("proc-o2"),
            "meta": {"profile": [US_CORE + "us-core-procedure"]},
            "status": "in-progress",
            "code": concept(
                coding("snomed", "57485005", "Oxygen therapy"),
                text="Supplemental oxygen, low-flow nasal cannula 4 L/min",
            ),
            "subject": ref(chart.patient),
            "encounter": ref(enc),
            "performedPeriod": {"start": dt("2026-02-28", "23:20:00")},
            "reasonCode": [diagnosis_concept(PNEUMONIA_DX)],
        }
    )
    draft = draft_anakinra(
        chart,
        category="inpatient",
        syringes=10,
        supply_days=10,
        refills=0,
        bounds_days=10,
        course="acute",
        reason=COVID_DX,
        sig="Inject 100 mg subcutaneously once daily for 10 days",
    )
    return Fixture(
        slug,
        "order-sign",
        "Hospitalised 58-year-old man (Encounter IMP in-progress), SARS-CoV-2 PCR 94500-6 Detected, COVID-19 "
        "pneumonia (J12.82) on low-flow oxygen (Procedure 57485005). Draft: 100 mg SC daily for 10 days, "
        "category inpatient; userId is a Practitioner (infectious disease). The guideline contradicts itself: "
        "Table 1 covers COVID-19 only for a hospitalised member (EUA), while the position statement calls a "
        "provider-administered setting not medically necessary. We read the position statement as not applying "
        "to an indication that itself requires hospitalisation (position.site-of-care not applicable, the "
        "conflict explained in the trace, no 'self-administer instead' card for a hypoxic inpatient). Criteria "
        "1-3 and 6 are met by the chart; 4 (risk of progressing to respiratory failure) and 5 (likely elevated "
        "suPAR: no LOINC code exists, nothing in the chart) need documentation, so the decision is conditional.",
        expect(
            "conditional",
            ["documentation"],
            ["table1.covid-19.4", "table1.covid-19.5"],
            "COVID-19 under the EUA: hospitalised, positive direct test, pneumonia on oxygen and 100 mg x 10 days "
            "are shown; risk of progression and likely elevated suPAR need records. Approval would be 1 month "
            "(initiation.duration).",
        ),
        chart,
        practitioner_user(chart),
        [draft],
    )


MISC_DX = {
    "icd": "M35.81",
    "icd_display": "Multisystem inflammatory syndrome",
    "snomed": "895448002",
    "snomed_display": "Multisystem inflammatory syndrome in children (MIS-C)",
    "text": "Multisystem inflammatory syndrome in children (MIS-C) associated with SARS-CoV-2",
}


def s_misc_child() -> Fixture:
    slug = "misc-child"
    chart = Chart(slug)
    chart.add_patient(
        given="Zara",
        family="Pemberton-Ruiz",
        gender="female",
        birth="2016-10-12",
        city="Miami",
        zipcode="33299",
        phone="(305) 555-0119",
        mrn="E1000119",
    )
    chart.add_prescriber(
        specialty="pediatric-rheumatology",
        given="Oluwaseun",
        family="Hartigan",
        org="Synthetic Children's Hospital",
        suffix="peds-rheum",
    )
    chart.add_coverage(relationship="child", plan_name="Florida Blue PPO (family)")
    enc = chart.add_encounter(kind="IMP", start="2026-02-26", clock="03:15:00", reason=MISC_DX)
    chart.add_condition(MISC_DX, onset="2026-02-25", encounter=enc)
    chart.add_condition(
        COVID_DX, onset="2026-01-29", suffix="dx-covid", status="resolved", abatement="2026-02-09", primary=False
    )
    chart.add_lab("sars-cov-2-pcr", DETECTED, "2026-01-29", suffix="sars-1", clock="14:20:00", interpretation="POS")
    chart.add_weight(30.0, "kg", "2026-02-26", suffix="wt-1")
    chart.add_lab("crp", 182.0, "2026-02-26", suffix="crp-0", clock="04:00:00", interpretation="H")
    chart.add_lab("crp", 215.0, "2026-03-01", suffix="crp-1", clock="05:00:00", interpretation="H")
    chart.add_lab("anc", 9.8, "2026-03-01", suffix="anc-1", clock="05:01:00", interpretation="H")
    chart.add_lab("creatinine", 0.52, "2026-03-01", suffix="cr-1", clock="05:02:00")
    refractory = "Inadequate response: persistent fever and rising CRP after IVIG 2 g/kg and IV methylprednisolone"
    for therapy in (
        Therapy(
            "ivig",
            "2026-02-26",
            "2026-02-26",
            "completed",
            refractory,
            category="inpatient",
            course="acute",
            refills=0,
            encounter=enc,
        ),
        Therapy(
            "methylprednisolone",
            "2026-02-26",
            "2026-03-01",
            "stopped",
            refractory,
            category="inpatient",
            course="acute",
            refills=0,
            encounter=enc,
        ),
    ):
        chart.add_therapy(therapy)
        drug = DRUGS[therapy.drug]
        chart.add(
            {
                "resourceType": "MedicationAdministration",
                "id": chart.rid(f"madm-{therapy.drug}"),
                "status": "completed",
                "medicationCodeableConcept": concept(coding("rxnorm", drug["rx"], drug["display"]), text=drug["text"]),
                "subject": ref(chart.patient),
                "context": ref(enc),
                "effectivePeriod": {"start": dt(therapy.start, "10:00:00"), "end": dt(therapy.end, "22:00:00")},
                "performer": [{"actor": ref(chart.prescriber_role)}],
                "request": {"reference": f"MedicationRequest/{chart.rid('mr-' + therapy.drug)}"},
                "dosage": {
                    "text": drug["sig"],
                    "route": route_concept(drug["route"]),
                    "dose": quantity(drug["dose"], drug["unit"]),
                },
            }
        )
    draft = draft_anakinra(
        chart,
        category="inpatient",
        syringes=28,
        refills=0,
        course="acute",
        reason=MISC_DX,
        sig="Inject 100 mg (3.3 mg/kg) subcutaneously once daily",
    )
    return Fixture(
        slug,
        "order-sign",
        "9-year-old girl hospitalised (Encounter IMP) with MIS-C (M35.81) four weeks after COVID-19 (U07.1 "
        "resolved; SARS-CoV-2 PCR positive 2026-01-29). IVIG 2 g/kg and IV methylprednisolone given "
        "(MedicationAdministration + MedicationRequest + MedicationStatement) without response: CRP 182 -> 215 "
        "mg/L. Pediatric rheumatologist; draft 100 mg SC daily (3.3 mg/kg), category inpatient. Every "
        "table1.mis-c criterion is shown by the chart (age < 18, prior infection, hospitalised, refractory to IVIG "
        "and glucocorticoids: stop reasons 'Inadequate response', CRP rising). As for covid-inpatient, the position "
        "statement on provider-administered settings is read as not applying to an indication that requires "
        "hospitalisation. MIS-C criteria need no medical records beyond the chart, the pediatric rheumatologist is "
        "a specialist for MIS-C, 100 mg daily is within initiation.5.a, and MIS-C is not an FDA-labeled indication "
        "(initiation.1.c.ii does not apply): covered, for 1 month.",
        expect(
            "covered",
            ["none"],
            ["table1.mis-c"],
            "Every table1.mis-c criterion is shown by the chart; approval for 1 month (initiation.duration).",
        ),
        chart,
        role_user(chart),
        [draft],
    )
