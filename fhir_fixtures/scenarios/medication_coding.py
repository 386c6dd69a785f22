"""Scenarios about how the drug is named: NDC codes through medicationReference, and a draft that
is not anakinra.
"""

from __future__ import annotations

from ..building_blocks import (
    Fixture,
    draft_anakinra,
    draft_requester,
    expect,
    practitioner_user,
    ra_complete_chart,
    ra_history,
    ra_patient,
    role_user,
    standard_labs,
)
from ..chart import Chart
from ..codes import AUTHORED_ON, DRUGS, RA_DX
from ..datatypes import coding, concept, diagnosis_concept, quantity, ref, route_concept


def s_medref_ndc() -> Fixture:
    chart = ra_complete_chart("medref-ndc", mrn_no=1000111, given="Rosalind", family="Eberhardt", birth="1970-04-22")
    contained = {
        "resourceType": "Medication",
        "id": "med1",
        "code": concept(
            coding("ndc", "66658-234-07", "Kineret 100 MG/0.67ML Prefilled Syringe"),
            text="KINERET 100 MG/0.67ML SC SOSY",
        ),
        "form": concept(text="Prefilled syringe"),
    }
    draft = draft_anakinra(
        chart, medication={"reference": "#med1", "display": "KINERET 100 MG/0.67ML SC SOSY"}, contained=contained
    )
    return Fixture(
        "medref-ndc",
        "order-sign",
        "RA complete history; the draft names the drug only through medicationReference '#med1' to a contained "
        "Medication coded with the 10-digit hyphenated NDC 66658-234-07.",
        expect(
            "covered",
            ["none"],
            ["table1.ra.1.a", "table1.ra.2.a"],
            "Same chart as ra-complete: covered once the contained Medication is recognised as anakinra.",
        ),
        chart,
        role_user(chart),
        [draft],
    )


def s_medref_prefetch_ndc11() -> Fixture:
    slug = "medref-prefetch-ndc11"
    chart = ra_patient(
        Chart(slug),
        given="Winston",
        family="Oyelaran",
        gender="male",
        birth="1959-01-30",
        mrn_no=1000112,
        encounter=False,
        city="Tallahassee",
        zipcode="32399",
    )
    meds = {
        name: chart.add_medication(
            suffix=f"med-{name}",
            codings=[coding("rxnorm", DRUGS[name]["rx"], DRUGS[name]["display"])],
            text=DRUGS[name]["text"],
        )
        for name in ("methotrexate", "humira", "enbrel", "xeljanz", "prednisone")
    }
    ra_history(chart, ["humira", "enbrel", "xeljanz"], medication_refs=meds)
    standard_labs(chart, weight_kg=83.5)
    kineret = chart.add_medication(
        suffix="med-kineret",
        codings=[coding("ndc", "66658023428", "Kineret 100 MG/0.67ML Prefilled Syringe")],
        text="KINERET 100 MG/0.67ML SC SOSY",
        manufacturer="Swedish Orphan Biovitrum AB (publ)",
        form="Prefilled syringe",
    )
    draft = draft_anakinra(chart, medication=ref(kineret, "KINERET 100 MG/0.67ML SC SOSY"))
    return Fixture(
        slug,
        "order-sign",
        "RA complete history, with every MedicationRequest (history and draft) using medicationReference to a "
        "Medication resource stored on the FHIR server; the medicationRequests prefetch carries them as "
        "search.mode=include entries. The draft's Medication is coded with the 11-digit unhyphenated NDC "
        "66658023428. No encounter in context (an e-prescription renewal queue); userId is a Practitioner.",
        expect(
            "covered",
            ["none"],
            ["table1.ra.1.a", "table1.ra.2.a"],
            "Covered once Medication/… is resolved (prefetch include or FHIR read) to anakinra.",
        ),
        chart,
        practitioner_user(chart),
        [draft],
    )


def s_non_anakinra() -> Fixture:
    chart = ra_patient(
        Chart("non-anakinra"),
        given="Beatrice",
        family="Nakamura-Holt",
        gender="female",
        birth="1983-03-19",
        mrn_no=1000113,
    )
    ra_history(chart, [], bridge=True)
    standard_labs(chart, weight_kg=58.9)
    draft = {
        "resourceType": "MedicationRequest",
        "id": chart.rid("draft"),
        "status": "draft",
        "intent": "order",
        "category": [concept(coding("mr-category", "community", "Community"))],
        "medicationCodeableConcept": concept(
            coding("rxnorm", "327361", "adalimumab"), text="Humira (adalimumab) 40 mg/0.4 mL pen"
        ),
        "subject": ref(chart.patient),
        "encounter": ref(chart.encounter),
        "authoredOn": AUTHORED_ON,
        "requester": draft_requester(chart),
        "reasonCode": [diagnosis_concept(RA_DX)],
        "dosageInstruction": [
            {
                "sequence": 1,
                "text": "Inject 40 mg subcutaneously every 14 days",
                "timing": {"repeat": {"frequency": 1, "period": 2, "periodUnit": "wk"}},
                "route": route_concept("subcutaneous"),
                "doseAndRate": [{"doseQuantity": quantity(40, "mg")}],
            }
        ],
        "dispenseRequest": {
            "numberOfRepeatsAllowed": 5,
            "quantity": quantity(2, "pen", "{pen}"),
            "expectedSupplyDuration": quantity(28, "days", "d"),
        },
    }
    return Fixture(
        "non-anakinra",
        "order-sign",
        "RA after methotrexate; the draft is adalimumab (Humira), not anakinra. The anakinra service has nothing "
        "to say: 200 with no cards and no coverage information.",
        expect("none", [], [], "Not an anakinra order: not evaluated."),
        chart,
        role_user(chart),
        [draft],
    )
