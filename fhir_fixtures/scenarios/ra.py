"""Rheumatoid arthritis scenarios: step therapy, combinations, dose and quantity, site of care,
specialist, renal function, allergy, continuation and plan programs.
"""

from __future__ import annotations

from ..building_blocks import (
    INADEQUATE,
    TIMELINE,
    Fixture,
    draft_anakinra,
    expect,
    ra_complete_chart,
    ra_history,
    ra_patient,
    role_user,
    standard_labs,
)
from ..chart import LABS, Chart, Therapy, practitioner_display
from ..codes import AUTHORED_ON, DRUGS, US_CORE
from ..datatypes import coding, concept, dt, quantity, ref


def s_ra_complete() -> Fixture:
    chart = ra_complete_chart("ra-complete", mrn_no=1000101, given="Maria Elena", family="Alvarez")
    chart.add_immunization("187", "zoster vaccine recombinant, adjuvanted", "2025-01-13", suffix="imm-rzv")
    return Fixture(
        "ra-complete",
        "order-sign",
        "Seropositive RA (M05.79), 51-year-old woman. Methotrexate 20-25 mg weekly for 6 months, then Humira, "
        "Enbrel and Xeljanz each 4-5 months, all stopped for inadequate response; rheumatologist prescriber; "
        "commercial PPO; weight and ANC two weeks old. Draft: 100 mg SC daily, 28 syringes/28 days, self-administered.",
        expect(
            "covered",
            ["none"],
            ["table1.ra.1.a", "table1.ra.2.a"],
            "Every initiation clause is met: methotrexate >= 3 months (table1.ra.1.a), three preferred products "
            ">= 3 months each (table1.ra.2.a), rheumatologist, no contraindication or combination, 100 mg daily "
            "within the quantity limit.",
        ),
        chart,
        role_user(chart),
        [draft_anakinra(chart)],
    )


def s_ra_missing_preferred() -> Fixture:
    chart = ra_patient(
        Chart("ra-missing-preferred"),
        given="Denise",
        family="Whitfield",
        gender="female",
        birth="1968-10-03",
        mrn_no=1000102,
        city="Orlando",
        zipcode="32899",
    )
    ra_history(chart, ["humira"], record=("statement",))
    standard_labs(chart, weight_kg=165, weight_unit="lb")
    return Fixture(
        "ra-missing-preferred",
        "order-sign",
        "Seropositive RA; methotrexate 6 months (inadequate response), then only Humira (4 months, inadequate "
        "response). History recorded as MedicationStatements only; weight in pounds.",
        expect(
            "conditional",
            ["step-therapy"],
            ["table1.ra.2"],
            "Only one preferred product tried: table1.ra.2 (three preferred products, or the listed "
            "intolerance/contraindication alternatives) is not shown by the chart; records or a step-therapy "
            "exemption are needed.",
        ),
        chart,
        role_user(chart),
        [draft_anakinra(chart)],
    )


def s_ra_on_humira() -> Fixture:
    chart = ra_patient(
        Chart("ra-on-humira"),
        given="Gregory",
        family="Lindqvist",
        gender="male",
        birth="1971-06-25",
        mrn_no=1000103,
        prescriber=("Samuel", "Achterberg", "male"),
    )
    ra_history(chart, ["enbrel", "xeljanz", "rinvoq"], active="humira")
    standard_labs(chart, weight_kg=88.2)
    return Fixture(
        "ra-on-humira",
        "order-sign",
        "RA with methotrexate, Enbrel, Xeljanz and Rinvoq each stopped for inadequate response (step therapy met), "
        "but Humira (a TNF antagonist) started 2025-10-06 is still active (MedicationStatement and "
        "MedicationRequest active). Anakinra would be added to Humira.",
        expect(
            "not-covered",
            ["combination"],
            ["initiation.4", "precautions.tnf"],
            "Anakinra with an active TNF antagonist (adalimumab) is a prohibited combination (initiation.4) and "
            "a labeled precaution (precautions.tnf).",
        ),
        chart,
        role_user(chart),
        [draft_anakinra(chart)],
    )


def s_ra_on_tofacitinib() -> Fixture:
    chart = ra_patient(
        Chart("ra-on-tofacitinib"),
        given="Priya",
        family="Raman",
        gender="female",
        birth="1980-11-11",
        mrn_no=1000104,
        city="Tampa",
        zipcode="33699",
    )
    ra_history(chart, ["humira", "enbrel", "rinvoq"], active="xeljanz")
    standard_labs(chart, weight_kg=61.0)
    return Fixture(
        "ra-on-tofacitinib",
        "order-sign",
        "RA with methotrexate, Humira, Enbrel and Rinvoq stopped for inadequate response; Xeljanz (tofacitinib, "
        "a JAK inhibitor) active since 2025-10-06.",
        expect(
            "not-covered",
            ["combination"],
            ["initiation.4"],
            "Anakinra with an active JAK inhibitor (tofacitinib) is a prohibited combination (initiation.4).",
        ),
        chart,
        role_user(chart),
        [draft_anakinra(chart)],
    )


def s_dose_200mg() -> Fixture:
    chart = ra_patient(
        Chart("dose-200mg"), given="Harold", family="Bexley", gender="male", birth="1962-02-14", mrn_no=1000105
    )
    ra_history(chart, ["humira", "enbrel", "xeljanz"], record=("request",))
    standard_labs(chart, weight_kg=94.0)
    draft = draft_anakinra(chart, dose_mg=200, syringes=56, sig="Inject 200 mg (2 syringes) subcutaneously once daily")
    return Fixture(
        "dose-200mg",
        "order-sign",
        "RA with complete step therapy (history as MedicationRequests only). Draft: 200 mg SC once daily, "
        "56 syringes per 28 days. The RA labeled dose is 100 mg/day, so initiation.5.a fails; 5.b-5.d allow a "
        "higher dose only with records (3-month trial of the maximum dose, compendia or trial evidence).",
        expect(
            "conditional",
            ["dose"],
            ["initiation.5.a"],
            "Dose above 100 mg daily and above the 28-syringe quantity limit (initiation.5.a); an exception "
            "under initiation.5.b needs records.",
        ),
        chart,
        role_user(chart),
        [draft],
    )


def s_qty_56() -> Fixture:
    chart = ra_complete_chart(
        "qty-56-syringes", mrn_no=1000106, given="Lucinda", family="Marchetti", birth="1977-07-07"
    )
    draft = draft_anakinra(chart, syringes=56)
    return Fixture(
        "qty-56-syringes",
        "order-sign",
        "RA complete history; draft 100 mg SC once daily but dispense 56 syringes per 28 days (twice what the "
        "dose uses).",
        expect(
            "conditional",
            ["dose"],
            ["initiation.5.a"],
            "The quantity limit is 28 syringes of 100 mg per 28 days (initiation.5.a).",
        ),
        chart,
        role_user(chart),
        [draft],
    )


def s_office_administered() -> Fixture:
    chart = ra_complete_chart(
        "office-administered", mrn_no=1000107, given="Theodore", family="Quintero", gender="male", birth="1966-12-01"
    )
    chart.encounter["type"] = [concept(text="Rheumatology clinic visit with in-office injection")]
    performer = ref(chart.prescriber, practitioner_display(chart.prescriber))
    draft = draft_anakinra(
        chart,
        category="outpatient",
        performer=performer,
        sig="Administer 100 mg subcutaneously once daily in the rheumatology clinic by nursing staff",
        note="Clinic-administered: patient declines self-injection.",
    )
    return Fixture(
        "office-administered",
        "order-sign",
        "RA complete history, but the draft is category outpatient with a Practitioner performer: the clinic "
        "would administer the drug (physician office setting).",
        expect(
            "not-covered",
            ["site-of-care"],
            ["position.site-of-care"],
            "Kineret is approved for self-administration; a provider-administered setting (physician office) "
            "is not medically necessary (position statement).",
        ),
        chart,
        role_user(chart),
        [draft],
    )


def s_order_select_ra() -> Fixture:
    chart = ra_patient(
        Chart("order-select-ra"),
        given="Cornelius",
        family="Adebayo",
        gender="male",
        birth="1975-08-08",
        mrn_no=1000114,
        prescriber=("Ingrid", "Solberg", "female"),
    )
    ra_history(chart, ["enbrel"])
    standard_labs(chart, weight_kg=79.0)
    draft = draft_anakinra(chart)
    lab_order = {
        "resourceType": "ServiceRequest",
        "id": chart.rid("draft-anc"),
        "status": "draft",
        "intent": "order",
        "category": [concept(coding("snomed", "108252007", "Laboratory procedure"))],
        "code": concept(coding("loinc", "751-8", LABS["anc"]["display"]), text="Absolute neutrophil count"),
        "subject": ref(chart.patient),
        "encounter": ref(chart.encounter),
        "authoredOn": AUTHORED_ON,
        "requester": ref(chart.prescriber_role, practitioner_display(chart.prescriber)),
        "reasonCode": [concept(text="Baseline neutrophil count before anakinra")],
    }
    return Fixture(
        "order-select-ra",
        "order-select",
        "order-select with selections = [the anakinra draft]; draftOrders also holds an unselected draft "
        "ServiceRequest (ANC). RA after methotrexate and only Enbrel among the preferred products.",
        expect(
            "conditional",
            ["step-therapy"],
            ["table1.ra.2"],
            "Preview: step therapy not shown (one preferred product). order-select never asks for "
            "documentation (no doc-needed / info-needed).",
        ),
        chart,
        role_user(chart),
        [draft, lab_order],
        selections=[f"MedicationRequest/{draft['id']}"],
    )


def s_ra_no_specialist() -> Fixture:
    chart = ra_patient(
        Chart("ra-no-specialist"),
        given="Darlene",
        family="Pettigrew",
        gender="female",
        birth="1964-09-09",
        mrn_no=1000115,
        specialty="family-medicine",
        prescriber=("Marcus", "Ellison", "male"),
        org="Synthetic Family Medicine of Ocala",
        city="Ocala",
        zipcode="34499",
    )
    ra_history(chart, ["humira", "enbrel", "xeljanz"], record=("statement",), source="patient")
    standard_labs(chart, weight_kg=70.2)
    return Fixture(
        "ra-no-specialist",
        "order-sign",
        "RA complete history (reported by the patient from outside records, MedicationStatements only); the "
        "prescriber is a family physician (NUCC 207Q00000X) and nothing in the chart shows a rheumatology "
        "consultation.",
        expect(
            "conditional",
            ["documentation"],
            ["initiation.2"],
            "initiation.2: the prescriber must be, or have consulted, a specialist (rheumatologist for RA); "
            "attestation of a consult is needed.",
        ),
        chart,
        role_user(chart),
        [draft_anakinra(chart)],
    )


def s_ra_renal() -> Fixture:
    chart = ra_patient(
        Chart("ra-renal-crcl-25"),
        given="Evelyn",
        family="Castellanos",
        gender="female",
        birth="1955-11-20",
        mrn_no=1000116,
        city="Sarasota",
        zipcode="34299",
    )
    ra_history(chart, ["humira", "enbrel", "xeljanz"])
    chart.add_condition(
        {
            "icd": "N18.4",
            "icd_display": "Chronic kidney disease, stage 4 (severe)",
            "text": "Chronic kidney disease, stage 4",
        },
        onset="2024-11-04",
        suffix="dx-ckd",
        primary=False,
    )
    standard_labs(chart, weight_kg=58.0, creatinine=2.1)
    chart.add_lab("creatinine", 1.9, "2025-08-18", suffix="cr-0")
    chart.add_immunization("187", "zoster vaccine recombinant, adjuvanted", "2024-10-02", suffix="imm-rzv")
    return Fixture(
        "ra-renal-crcl-25",
        "order-sign",
        "RA complete history; 70-year-old woman, serum creatinine 2.1 mg/dL and weight 58 kg (2026-02-16), CKD "
        "stage 4 on the problem list. Cockcroft-Gault: (140-70) x 58 / (72 x 2.1) x 0.85 = 22.8 mL/min.",
        expect(
            "covered",
            ["renal"],
            ["dosage.renal"],
            "Covered (every initiation clause met) with a renal-dosing finding: CrCl < 30 mL/min, consider the "
            "dose every other day (dosage.renal).",
        ),
        chart,
        role_user(chart),
        [draft_anakinra(chart)],
    )


def s_ra_allergy() -> Fixture:
    chart = ra_complete_chart(
        "ra-anakinra-allergy", mrn_no=1000117, given="Franklin", family="Osei-Mensah", gender="male", birth="1969-02-07"
    )
    chart.add_allergy(
        suffix="ai-anakinra",
        code=concept(coding("rxnorm", "72435", "anakinra"), text="Kineret (anakinra)"),
        kind="allergy",
        criticality="high",
        onset="2019-06-11",
        manifestation=concept(coding("snomed", "39579001", "Anaphylaxis"), text="Anaphylaxis"),
        severity="severe",
        note="Anaphylaxis within minutes of the second Kineret dose in 2019 (outside practice); "
        "treated with epinephrine in the emergency department.",
    )
    return Fixture(
        "ra-anakinra-allergy",
        "order-sign",
        "RA complete history, but an active, confirmed, high-criticality allergy to anakinra (RxNorm 72435) with "
        "anaphylaxis in 2019.",
        expect(
            "not-covered",
            ["contraindication"],
            ["initiation.3", "precautions.contraindication"],
            "Known hypersensitivity to anakinra is the labeled contraindication (precautions.contraindication), "
            "so initiation.3 is not met.",
        ),
        chart,
        role_user(chart),
        [draft_anakinra(chart)],
    )


def s_ra_continuation() -> Fixture:
    slug = "ra-continuation"
    chart = ra_patient(
        Chart(slug),
        given="Josephine",
        family="Abernathy-Cole",
        gender="female",
        birth="1972-12-05",
        mrn_no=1000120,
        subscriber_id="MBR-RA-CONT-001",
        dx_onset="2022-06-13",
    )
    # Step therapy a year earlier than the other RA charts, then anakinra since March 2025.
    shifted = [
        ("methotrexate", "2023-01-09", "2023-07-14"),
        ("humira", "2023-07-21", "2023-12-01"),
        ("enbrel", "2023-12-08", "2024-04-12"),
        ("xeljanz", "2024-04-19", "2025-02-28"),
    ]
    for drug, start, end in shifted:
        chart.add_therapy(Therapy(drug, start, end, "stopped", INADEQUATE))
    kineret_rx = chart.add_therapy(
        Therapy(
            "kineret",
            "2025-03-12",
            None,
            "active",
            refills=11,
            asserted="2026-03-02",
            note="Good clinical response: DAS28-CRP 5.6 -> 2.4 at 6 months.",
        )
    )
    order = next(r for r in kineret_rx if r["resourceType"] == "MedicationRequest")
    for i, when in enumerate(["2025-12-10", "2026-01-07", "2026-02-04"]):
        chart.add(
            {
                "resourceType": "MedicationDispense",
                "id": chart.rid(f"md-kineret-{i + 1}"),
                "meta": {"profile": [US_CORE + "us-core-medicationdispense"]},
                "status": "completed",
                "medicationCodeableConcept": concept(
                    coding("rxnorm", "727714", DRUGS["kineret"]["display"]),
                    coding("ndc", "66658023428", "Kineret 100 MG/0.67ML Prefilled Syringe, carton of 28"),
                    text=DRUGS["kineret"]["text"],
                ),
                "subject": ref(chart.patient),
                "authorizingPrescription": [ref(order)],
                "type": concept(coding("act", "RF", "Refill")),
                "quantity": quantity(28, "syringe", "{syringe}"),
                "daysSupply": quantity(28, "days", "d"),
                "whenPrepared": dt(when, "10:00:00"),
                "whenHandedOver": dt(when, "15:30:00"),
                "dosageInstruction": [{"sequence": 1, "text": DRUGS["kineret"]["sig"]}],
            }
        )
    chart.add(
        {
            "resourceType": "ClaimResponse",
            "id": chart.rid("pa-2025"),
            "identifier": [{"system": "urn:oid:2.16.840.1.113883.3.9999.3", "value": "PA-2025-0310-0042"}],
            "status": "active",
            "type": concept(coding("claim-type", "pharmacy", "Pharmacy")),
            "use": "preauthorization",
            "patient": ref(chart.patient),
            "created": "2025-03-10T13:02:00-05:00",
            "insurer": {"display": "Florida Blue"},
            "requestor": ref(chart.prescriber_role),
            "outcome": "complete",
            "disposition": "Approved: Kineret (anakinra) 100 mg/0.67 mL, 28 syringes per 28 days, "
            "initial authorization for rheumatoid arthritis (12 months)",
            "preAuthRef": "PA-2025-0310-0042",
            "preAuthPeriod": {"start": "2025-03-10", "end": "2026-03-09"},
        }
    )
    standard_labs(chart, weight_kg=66.1)
    draft = draft_anakinra(chart, rxnorm="727714", refills=11)
    return Fixture(
        slug,
        "order-sign",
        "RA on anakinra since March 2025 (active MedicationRequest and MedicationStatement, three monthly "
        "dispenses within the last 90 days) after complete step therapy in 2023-2025; the plan approved anakinra "
        "on 2025-03-10 (ClaimResponse preauthorization PA-2025-0310-0042, valid to 2026-03-09), subscriberId "
        "MBR-RA-CONT-001. The renewal draft is 100 mg daily, 28 syringes, 11 refills. initiation.1.a (treated "
        "within 90 days, not samples) is met; continuation.1-6 are also satisfied (benefit noted in the "
        "MedicationStatement).",
        expect(
            "covered",
            ["none"],
            ["initiation.1.a"],
            "Anakinra dispensed within the past 90 days (initiation.1.a); rheumatologist; no combination; "
            "dose within the limit.",
        ),
        chart,
        role_user(chart),
        [draft],
    )


def s_ra_mtx_intolerance() -> Fixture:
    chart = ra_patient(
        Chart("ra-mtx-intolerance"),
        given="Vivian",
        family="Marchbanks",
        gender="female",
        birth="1981-05-27",
        mrn_no=1000121,
        city="Daytona Beach",
        zipcode="32199",
    )
    chart.add_therapy(
        Therapy(
            "methotrexate",
            "2024-01-10",
            "2024-02-21",
            "stopped",
            "Adverse reaction: transaminases above 3x upper limit of normal",
            sig="Take 15 mg (6 tablets) by mouth once weekly",
        )
    )
    chart.add_allergy(
        suffix="ai-mtx",
        code=concept(coding("rxnorm", "6851", "methotrexate"), text="Methotrexate"),
        kind="intolerance",
        criticality="low",
        onset="2024-02-21",
        manifestation=concept(text="Elevated liver enzymes (ALT 146 U/L)"),
    )
    ra_history(chart, ["humira", "enbrel", "xeljanz"], mtx=False)
    standard_labs(chart, weight_kg=64.3)
    return Fixture(
        "ra-mtx-intolerance",
        "order-sign",
        "RA; methotrexate stopped after 6 weeks for hepatotoxicity (AllergyIntolerance type intolerance to "
        "methotrexate), so no 3-month methotrexate trial; then Humira, Enbrel and Xeljanz each >= 3 months with "
        "inadequate response.",
        expect(
            "covered",
            ["none"],
            ["table1.ra.1.c", "table1.ra.2.a"],
            "Intolerance to one conventional agent satisfies table1.ra.1.c; three preferred products satisfy "
            "table1.ra.2.a.",
        ),
        chart,
        role_user(chart),
        [draft_anakinra(chart)],
    )


def s_ra_preferred_2b() -> Fixture:
    chart = ra_patient(
        Chart("ra-preferred-2b"),
        given="Osvaldo",
        family="Kristiansen",
        gender="male",
        birth="1960-10-16",
        mrn_no=1000122,
        prescriber=("Helena", "Okafor", "female"),
    )
    start, end = TIMELINE["methotrexate"]
    chart.add_therapy(Therapy("methotrexate", start, end, "stopped", INADEQUATE))
    chart.add_therapy(Therapy("humira", "2024-07-22", "2024-12-02", "stopped", INADEQUATE))
    chart.add_therapy(
        Therapy(
            "enbrel",
            "2024-12-09",
            "2024-12-30",
            "stopped",
            "Adverse reaction: generalized urticaria and lip swelling after the third dose",
        )
    )
    chart.add_allergy(
        suffix="ai-etanercept",
        code=concept(coding("rxnorm", "214555", "etanercept"), text="Enbrel (etanercept)"),
        kind="allergy",
        criticality="high",
        onset="2024-12-30",
        manifestation=concept(text="Generalized urticaria with lip angioedema"),
        severity="moderate",
    )
    chart.add_therapy(Therapy("xeljanz", "2025-01-06", "2025-06-30", "stopped", INADEQUATE))
    chart.add_therapy(
        Therapy(
            "prednisone",
            "2025-06-30",
            None,
            "active",
            asserted="2026-03-02",
            sig="Take 5 mg by mouth once daily (bridge therapy)",
        )
    )
    standard_labs(chart, weight_kg=90.7)
    return Fixture(
        "ra-preferred-2b",
        "order-sign",
        "RA; methotrexate 6 months; Humira and Xeljanz >= 3 months with inadequate response; Enbrel stopped after "
        "3 weeks for a hypersensitivity reaction (urticaria, angioedema; AllergyIntolerance to etanercept).",
        expect(
            "covered",
            ["none"],
            ["table1.ra.1.a", "table1.ra.2.b"],
            "Two preferred products with inadequate response plus hypersensitivity to a third satisfies table1.ra.2.b.",
        ),
        chart,
        role_user(chart),
        [draft_anakinra(chart)],
    )


def s_ra_fep() -> Fixture:
    chart = ra_complete_chart(
        "ra-complete-fep",
        mrn_no=1000123,
        given="Clarence",
        family="Whitlock",
        gender="male",
        birth="1963-04-04",
        plan_name="Federal Employee Program (FEP)",
        plan_value="FEP-BASIC",
    )
    return Fixture(
        "ra-complete-fep",
        "order-sign",
        "The ra-complete chart, but the member is in the Federal Employee Program (Coverage class plan name "
        "'Federal Employee Program (FEP)'). The guideline's program exception says to follow FEP guidelines, so "
        "this guideline cannot decide: we expect conditional with the program exception cited.",
        expect(
            "conditional",
            ["program"],
            ["program.fep"],
            "FEP members follow FEP guidelines (program.fep), not 09-J0000-45.",
        ),
        chart,
        role_user(chart),
        [draft_anakinra(chart)],
    )


def s_ra_part_d() -> Fixture:
    chart = ra_complete_chart(
        "ra-complete-part-d",
        mrn_no=1000124,
        given="Mildred",
        family="Fairweather",
        birth="1952-08-30",
        sopt="122",
        plan_name="Florida Blue Medicare Part D Prescription Drug Plan",
        plan_value="PDP-S9999",
    )
    return Fixture(
        "ra-complete-part-d",
        "order-sign",
        "The ra-complete chart (73-year-old woman) with a stand-alone Medicare Part D plan (Source of Payment "
        "Typology 122). Coverage determinations for Part D are delegated to Prime Therapeutics: we expect "
        "conditional with the program exception cited.",
        expect(
            "conditional",
            ["program"],
            ["program.medicare-part-d"],
            "Medicare Part D determinations are delegated (program.medicare-part-d).",
        ),
        chart,
        role_user(chart),
        [draft_anakinra(chart)],
    )


def s_ra_medicare_advantage() -> Fixture:
    chart = ra_complete_chart(
        "ra-complete-medicare-advantage",
        mrn_no=1000125,
        given="Albert",
        family="Vukovich",
        gender="male",
        birth="1957-01-19",
        sopt="112",
        plan_name="Florida Blue Medicare Advantage PPO",
        plan_value="H9999-001",
    )
    return Fixture(
        "ra-complete-medicare-advantage",
        "order-sign",
        "The ra-complete chart with a Medicare Advantage PPO (Source of Payment Typology 112). No NCD/LCD exists "
        "(program.medicare-advantage), so this guideline applies as written and the chart meets it.",
        expect(
            "covered",
            ["none"],
            ["table1.ra.1.a", "table1.ra.2.a"],
            "Medicare Advantage: no NCD/LCD, the guideline applies; every initiation clause is met.",
        ),
        chart,
        role_user(chart),
        [draft_anakinra(chart)],
    )
