"""Demo patients for the CDS Hooks Sandbox (README.md, "Demo in the CDS Hooks Sandbox").

The Sandbox drafts every order the same way: `1 {pill}` once daily, a 30-day supply, no
quantity, no route, category community, no requester, and context.userId is always
Practitioner/COREPRACTITIONER1. These charts are chosen so that, with that draft of Kineret
(RxNorm 727711, offered by the demo card), each one shows one headline outcome. They live in
`bundles/demo-*.json` (loaded into the embedded FHIR server with the other charts) and are
described in `demo.json`; they have no request file (the Sandbox builds the request).

Patient ids are the short slugs themselves (`demo-ra-covered`), typed into the Sandbox URL.
The Sandbox sends today's date as authoredOn, so every demo Bundle is tagged
DEMO_RELATIVE_DATES_TAG with `timestamp` = AS_OF: loaders (cds_service.embedded_fhir) shift all
its dates by (load date - AS_OF), and the charts look the same relative to the order whatever
the day of the demo (a weight two weeks old stays two weeks old).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

from .building_blocks import penicillin_allergy, ra_history, ra_patient, standard_labs
from .chart import Chart, Therapy
from .codes import AUTHORED_ON, FHIR_SERVER, SPECIALTIES, SYS, US_CORE
from .datatypes import coding, concept, fixed_uuid, npi_for, ref
from .scenarios import fixtures
from .scenarios.autoinflammatory import NOMID_DX, pediatric_chart

SANDBOX_USER_ID = "COREPRACTITIONER1"  # the Sandbox's fixed context.userId: Practitioner/COREPRACTITIONER1
SANDBOX_USER_SLUG = "demo-sandbox-user"
DEMO_RELATIVE_DATES_TAG = {
    "system": "urn:anakinra-cds:fixtures",
    "code": "dates-relative-to-timestamp",
    "display": "Dates are written as of Bundle.timestamp; loaders may shift them to the load date",
}


class DemoChart(Chart):
    """A chart whose Patient id is the slug itself (short, typed into the Sandbox URL)."""

    def rid(self, suffix: str) -> str:
        return self.slug if suffix == "pat" else super().rid(suffix)


@dataclass
class DemoPatient:
    chart: Chart
    title: str
    description: str
    expect: dict  # hook -> {"determination", "findings"} (index.json vocabulary)

    @property
    def patient_id(self) -> str:
        return self.chart.patient["id"]


def sandbox_shows(determination: str, findings: list[str]) -> dict:
    return {"determination": determination, "findings": findings}


def demo_coverage_open_ended(chart: Chart) -> None:
    """A demo runs on any date: the plan year of the demo Coverage has no end."""
    cov = next(r for r in chart.resources if r["resourceType"] == "Coverage")
    cov["period"] = {"start": "2026-01-01"}


def sandbox_user_resources() -> list[dict]:
    """Who Practitioner/COREPRACTITIONER1 is on the demo server: a rheumatologist (NUCC 207RR0500X)."""
    code, display, text = SPECIALTIES["rheumatology"]
    practitioner = {
        "resourceType": "Practitioner",
        "id": SANDBOX_USER_ID,
        "meta": {"profile": [US_CORE + "us-core-practitioner"]},
        "identifier": [{"system": SYS["npi"], "value": npi_for(SANDBOX_USER_SLUG)}],
        "active": True,
        "name": [
            {
                "use": "official",
                "family": "Sandbox-Rheumatologist",
                "given": ["Casey"],
                "prefix": ["Dr."],
                "suffix": ["MD"],
            }
        ],
        "gender": "unknown",
        # Also on the Practitioner, so the specialty is known even to a client that cannot fill the
        # {{userPractitionerId}} token of the userRoles prefetch.
        "qualification": [{"code": concept(coding("nucc", code, display), text=text)}],
    }
    role = {
        "resourceType": "PractitionerRole",
        "id": f"{SANDBOX_USER_SLUG}-role-rheum",
        "meta": {"profile": [US_CORE + "us-core-practitionerrole"]},
        "active": True,
        "practitioner": ref(practitioner, "Dr. Casey Sandbox-Rheumatologist, MD"),
        "organization": {"display": "Synthetic Rheumatology Associates (CDS Hooks Sandbox demo user)"},
        "code": [concept(coding("practitioner-role", "doctor", "Doctor"), text="Physician")],
        "specialty": [concept(coding("nucc", code, display), text=text)],
        "telecom": [{"system": "phone", "value": "(904) 555-0199", "use": "work"}],
    }
    return [practitioner, role]


def d_ra_covered() -> DemoPatient:
    chart = ra_patient(
        DemoChart("demo-ra-covered"),
        given="Lorena",
        family="Villaseñor",
        gender="female",
        birth="1976-06-09",
        mrn_no=1000201,
    )
    ra_history(chart, ["humira", "enbrel", "xeljanz"])
    standard_labs(chart, weight_kg=68.5)
    penicillin_allergy(chart)
    return DemoPatient(
        chart,
        "RA, step therapy complete: covered",
        "Seropositive RA (M05.79), 49-year-old woman: methotrexate 6 months, then Humira, Enbrel and Xeljanz each "
        ">= 3 months, all stopped for inadequate response; weight and neutrophils two weeks old; commercial PPO. "
        "Every initiation clause is met by the Sandbox's draft (100 mg daily, 30 syringes per 30 days) and the "
        "Sandbox user, a rheumatologist.",
        {"order-select": sandbox_shows("covered", ["none"]), "order-sign": sandbox_shows("covered", ["none"])},
    )


def d_ra_step_therapy() -> DemoPatient:
    chart = ra_patient(
        DemoChart("demo-ra-step-therapy"),
        given="Wendell",
        family="Achebe-Lund",
        gender="male",
        birth="1969-09-22",
        mrn_no=1000202,
        city="Orlando",
        zipcode="32899",
    )
    ra_history(chart, ["humira"])
    standard_labs(chart, weight_kg=84.0)
    return DemoPatient(
        chart,
        "RA, preferred products missing: step therapy card",
        "Seropositive RA; methotrexate 6 months, then only Humira (4 months, inadequate response). Two of the three "
        "preferred products required by table1.ra.2 are missing from the chart.",
        {
            "order-select": sandbox_shows("conditional", ["step-therapy"]),
            "order-sign": sandbox_shows("conditional", ["step-therapy", "documentation-form"]),
        },
    )


def d_ra_adalimumab() -> DemoPatient:
    chart = ra_patient(
        DemoChart("demo-ra-adalimumab"),
        given="Ingrid",
        family="Mwangi-Holloway",
        gender="female",
        birth="1972-04-30",
        mrn_no=1000203,
        city="Tampa",
        zipcode="33699",
    )
    ra_history(chart, ["enbrel", "xeljanz", "rinvoq"], active="humira")
    standard_labs(chart, weight_kg=71.2)
    return DemoPatient(
        chart,
        "RA on adalimumab: combination card",
        "RA with methotrexate, Enbrel, Xeljanz and Rinvoq stopped for inadequate response (step therapy met), but "
        "Humira (adalimumab, a TNF antagonist) started five months before the order is still active. Kineret would be "
        "added to it: a prohibited combination (initiation.4, precautions.tnf).",
        {
            "order-select": sandbox_shows("not-covered", ["combination"]),
            "order-sign": sandbox_shows("not-covered", ["combination"]),
        },
    )


def d_nomid_weight() -> DemoPatient:
    chart = pediatric_chart(
        "demo-nomid-weight",
        given="Tobias",
        family="Rautenberg",
        gender="male",
        birth="2022-11-16",
        mrn_no=1000204,
        dx=NOMID_DX,
        dx_onset="2023-01-09",
        chart=DemoChart("demo-nomid-weight"),
    )
    chart.add_weight(11.0, "kg", "2026-02-23", suffix="wt-1")
    chart.add_weight(10.4, "kg", "2025-08-25", suffix="wt-0")
    chart.add_lab("anc", 3.9, "2026-02-23", suffix="anc-1")
    chart.add_lab("crp", 52.0, "2026-02-23", suffix="crp-1", clock="08:12:00", interpretation="H")
    chart.add_lab("creatinine", 0.32, "2026-02-23", suffix="cr-1", clock="08:13:00")
    return DemoPatient(
        chart,
        "NOMID child, 11 kg: weight-based dose card",
        "3-year-old boy with NOMID (M04.2), weight 11.0 kg one week before the order. The Sandbox's draft is 100 mg "
        "daily = 9.1 mg/kg/day, above the labeled NOMID maximum of 8 mg/kg/day (dosage.nomid-dira); 100 mg is within "
        "initiation.5.a, so only the weight-based limit fails.",
        {
            "order-select": sandbox_shows("conditional", ["weight-dose"]),
            "order-sign": sandbox_shows("conditional", ["weight-dose"]),
        },
    )


def d_ra_renal() -> DemoPatient:
    chart = ra_patient(
        DemoChart("demo-ra-renal"),
        given="Margarethe",
        family="Oyelowo",
        gender="female",
        birth="1953-10-05",
        mrn_no=1000205,
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
        onset="2024-10-14",
        suffix="dx-ckd",
        primary=False,
    )
    standard_labs(chart, weight_kg=55.0, creatinine=2.2)
    chart.add_lab("creatinine", 2.0, "2025-08-18", suffix="cr-0")
    return DemoPatient(
        chart,
        "RA with CrCl below 30 mL/min: renal dosing card",
        "RA with complete step therapy; 72-year-old woman, creatinine 2.2 mg/dL and weight 55 kg two weeks before the "
        "order, CKD stage 4 on the problem list. Cockcroft-Gault: (140-72) x 55 / (72 x 2.2) x 0.85 = 20 mL/min, "
        "so the dose should be considered every other day (dosage.renal); covered.",
        {"order-select": sandbox_shows("covered", ["renal"]), "order-sign": sandbox_shows("covered", ["renal"])},
    )


def d_ra_documentation() -> DemoPatient:
    chart = ra_patient(
        DemoChart("demo-ra-documentation"),
        given="Rosalind",
        family="Takahashi-Brandt",
        gender="female",
        birth="1979-02-14",
        mrn_no=1000206,
        city="Gainesville",
        zipcode="32699",
    )
    ra_history(chart, [])  # methotrexate 6 months, then prednisone bridge: no biologic yet
    chart.add_therapy(
        Therapy(
            "kineret",
            "2026-01-05",
            None,
            "active",
            record=("statement",),
            asserted="2026-02-23",
            note="Started on Kineret 100 mg daily at her previous rheumatology practice in January "
            "2026; doing well. Outside records.",
        )
    )
    standard_labs(chart, weight_kg=63.8)
    return DemoPatient(
        chart,
        "RA on anakinra from another practice: the documentation form",
        "Seropositive RA; methotrexate 6 months, then a prednisone bridge; Kineret started two months before the order "
        "at her previous practice (a MedicationStatement from outside records: no dispensing record, no preferred "
        "products tried). The only open criterion is initiation 1 (1.a cannot rule out samples; 1.b asks for the "
        "prescriber's statement: treated in the past 90 days, not samples, at risk if changed): the card links to "
        "the form, and after the form the next Sign is covered with the plan's approval.",
        {
            "order-select": sandbox_shows("conditional", ["continuing-therapy", "step-therapy"]),
            "order-sign": sandbox_shows("conditional", ["continuing-therapy", "step-therapy", "documentation-form"]),
        },
    )


DEMO_PATIENTS = (d_ra_covered, d_ra_step_therapy, d_ra_adalimumab, d_nomid_weight, d_ra_renal, d_ra_documentation)


def demo_patients() -> list[DemoPatient]:
    out = [make() for make in DEMO_PATIENTS]
    scenario_ids = {(r["resourceType"], r["id"]) for fx in fixtures() for r in fx.chart.resources}
    seen: set[tuple[str, str]] = {(r["resourceType"], r["id"]) for r in sandbox_user_resources()}
    for demo in out:
        slug = demo.chart.slug
        if not slug.startswith("demo-") or demo.patient_id != slug:
            raise ValueError(f"demo patient {slug}: the slug starts with demo- and is the Patient id")
        for r in demo.chart.resources:
            key = (r["resourceType"], r["id"])
            if not (r["id"] == slug or r["id"].startswith(slug + "-")):
                raise ValueError(f"{key} does not start with its demo slug {slug}")
            if key in seen or key in scenario_ids:
                raise ValueError(f"{key} is defined twice")
            seen.add(key)
        for hook in ("order-select", "order-sign"):
            if set(demo.expect[hook]) != {"determination", "findings"}:
                raise ValueError(f"demo patient {slug}: expect.{hook} needs determination and findings")
    return out


def build_demo_bundle(slug: str, resources: list[dict]) -> dict:
    return {
        "resourceType": "Bundle",
        "id": fixed_uuid("transaction", slug),
        "meta": {"tag": [dict(DEMO_RELATIVE_DATES_TAG)]},
        "type": "transaction",
        "timestamp": f"{AUTHORED_ON}T00:00:00Z",
        "entry": [
            {
                "fullUrl": f"{FHIR_SERVER}/{r['resourceType']}/{r['id']}",
                "resource": copy.deepcopy(r),
                "request": {"method": "PUT", "url": f"{r['resourceType']}/{r['id']}"},
            }
            for r in resources
        ],
    }


def build_demo_manifest(demos: list[DemoPatient]) -> dict:
    return {
        "about": (
            "Demo patients for the CDS Hooks Sandbox (README.md, section Demo in the CDS Hooks Sandbox). "
            "`expect` says what the Sandbox shows for its own draft of Kineret (1 {pill} daily, 30-day supply, "
            "community, no requester), per hook, in the vocabulary of index.json. Dates in the bundles are "
            "relative to `datesRelativeTo`."
        ),
        "datesRelativeTo": AUTHORED_ON,
        "sandboxUser": f"Practitioner/{SANDBOX_USER_ID}",
        "bundles": [f"bundles/{SANDBOX_USER_SLUG}.json"] + [f"bundles/{d.chart.slug}.json" for d in demos],
        "patients": [
            {
                "patientId": d.patient_id,
                "title": d.title,
                "description": d.description,
                "conditions": [r["code"]["text"] for r in d.chart.resources if r["resourceType"] == "Condition"],
                "expect": d.expect,
            }
            for d in demos
        ],
    }
