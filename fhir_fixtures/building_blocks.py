"""What several scenarios share: the draft anakinra order, the RA patient and history, standard labs,
and `Fixture` (one scenario: chart, draft orders and intended outcome).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from .chart import Chart, Therapy, practitioner_display
from .codes import AS_OF, AUTHORED_ON, RA_DX
from .datatypes import coding, concept, diagnosis_concept, quantity, ref, route_concept


def draft_requester(chart: Chart) -> dict:
    """The requester of a draft MedicationRequest. CRD 2.2 profile-medicationrequest: `requester 1..` and
    "requester only Reference(CRDPractitioner)" (PractitionerRole is no longer allowed there), so drafts name
    the Practitioner; the specialty stays on the PractitionerRole, which reaches the service through the
    `user` / `userRoles` prefetch. (History MedicationRequests are US Core and keep the PractitionerRole;
    draft ServiceRequests may name either.)"""
    return ref(chart.prescriber, practitioner_display(chart.prescriber))


def draft_anakinra(
    chart: Chart,
    *,
    dose_mg: float = 100,
    syringes: int = 28,
    supply_days: int = 28,
    refills: int = 5,
    category: str = "community",
    rxnorm: str = "727711",
    medication: dict | None = None,
    contained: dict | None = None,
    sig: str | None = None,
    bounds_days: int | None = None,
    performer: dict | None = None,
    course: str = "continuous",
    reason: dict | None = None,
    note: str | None = None,
    suffix: str = "draft",
) -> dict:
    displays = {
        "727711": "0.67 ML anakinra 149 MG/ML Prefilled Syringe",
        "727714": "0.67 ML anakinra 149 MG/ML Prefilled Syringe [Kineret]",
    }
    dose_text = f"{dose_mg:g} mg"
    repeat: dict = {}
    if bounds_days:
        repeat["boundsDuration"] = quantity(bounds_days, "days", "d")
    repeat |= {"frequency": 1, "period": 1, "periodUnit": "d"}
    mr: dict = {
        "resourceType": "MedicationRequest",
        "id": chart.rid(suffix),
    }
    if contained is not None:
        mr["contained"] = [contained]
    mr |= {
        "status": "draft",
        "intent": "order",
        "category": [concept(coding("mr-category", category, category.capitalize()))],
    }
    if medication is not None:
        mr["medicationReference"] = medication
    else:
        mr["medicationCodeableConcept"] = concept(
            coding("rxnorm", rxnorm, displays[rxnorm]), text="anakinra 100 MG in 0.67 ML Prefilled Syringe"
        )
    mr |= {
        "subject": ref(chart.patient),
    }
    if chart.encounter is not None:
        mr["encounter"] = ref(chart.encounter)
    mr |= {
        "authoredOn": AUTHORED_ON,
        "requester": draft_requester(chart),
    }
    if performer is not None:
        mr["performer"] = performer
    dx = reason or chart.dx
    mr["reasonCode"] = [diagnosis_concept(dx)]
    mr["courseOfTherapyType"] = concept(
        coding(
            "mr-course",
            course,
            {"continuous": "Continuous long term therapy", "acute": "Short course (acute) therapy"}[course],
        )
    )
    if note:
        mr["note"] = [{"text": note}]
    mr["dosageInstruction"] = [
        {
            "sequence": 1,
            "text": sig or f"Inject {dose_text} subcutaneously once daily",
            "timing": {"repeat": repeat},
            "route": route_concept("subcutaneous"),
            "doseAndRate": [{"doseQuantity": quantity(dose_mg, "mg")}],
        }
    ]
    mr["dispenseRequest"] = {
        "validityPeriod": {
            "start": AUTHORED_ON,
            "end": (AS_OF + timedelta(days=max(supply_days * (refills + 1), 28))).isoformat(),
        },
        "numberOfRepeatsAllowed": refills,
        "quantity": quantity(syringes, "syringe", "{syringe}"),
        "expectedSupplyDuration": quantity(supply_days, "days", "d"),
    }
    mr["substitution"] = {"allowedBoolean": True}
    return mr


# --------------------------------------------------------------------------------------
# Scenario building blocks
# --------------------------------------------------------------------------------------

INADEQUATE = "Inadequate response"


def ra_patient(
    chart: Chart,
    *,
    given: str,
    family: str,
    gender: str,
    birth: str,
    city: str = "Jacksonville",
    zipcode: str = "32099",
    mrn_no: int,
    specialty: str = "rheumatology",
    prescriber: tuple[str, str, str] = ("Helena", "Okafor", "female"),
    org: str = "Synthetic Rheumatology Associates",
    encounter: bool = True,
    sopt: str = "512",
    plan_name: str = "Florida Blue PPO",
    plan_value: str | None = None,
    subscriber_id: str | None = None,
    dx: dict = RA_DX,
    dx_onset: str = "2023-09-18",
) -> Chart:
    chart.add_patient(
        given=given,
        family=family,
        gender=gender,
        birth=birth,
        city=city,
        zipcode=zipcode,
        phone=f"(904) 555-01{mrn_no % 100:02d}",
        mrn=f"E{mrn_no:07d}",
    )
    chart.add_prescriber(
        specialty=specialty,
        given=prescriber[0],
        family=prescriber[1],
        gender=prescriber[2],
        org=org,
        suffix="rheum" if "rheum" in specialty else specialty.split("-", maxsplit=1)[0],
    )
    chart.add_coverage(sopt=sopt, plan_name=plan_name, plan_value=plan_value, subscriber_id=subscriber_id)
    if encounter:
        chart.add_encounter(reason=dx)
    chart.add_condition(dx, onset=dx_onset)
    return chart


def standard_labs(
    chart: Chart,
    *,
    weight_kg: float = 72.4,
    weight_unit: str = "kg",
    creatinine: float = 0.82,
    anc: float = 4.1,
    on: str = "2026-02-16",
    older: bool = True,
) -> None:
    if weight_unit == "kg":
        chart.add_weight(weight_kg, "kg", on, suffix="wt-1")
        if older:
            chart.add_weight(round(weight_kg + 1.3, 1), "kg", "2025-08-18", suffix="wt-0")
    else:
        chart.add_weight(weight_kg, "lb", on, suffix="wt-1")
        if older:
            chart.add_weight(round(weight_kg + 3, 1), "lb", "2025-08-18", suffix="wt-0")
    chart.add_lab("creatinine", creatinine, on, suffix="cr-1")
    chart.add_lab("anc", anc, on, suffix="anc-1", clock="08:11:00")
    chart.add_lab("crp", 18.4, on, suffix="crp-1", clock="08:12:00", interpretation="H")
    if older:
        chart.add_lab("anc", round(anc + 0.4, 1), "2025-08-18", suffix="anc-0")


# Each step-therapy course is at least 3 months; the dates below are the "RA complete" timeline.
TIMELINE = {
    "methotrexate": ("2024-01-10", "2024-07-15"),
    "p1": ("2024-07-22", "2024-12-02"),
    "p2": ("2024-12-09", "2025-04-14"),
    "p3": ("2025-04-21", "2025-09-29"),
    "p4": ("2025-10-06", None),
}


def ra_history(
    chart: Chart,
    products: list[str],
    *,
    active: str | None = None,
    record: tuple[str, ...] = ("statement", "request"),
    mtx: bool = True,
    bridge: bool = True,
    source: str = "prescriber",
    medication_refs: dict | None = None,
) -> None:
    """Methotrexate, then each preferred product >= 3 months stopped for inadequate response.

    `active`, when given, is one more product still taken today (started 2025-10-06)."""
    medication_refs = medication_refs or {}
    if mtx:
        start, end = TIMELINE["methotrexate"]
        chart.add_therapy(
            Therapy(
                "methotrexate",
                start,
                end,
                "stopped",
                INADEQUATE,
                record=record,
                source=source,
                medication_ref=medication_refs.get("methotrexate"),
                note="Titrated from 20 mg to 25 mg weekly with folic acid; persistent synovitis "
                "(DAS28-CRP 5.4) after 6 months.",
            )
        )
    for slot, product in zip(("p1", "p2", "p3"), products, strict=False):
        start, end = TIMELINE[slot]
        chart.add_therapy(
            Therapy(
                product,
                start,
                end,
                "stopped",
                INADEQUATE,
                record=record,
                source=source,
                medication_ref=medication_refs.get(product),
            )
        )
    if active:
        start, _ = TIMELINE["p4"]
        chart.add_therapy(
            Therapy(
                active,
                start,
                None,
                "active",
                record=record,
                source=source,
                asserted="2026-03-02",
                medication_ref=medication_refs.get(active),
            )
        )
    elif bridge:
        last_end = TIMELINE[("p1", "p2", "p3")[len(products) - 1]][1] if products else TIMELINE["methotrexate"][1]
        chart.add_therapy(
            Therapy(
                "prednisone",
                last_end,
                None,
                "active",
                record=record,
                source=source,
                asserted="2026-03-02",
                sig="Take 5 mg by mouth once daily (bridge therapy)",
                medication_ref=medication_refs.get("prednisone"),
            )
        )


def penicillin_allergy(chart: Chart) -> None:
    chart.add_allergy(
        suffix="ai-pcn",
        code=concept(coding("rxnorm", "70618", "penicillin"), text="Penicillin"),
        kind="allergy",
        criticality="low",
        onset="1998-05-01",
        manifestation=concept(text="Hives"),
        severity="mild",
    )


# --------------------------------------------------------------------------------------
# Scenarios
# --------------------------------------------------------------------------------------


@dataclass
class Fixture:
    slug: str
    hook: str
    description: str
    expect: dict
    chart: Chart
    user: str  # context.userId
    drafts: list[dict]
    selections: list[str] | None = None

    @property
    def patient_id(self) -> str:
        return self.chart.patient["id"]

    @property
    def encounter_id(self) -> str | None:
        return self.chart.encounter["id"] if self.chart.encounter else None


def expect(determination: str, findings: list[str], clauses: list[str], summary: str) -> dict:
    return {"determination": determination, "findings": findings, "clauses": clauses, "summary": summary}


def ra_complete_chart(
    slug: str, *, mrn_no: int, given: str, family: str, gender: str = "female", birth: str = "1974-05-14", **kw
) -> Chart:
    chart = ra_patient(Chart(slug), given=given, family=family, gender=gender, birth=birth, mrn_no=mrn_no, **kw)
    ra_history(chart, ["humira", "enbrel", "xeljanz"])
    standard_labs(chart)
    penicillin_allergy(chart)
    return chart


def role_user(chart: Chart) -> str:
    return f"PractitionerRole/{chart.prescriber_role['id']}"


def practitioner_user(chart: Chart) -> str:
    return f"Practitioner/{chart.prescriber['id']}"
