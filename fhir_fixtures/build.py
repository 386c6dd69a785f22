"""Deterministic generator of synthetic EHR charts for the anakinra coverage service.

Run from the repository root:  python -m fhir_fixtures.build        (writes the files)
                               python -m fhir_fixtures.build --check (exit 1 when a file is stale)

Every chart looks like a US Core shaped export of an EHR (MRN identifiers, NUCC specialties,
ICD-10-CM + SNOMED problems, LOINC vitals and labs, RxNorm medication history with stop
reasons) and is written twice:

- `requests/<slug>.json`: a CDS Hooks 2.0 order-sign / order-select request. Its `prefetch`
  answers every template of `cds_service.gather.data_needs.data_needs()` by running the
  template against the chart with a small in-memory search engine (`answer_template`), so
  the prefetch is what a FHIR server holding the chart would return (newest Observation
  first). Medications referenced by the answered MedicationRequests / Statements /
  Dispenses / Administrations (and by the draft orders, for the `medicationRequests` key)
  are added as `search.mode = include` entries, as EHRs do for `medicationReference`.
- `bundles/<slug>.json`: a `transaction` Bundle that PUTs the same resources under fixed
  ids (loading it twice changes nothing). The draft order is NOT in it: a draft lives in
  the EHR's ordering session, not in its FHIR store.

`index.json` lists each scenario with its clinically intended outcome (`expect`), derived
from guideline 09-J0000-45 (shared/policy/clauses.md), never from the service's code.
See README.md beside this file for the meaning of `expect`.

All dates are fixed: every draft order is authored 2026-03-02 (`AS_OF`); history is dated
relative to it. All ids start with the scenario slug, so every bundle can share one server.
Only the standard library and `cds_service.gather.data_needs` (the prefetch templates) are used.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qsl

from cds_service.gather.data_needs import data_needs

AS_OF = date(2026, 3, 2)
AUTHORED_ON = AS_OF.isoformat()
FHIR_SERVER = "http://127.0.0.1:8913/fhir"
FIXTURES_DIR = Path(__file__).resolve().parent
TZ = "-05:00"                       # Florida, Eastern Standard Time
BUNDLE_TIMESTAMP = "2026-03-02T14:30:00Z"
_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:anakinra-cds:fhir_fixtures")

SYS = {
    "rxnorm": "http://www.nlm.nih.gov/research/umls/rxnorm",
    "ndc": "http://hl7.org/fhir/sid/ndc",
    "snomed": "http://snomed.info/sct",
    "loinc": "http://loinc.org",
    "icd10cm": "http://hl7.org/fhir/sid/icd-10-cm",
    "cvx": "http://hl7.org/fhir/sid/cvx",
    "nucc": "http://nucc.org/provider-taxonomy",
    "ucum": "http://unitsofmeasure.org",
    "npi": "http://hl7.org/fhir/sid/us-npi",
    "mrn": "urn:oid:2.16.840.1.113883.3.9999.1",
    "sopt": "urn:oid:2.16.840.1.113883.3.221.5",
    "v2-0203": "http://terminology.hl7.org/CodeSystem/v2-0203",
    "act": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
    "obs-category": "http://terminology.hl7.org/CodeSystem/observation-category",
    "obs-interp": "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation",
    "cond-category": "http://terminology.hl7.org/CodeSystem/condition-category",
    "cond-clinical": "http://terminology.hl7.org/CodeSystem/condition-clinical",
    "cond-verification": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
    "mr-category": "http://terminology.hl7.org/CodeSystem/medicationrequest-category",
    "mr-course": "http://terminology.hl7.org/CodeSystem/medicationrequest-course-of-therapy",
    "ai-clinical": "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical",
    "ai-verification": "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification",
    "coverage-class": "http://terminology.hl7.org/CodeSystem/coverage-class",
    "subscriber-relationship": "http://terminology.hl7.org/CodeSystem/subscriber-relationship",
    "claim-type": "http://terminology.hl7.org/CodeSystem/claim-type",
    "practitioner-role": "http://terminology.hl7.org/CodeSystem/practitioner-role",
}

US_CORE = "http://hl7.org/fhir/us/core/StructureDefinition/"

SPECIALTIES = {
    "rheumatology": ("207RR0500X", "Rheumatology Physician", "Rheumatology"),
    "pediatric-rheumatology": ("2080P0216X", "Pediatric Rheumatology Physician", "Pediatric Rheumatology"),
    "family-medicine": ("207Q00000X", "Family Medicine Physician", "Family Medicine"),
    "infectious-disease": ("207RI0200X", "Infectious Disease Physician", "Infectious Disease"),
}

# Source of Payment Typology (PHDSC), urn:oid:2.16.840.1.113883.3.221.5
SOPT = {
    "512": "Commercial Managed Care - PPO",
    "112": "Medicare PPO",
    "122": "Medicare Drug Benefit",
}

# Medication products used in the histories. Ingredient RxNorm codes are VERIFIED in
# shared/reference/terminology-codes.md; the product is named in the text, as EHRs do.
DRUGS = {
    "methotrexate": {"rx": "6851", "display": "methotrexate", "text": "Methotrexate 2.5 mg oral tablet",
                     "sig": "Take 20 mg (8 tablets) by mouth once weekly, titrated to 25 mg (10 tablets) once weekly",
                     "dose": 25, "unit": "mg", "freq": (1, 1, "wk"), "route": "oral",
                     "dispense": (40, "tablet", "{tbl}", 28)},
    "hydroxychloroquine": {"rx": "5521", "display": "hydroxychloroquine",
                           "text": "Hydroxychloroquine sulfate 200 mg oral tablet",
                           "sig": "Take 200 mg by mouth twice daily", "dose": 200, "unit": "mg",
                           "freq": (2, 1, "d"), "route": "oral", "dispense": (60, "tablet", "{tbl}", 30)},
    "humira": {"rx": "327361", "display": "adalimumab", "text": "Humira (adalimumab) 40 mg/0.4 mL pen",
               "sig": "Inject 40 mg subcutaneously every 14 days", "dose": 40, "unit": "mg",
               "freq": (1, 2, "wk"), "route": "subcutaneous", "dispense": (2, "pen", "{pen}", 28)},
    "enbrel": {"rx": "214555", "display": "etanercept", "text": "Enbrel (etanercept) 50 mg/mL SureClick autoinjector",
               "sig": "Inject 50 mg subcutaneously once weekly", "dose": 50, "unit": "mg",
               "freq": (1, 1, "wk"), "route": "subcutaneous", "dispense": (4, "autoinjector", "{autoinjector}", 28)},
    "xeljanz": {"rx": "1357536", "display": "tofacitinib", "text": "Xeljanz (tofacitinib) 5 mg oral tablet",
                "sig": "Take 5 mg by mouth twice daily", "dose": 5, "unit": "mg",
                "freq": (2, 1, "d"), "route": "oral", "dispense": (60, "tablet", "{tbl}", 30)},
    "rinvoq": {"rx": "2196092", "display": "upadacitinib",
               "text": "Rinvoq (upadacitinib) 15 mg extended-release oral tablet",
               "sig": "Take 15 mg by mouth once daily", "dose": 15, "unit": "mg",
               "freq": (1, 1, "d"), "route": "oral", "dispense": (30, "tablet", "{tbl}", 30)},
    "prednisone": {"rx": "8640", "display": "prednisone", "text": "Prednisone 5 mg oral tablet",
                   "sig": "Take 5 mg by mouth once daily with breakfast", "dose": 5, "unit": "mg",
                   "freq": (1, 1, "d"), "route": "oral", "dispense": (30, "tablet", "{tbl}", 30)},
    "kineret": {"rx": "727714", "display": "0.67 ML anakinra 149 MG/ML Prefilled Syringe [Kineret]",
                "text": "Kineret (anakinra) 100 mg/0.67 mL prefilled syringe",
                "sig": "Inject 100 mg subcutaneously once daily", "dose": 100, "unit": "mg",
                "freq": (1, 1, "d"), "route": "subcutaneous", "dispense": (28, "syringe", "{syringe}", 28)},
    "ivig": {"rx": "5666", "display": "immunoglobulin G",
             "text": "Immune globulin intravenous (human) 10% solution",
             "sig": "2 g/kg (60 g) intravenously once over 12 hours", "dose": 60, "unit": "g",
             "freq": None, "route": "intravenous", "dispense": None},
    "methylprednisolone": {"rx": "6902", "display": "methylprednisolone",
                           "text": "Methylprednisolone sodium succinate injection",
                           "sig": "30 mg (1 mg/kg) intravenously every 12 hours", "dose": 30, "unit": "mg",
                           "freq": (2, 1, "d"), "route": "intravenous", "dispense": None},
}

ROUTES = {
    "subcutaneous": ("34206005", "Subcutaneous route"),
    "oral": ("26643006", "Oral route"),
    "intravenous": ("47625008", "Intravenous route"),
}

RA_DX = {"icd": "M05.79", "icd_display": "Rheumatoid arthritis with rheumatoid factor of multiple sites without "
         "organ or systems involvement", "snomed": "239791005", "snomed_display": "Seropositive rheumatoid arthritis",
         "text": "Seropositive rheumatoid arthritis of multiple sites"}


# --------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------

def d(text: str) -> date:
    return date.fromisoformat(text)


def dt(day: str | date, clock: str = "09:30:00") -> str:
    return f"{day if isinstance(day, str) else day.isoformat()}T{clock}{TZ}"


def coding(system: str, code: str, display: str | None = None) -> dict:
    out = {"system": SYS.get(system, system), "code": code}
    if display:
        out["display"] = display
    return out


def concept(*codings: dict, text: str | None = None) -> dict:
    out: dict = {}
    if codings:
        out["coding"] = list(codings)
    if text:
        out["text"] = text
    return out


def ref(resource: dict, display: str | None = None) -> dict:
    out = {"reference": f"{resource['resourceType']}/{resource['id']}"}
    if display:
        out["display"] = display
    return out


def quantity(value: float, unit: str, code: str | None = None) -> dict:
    return {"value": value, "unit": unit, "system": SYS["ucum"], "code": code or unit}


def route_concept(name: str) -> dict:
    code, display = ROUTES[name]
    return concept(coding("snomed", code, display), text=display)


def npi_for(seed: str) -> str:
    """A 10-digit number that passes the NPI Luhn check (prefix 80840), synthetic by construction."""
    body = "1" + str(int(uuid.uuid5(_NAMESPACE, seed).int % 10**8)).zfill(8)
    digits = [int(c) for c in "80840" + body]
    total = 0
    for i, n in enumerate(reversed(digits)):
        if i % 2 == 0:
            n *= 2
            if n > 9:
                n -= 9
        total += n
    return body + str((10 - total % 10) % 10)


def fixed_uuid(*parts: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, "/".join(parts)))


def diagnosis_concept(dx: dict) -> dict:
    codings = [coding("icd10cm", dx["icd"], dx["icd_display"])]
    if dx.get("snomed"):
        codings.append(coding("snomed", dx["snomed"], dx["snomed_display"]))
    return concept(*codings, text=dx["text"])


# --------------------------------------------------------------------------------------
# A chart: the resources of one synthetic patient
# --------------------------------------------------------------------------------------

@dataclass
class Chart:
    slug: str
    resources: list[dict] = field(default_factory=list)
    patient: dict | None = None
    prescriber_role: dict | None = None
    prescriber: dict | None = None
    encounter: dict | None = None
    dx: dict | None = None

    def rid(self, suffix: str) -> str:
        return f"{self.slug}-{suffix}"

    def add(self, resource: dict) -> dict:
        ids = {(r["resourceType"], r["id"]) for r in self.resources}
        if (resource["resourceType"], resource["id"]) in ids:
            raise ValueError(f"duplicate {resource['resourceType']}/{resource['id']} in chart {self.slug}")
        self.resources.append(resource)
        return resource

    # ---- people -------------------------------------------------------------------

    def add_patient(self, *, given: str, family: str, gender: str, birth: str, city: str, zipcode: str,
                    phone: str, mrn: str) -> dict:
        self.patient = self.add({
            "resourceType": "Patient",
            "id": self.rid("pat"),
            "meta": {"profile": [US_CORE + "us-core-patient"]},
            "identifier": [{
                "use": "usual",
                "type": concept(coding("v2-0203", "MR", "Medical Record Number"), text="MRN"),
                "system": SYS["mrn"],
                "value": mrn,
            }],
            "active": True,
            "name": [{"use": "official", "family": family, "given": given.split()}],
            "telecom": [
                {"system": "phone", "value": phone, "use": "home"},
                {"system": "email", "value": f"{given.split()[0].lower()}.{family.lower()}@example.com"},
            ],
            "gender": gender,
            "birthDate": birth,
            "address": [{
                "use": "home", "type": "physical",
                "line": [f"{100 + len(self.slug) * 7} Example Street"],
                "city": city, "state": "FL", "postalCode": zipcode, "country": "US",
            }],
            "communication": [{"language": concept(coding("urn:ietf:bcp:47", "en-US", "English (United States)"),
                                                   text="English"), "preferred": True}],
        })
        return self.patient

    def add_prescriber(self, *, specialty: str, given: str, family: str, org: str, gender: str = "female",
                       suffix: str = "rheum") -> tuple[dict, dict]:
        code, display, text = SPECIALTIES[specialty]
        practitioner = self.add({
            "resourceType": "Practitioner",
            "id": self.rid(f"dr-{suffix}"),
            "meta": {"profile": [US_CORE + "us-core-practitioner"]},
            "identifier": [{"system": SYS["npi"], "value": npi_for(self.rid(f"dr-{suffix}"))}],
            "active": True,
            "name": [{"use": "official", "family": family, "given": [given], "prefix": ["Dr."], "suffix": ["MD"]}],
            "gender": gender,
        })
        role = self.add({
            "resourceType": "PractitionerRole",
            "id": self.rid(f"role-{suffix}"),
            "meta": {"profile": [US_CORE + "us-core-practitionerrole"]},
            "active": True,
            "practitioner": ref(practitioner, f"Dr. {given} {family}, MD"),
            "organization": {"display": org},
            "code": [concept(coding("practitioner-role", "doctor", "Doctor"), text="Physician")],
            "specialty": [concept(coding("nucc", code, display), text=text)],
            "telecom": [{"system": "phone", "value": "(904) 555-0142", "use": "work"}],
        })
        if self.prescriber_role is None:
            self.prescriber, self.prescriber_role = practitioner, role
        return practitioner, role

    # ---- administrative -----------------------------------------------------------

    def add_coverage(self, *, sopt: str = "512", plan_name: str = "Florida Blue PPO",
                     plan_value: str | None = None, subscriber_id: str | None = None,
                     relationship: str = "self", group_name: str = "Synthetic Employer Group") -> dict:
        classes = [
            {"type": concept(coding("coverage-class", "group", "Group")),
             "value": f"GRP-{abs(hash_int(self.slug)) % 90000 + 10000}", "name": group_name},
            {"type": concept(coding("coverage-class", "plan", "Plan")),
             "value": plan_value or f"PLN-{sopt}", "name": plan_name},
            {"type": concept(coding("coverage-class", "rxbin", "RX BIN")), "value": "999999"},
            {"type": concept(coding("coverage-class", "rxpcn", "RX PCN")), "value": "SYNTH"},
        ]
        cov = {
            "resourceType": "Coverage",
            "id": self.rid("cov"),
            "meta": {"profile": [US_CORE + "us-core-coverage"]},
            "identifier": [{"type": concept(coding("v2-0203", "MB", "Member Number")),
                            "system": "urn:oid:2.16.840.1.113883.3.9999.2",
                            "value": subscriber_id or f"MBR-{self.slug.upper()}-01"}],
            "status": "active",
            "type": concept(coding("sopt", sopt, SOPT[sopt]), text=SOPT[sopt]),
            "subscriberId": subscriber_id or f"MBR-{self.slug.upper()}-01",
            "beneficiary": ref(self.patient),
            "dependent": "01" if relationship == "self" else "02",
            "relationship": concept(coding("subscriber-relationship", relationship, relationship.capitalize())),
            "period": {"start": "2026-01-01", "end": "2026-12-31"},
            "payor": [{"display": "Florida Blue"}],
            "class": classes,
        }
        if relationship == "self":
            cov["subscriber"] = ref(self.patient)
        return self.add(cov)

    def add_encounter(self, *, kind: str = "AMB", start: str = AUTHORED_ON, clock: str = "08:45:00",
                      status: str = "in-progress", reason: dict | None = None, type_text: str | None = None,
                      current: bool = True, suffix: str = "enc") -> dict:
        classes = {"AMB": "ambulatory", "IMP": "inpatient encounter"}
        enc = {
            "resourceType": "Encounter",
            "id": self.rid(suffix),
            "meta": {"profile": [US_CORE + "us-core-encounter"]},
            "status": status,
            "class": coding("act", kind, classes[kind]),
            "type": [concept(text=type_text or ("Established patient office visit" if kind == "AMB"
                                                else "Hospital admission"))],
            "subject": ref(self.patient),
            "participant": [{"individual": ref(self.prescriber_role)}],
            "period": {"start": dt(start, clock)},
        }
        if reason:
            enc["reasonCode"] = [diagnosis_concept(reason)]
        if kind == "IMP":
            enc["hospitalization"] = {"admitSource": concept(text="Emergency department")}
        if current:
            self.encounter = enc
        return self.add(enc)

    # ---- clinical -----------------------------------------------------------------

    def add_condition(self, dx: dict, *, onset: str, suffix: str = "dx", status: str = "active",
                      abatement: str | None = None, encounter: dict | None = None, primary: bool = True) -> dict:
        cond = {
            "resourceType": "Condition",
            "id": self.rid(suffix),
            "meta": {"profile": [US_CORE + "us-core-condition-problems-health-concerns"]},
            "clinicalStatus": concept(coding("cond-clinical", status, status.capitalize())),
            "verificationStatus": concept(coding("cond-verification", "confirmed", "Confirmed")),
            "category": [concept(coding("cond-category", "problem-list-item", "Problem List Item"))],
            "code": diagnosis_concept(dx),
            "subject": ref(self.patient),
            "onsetDateTime": onset,
            "recordedDate": onset,
            "recorder": ref(self.prescriber_role),
        }
        if abatement:
            cond["abatementDateTime"] = abatement
        if encounter:
            cond["encounter"] = ref(encounter)
        if primary and self.dx is None:
            self.dx = dx
        return self.add(cond)

    def add_weight(self, value: float, unit: str, on: str, *, suffix: str) -> dict:
        code = {"kg": "kg", "lb": "[lb_av]", "g": "g"}[unit]
        return self.add({
            "resourceType": "Observation",
            "id": self.rid(suffix),
            "meta": {"profile": [US_CORE + "us-core-body-weight"]},
            "status": "final",
            "category": [concept(coding("obs-category", "vital-signs", "Vital Signs"))],
            "code": concept(coding("loinc", "29463-7", "Body weight"), text="Body weight"),
            "subject": ref(self.patient),
            "effectiveDateTime": dt(on, "09:05:00"),
            "issued": f"{on}T14:05:00Z",
            "valueQuantity": quantity(value, unit, code),
        })

    def add_lab(self, kind: str, value, on: str, *, suffix: str, clock: str = "08:10:00",
                interpretation: str | None = None) -> dict:
        spec = LABS[kind]
        obs = {
            "resourceType": "Observation",
            "id": self.rid(suffix),
            "meta": {"profile": [US_CORE + "us-core-observation-lab"]},
            "status": "final",
            "category": [concept(coding("obs-category", "laboratory", "Laboratory"))],
            "code": concept(coding("loinc", spec["loinc"], spec["display"]), text=spec["text"]),
            "subject": ref(self.patient),
            "effectiveDateTime": dt(on, clock),
            "issued": f"{on}T16:40:00Z",
        }
        if spec.get("coded"):
            code, display = value
            obs["valueCodeableConcept"] = concept(coding("snomed", code, display), text=display)
        else:
            obs["valueQuantity"] = quantity(value, spec["unit"])
            if spec.get("range"):
                low, high = spec["range"]
                rr: dict = {}
                if low is not None:
                    rr["low"] = quantity(low, spec["unit"])
                if high is not None:
                    rr["high"] = quantity(high, spec["unit"])
                obs["referenceRange"] = [rr]
        if interpretation:
            names = {"H": "High", "L": "Low", "N": "Normal", "POS": "Positive", "A": "Abnormal"}
            obs["interpretation"] = [concept(coding("obs-interp", interpretation, names[interpretation]))]
        if self.encounter and self.encounter["class"]["code"] == "IMP" and on >= self.encounter["period"]["start"][:10]:
            obs["encounter"] = ref(self.encounter)
        return self.add(obs)

    def add_allergy(self, *, suffix: str, code: dict, kind: str, criticality: str, onset: str,
                    manifestation: dict, severity: str = "moderate", note: str | None = None) -> dict:
        ai = {
            "resourceType": "AllergyIntolerance",
            "id": self.rid(suffix),
            "meta": {"profile": [US_CORE + "us-core-allergyintolerance"]},
            "clinicalStatus": concept(coding("ai-clinical", "active", "Active")),
            "verificationStatus": concept(coding("ai-verification", "confirmed", "Confirmed")),
            "type": kind,
            "category": ["medication"],
            "criticality": criticality,
            "code": code,
            "patient": ref(self.patient),
            "onsetDateTime": onset,
            "recordedDate": onset,
            "recorder": ref(self.prescriber_role),
            "reaction": [{"manifestation": [manifestation], "severity": severity}],
        }
        if note:
            ai["note"] = [{"text": note}]
        return self.add(ai)

    def add_immunization(self, cvx: str, display: str, on: str, *, suffix: str) -> dict:
        return self.add({
            "resourceType": "Immunization",
            "id": self.rid(suffix),
            "meta": {"profile": [US_CORE + "us-core-immunization"]},
            "status": "completed",
            "vaccineCode": concept(coding("cvx", cvx, display), text=display),
            "patient": ref(self.patient),
            "occurrenceDateTime": on,
            "primarySource": True,
        })

    # ---- medications --------------------------------------------------------------

    def add_medication(self, *, suffix: str, codings: list[dict], text: str, manufacturer: str | None = None,
                       form: str | None = None) -> dict:
        med = {
            "resourceType": "Medication",
            "id": self.rid(suffix),
            "meta": {"profile": [US_CORE + "us-core-medication"]},
            "code": concept(*codings, text=text),
            "status": "active",
        }
        if manufacturer:
            med["manufacturer"] = {"display": manufacturer}
        if form:
            med["form"] = concept(text=form)
        return self.add(med)

    def add_therapy(self, therapy: "Therapy") -> list[dict]:
        """A history entry as the EHR keeps it: a MedicationStatement and/or a MedicationRequest."""
        out = []
        drug = DRUGS[therapy.drug]
        med = concept(coding("rxnorm", drug["rx"], drug["display"]), text=drug["text"])
        reason = diagnosis_concept(self.dx) if self.dx else None
        if "statement" in therapy.record:
            ms = {
                "resourceType": "MedicationStatement",
                "id": self.rid(f"ms-{therapy.drug}{therapy.tag}"),
                "status": therapy.status,
                "medicationCodeableConcept": med,
                "subject": ref(self.patient),
                "effectivePeriod": {"start": therapy.start} | ({"end": therapy.end} if therapy.end else {}),
                "dateAsserted": therapy.asserted or (therapy.end or therapy.start),
                "dosage": [self._dosage(drug, therapy, with_bounds=False)],
            }
            if therapy.reason_text:
                ms["statusReason"] = [concept(text=therapy.reason_text)]
            if therapy.source == "patient":
                ms["informationSource"] = ref(self.patient)
            elif self.prescriber_role:
                ms["informationSource"] = ref(self.prescriber_role)
            if reason and therapy.for_dx:
                ms["reasonCode"] = [reason]
            if therapy.note:
                ms["note"] = [{"text": therapy.note}]
            out.append(self.add(ms))
        if "request" in therapy.record:
            mr_status = {"stopped": "stopped", "completed": "completed", "active": "active"}[therapy.status]
            validity_end = therapy.end or (d(therapy.start) + timedelta(days=365)).isoformat()
            mr = {
                "resourceType": "MedicationRequest",
                "id": self.rid(f"mr-{therapy.drug}{therapy.tag}"),
                "meta": {"profile": [US_CORE + "us-core-medicationrequest"]},
                "status": mr_status,
                "intent": "order",
                "category": [concept(coding("mr-category", therapy.category, therapy.category.capitalize()))],
                "subject": ref(self.patient),
                "authoredOn": therapy.start,
                "requester": ref(self.prescriber_role, _display(self.prescriber)),
                "courseOfTherapyType": concept(coding("mr-course", therapy.course,
                                                      {"continuous": "Continuous long term therapy",
                                                       "acute": "Short course (acute) therapy"}[therapy.course])),
                "dosageInstruction": [self._dosage(drug, therapy, with_bounds=True)],
            }
            if therapy.medication_ref is not None:
                mr["medicationReference"] = ref(therapy.medication_ref, drug["text"])
            else:
                mr["medicationCodeableConcept"] = med
            if therapy.reason_text and mr_status == "stopped":
                mr["statusReason"] = concept(text=therapy.reason_text)
            if reason and therapy.for_dx:
                mr["reasonCode"] = [reason]
            if drug["dispense"]:
                qty, unit, ucum, days = drug["dispense"]
                mr["dispenseRequest"] = {
                    "validityPeriod": {"start": therapy.start, "end": validity_end},
                    "numberOfRepeatsAllowed": therapy.refills,
                    "quantity": quantity(qty, unit, ucum),
                    "expectedSupplyDuration": quantity(days, "days", "d"),
                }
            if therapy.encounter is not None:
                mr["encounter"] = ref(therapy.encounter)
            out.append(self.add(mr))
        return out

    def _dosage(self, drug: dict, therapy: "Therapy", *, with_bounds: bool) -> dict:
        dosage: dict = {"sequence": 1, "text": therapy.sig or drug["sig"]}
        if drug["freq"]:
            frequency, period, unit = drug["freq"]
            repeat: dict = {}
            if with_bounds:
                repeat["boundsPeriod"] = {"start": therapy.start} | ({"end": therapy.end} if therapy.end else {})
            repeat |= {"frequency": frequency, "period": period, "periodUnit": unit}
            dosage["timing"] = {"repeat": repeat}
        dosage["route"] = route_concept(drug["route"])
        dosage["doseAndRate"] = [{"doseQuantity": quantity(drug["dose"], drug["unit"])}]
        return dosage


def _display(practitioner: dict | None) -> str | None:
    if not practitioner:
        return None
    name = practitioner["name"][0]
    return f"Dr. {' '.join(name['given'])} {name['family']}, MD"


def hash_int(text: str) -> int:
    return uuid.uuid5(_NAMESPACE, text).int


@dataclass
class Therapy:
    drug: str
    start: str
    end: str | None
    status: str                       # completed | stopped | active
    reason_text: str | None = None    # statusReason text (stopped ones)
    record: tuple[str, ...] = ("statement", "request")
    tag: str = ""                     # id suffix when the same drug appears twice
    refills: int = 5
    category: str = "community"
    course: str = "continuous"
    sig: str | None = None
    source: str = "prescriber"        # who asserted the MedicationStatement: prescriber | patient
    asserted: str | None = None
    note: str | None = None
    for_dx: bool = True
    medication_ref: dict | None = None
    encounter: dict | None = None


LABS = {
    "creatinine": {"loinc": "2160-0", "display": "Creatinine [Mass/volume] in Serum or Plasma",
                   "text": "Creatinine, serum", "unit": "mg/dL", "range": (0.5, 1.1)},
    "anc": {"loinc": "751-8", "display": "Neutrophils [#/volume] in Blood by Automated count",
            "text": "Neutrophils, absolute (automated)", "unit": "10*3/uL", "range": (1.5, 7.8)},
    "crp": {"loinc": "1988-5", "display": "C reactive protein [Mass/volume] in Serum or Plasma",
            "text": "C-reactive protein", "unit": "mg/L", "range": (None, 10)},
    "esr": {"loinc": "4537-7", "display": "Erythrocyte sedimentation rate by Westergren method",
            "text": "Sedimentation rate, Westergren", "unit": "mm/h", "range": (0, 20)},
    "sars-cov-2-pcr": {"loinc": "94500-6",
                       "display": "SARS-CoV-2 (COVID-19) RNA [Presence] in Respiratory system specimen by NAA "
                                  "with probe detection",
                       "text": "SARS-CoV-2 RNA, respiratory (PCR)", "coded": True},
}
DETECTED = ("260373001", "Detected")


# --------------------------------------------------------------------------------------
# Draft orders
# --------------------------------------------------------------------------------------

def draft_requester(chart: Chart) -> dict:
    """The requester of a draft MedicationRequest. CRD 2.2 profile-medicationrequest: `requester 1..` and
    "requester only Reference(CRDPractitioner)" (PractitionerRole is no longer allowed there), so drafts name
    the Practitioner; the specialty stays on the PractitionerRole, which reaches the service through the
    `user` / `userRoles` prefetch. (History MedicationRequests are US Core and keep the PractitionerRole;
    draft ServiceRequests may name either.)"""
    return ref(chart.prescriber, _display(chart.prescriber))


def draft_anakinra(chart: Chart, *, dose_mg: float = 100, syringes: int = 28, supply_days: int = 28,
                   refills: int = 5, category: str = "community", rxnorm: str = "727711",
                   medication: dict | None = None, contained: dict | None = None,
                   sig: str | None = None, bounds_days: int | None = None, performer: dict | None = None,
                   course: str = "continuous", reason: dict | None = None, note: str | None = None,
                   suffix: str = "draft") -> dict:
    displays = {"727711": "0.67 ML anakinra 149 MG/ML Prefilled Syringe",
                "727714": "0.67 ML anakinra 149 MG/ML Prefilled Syringe [Kineret]"}
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
        mr["medicationCodeableConcept"] = concept(coding("rxnorm", rxnorm, displays[rxnorm]),
                                                  text="anakinra 100 MG in 0.67 ML Prefilled Syringe")
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
    mr["courseOfTherapyType"] = concept(coding("mr-course", course, {
        "continuous": "Continuous long term therapy", "acute": "Short course (acute) therapy"}[course]))
    if note:
        mr["note"] = [{"text": note}]
    mr["dosageInstruction"] = [{
        "sequence": 1,
        "text": sig or f"Inject {dose_text} subcutaneously once daily",
        "timing": {"repeat": repeat},
        "route": route_concept("subcutaneous"),
        "doseAndRate": [{"doseQuantity": quantity(dose_mg, "mg")}],
    }]
    mr["dispenseRequest"] = {
        "validityPeriod": {"start": AUTHORED_ON,
                           "end": (AS_OF + timedelta(days=max(supply_days * (refills + 1), 28))).isoformat()},
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


def ra_patient(chart: Chart, *, given: str, family: str, gender: str, birth: str, city: str = "Jacksonville",
               zipcode: str = "32099", mrn_no: int, specialty: str = "rheumatology",
               prescriber: tuple[str, str, str] = ("Helena", "Okafor", "female"),
               org: str = "Synthetic Rheumatology Associates", encounter: bool = True,
               sopt: str = "512", plan_name: str = "Florida Blue PPO", plan_value: str | None = None,
               subscriber_id: str | None = None, dx: dict = RA_DX, dx_onset: str = "2023-09-18") -> Chart:
    chart.add_patient(given=given, family=family, gender=gender, birth=birth, city=city, zipcode=zipcode,
                      phone=f"(904) 555-01{mrn_no % 100:02d}", mrn=f"E{mrn_no:07d}")
    chart.add_prescriber(specialty=specialty, given=prescriber[0], family=prescriber[1], gender=prescriber[2],
                         org=org, suffix="rheum" if "rheum" in specialty else specialty.split("-")[0])
    chart.add_coverage(sopt=sopt, plan_name=plan_name, plan_value=plan_value, subscriber_id=subscriber_id)
    if encounter:
        chart.add_encounter(reason=dx)
    chart.add_condition(dx, onset=dx_onset)
    return chart


def standard_labs(chart: Chart, *, weight_kg: float = 72.4, weight_unit: str = "kg", creatinine: float = 0.82,
                  anc: float = 4.1, on: str = "2026-02-16", older: bool = True) -> None:
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


def ra_history(chart: Chart, products: list[str], *, active: str | None = None,
               record: tuple[str, ...] = ("statement", "request"), mtx: bool = True,
               bridge: bool = True, source: str = "prescriber", medication_refs: dict | None = None) -> None:
    """Methotrexate, then each preferred product >= 3 months stopped for inadequate response.

    `active`, when given, is one more product still taken today (started 2025-10-06)."""
    medication_refs = medication_refs or {}
    if mtx:
        start, end = TIMELINE["methotrexate"]
        chart.add_therapy(Therapy("methotrexate", start, end, "stopped", INADEQUATE, record=record,
                                  source=source, medication_ref=medication_refs.get("methotrexate"),
                                  note="Titrated from 20 mg to 25 mg weekly with folic acid; persistent synovitis "
                                       "(DAS28-CRP 5.4) after 6 months."))
    for slot, product in zip(("p1", "p2", "p3"), products):
        start, end = TIMELINE[slot]
        chart.add_therapy(Therapy(product, start, end, "stopped", INADEQUATE, record=record, source=source,
                                  medication_ref=medication_refs.get(product)))
    if active:
        start, _ = TIMELINE["p4"]
        chart.add_therapy(Therapy(active, start, None, "active", record=record, source=source,
                                  asserted="2026-03-02", medication_ref=medication_refs.get(active)))
    elif bridge:
        last_end = TIMELINE[("p1", "p2", "p3")[len(products) - 1]][1] if products else TIMELINE["methotrexate"][1]
        chart.add_therapy(Therapy("prednisone", last_end, None, "active", record=record, source=source,
                                  asserted="2026-03-02", sig="Take 5 mg by mouth once daily (bridge therapy)",
                                  medication_ref=medication_refs.get("prednisone")))


def penicillin_allergy(chart: Chart) -> None:
    chart.add_allergy(suffix="ai-pcn", code=concept(coding("rxnorm", "70618", "penicillin"), text="Penicillin"),
                      kind="allergy", criticality="low", onset="1998-05-01",
                      manifestation=concept(text="Hives"), severity="mild")


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
    user: str                                  # context.userId
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


def ra_complete_chart(slug: str, *, mrn_no: int, given: str, family: str, gender: str = "female",
                      birth: str = "1974-05-14", **kw) -> Chart:
    chart = ra_patient(Chart(slug), given=given, family=family, gender=gender, birth=birth, mrn_no=mrn_no, **kw)
    ra_history(chart, ["humira", "enbrel", "xeljanz"])
    standard_labs(chart)
    penicillin_allergy(chart)
    return chart


def role_user(chart: Chart) -> str:
    return f"PractitionerRole/{chart.prescriber_role['id']}"


def practitioner_user(chart: Chart) -> str:
    return f"Practitioner/{chart.prescriber['id']}"


def s_ra_complete() -> Fixture:
    chart = ra_complete_chart("ra-complete", mrn_no=1000101, given="Maria Elena", family="Alvarez")
    chart.add_immunization("187", "zoster vaccine recombinant, adjuvanted", "2025-01-13", suffix="imm-rzv")
    return Fixture(
        "ra-complete", "order-sign",
        "Seropositive RA (M05.79), 51-year-old woman. Methotrexate 20-25 mg weekly for 6 months, then Humira, "
        "Enbrel and Xeljanz each 4-5 months, all stopped for inadequate response; rheumatologist prescriber; "
        "commercial PPO; weight and ANC two weeks old. Draft: 100 mg SC daily, 28 syringes/28 days, self-administered.",
        expect("covered", ["none"], ["table1.ra.1.a", "table1.ra.2.a"],
               "Every initiation clause is met: methotrexate >= 3 months (table1.ra.1.a), three preferred products "
               ">= 3 months each (table1.ra.2.a), rheumatologist, no contraindication or combination, 100 mg daily "
               "within the quantity limit."),
        chart, role_user(chart), [draft_anakinra(chart)])


def s_ra_missing_preferred() -> Fixture:
    chart = ra_patient(Chart("ra-missing-preferred"), given="Denise", family="Whitfield", gender="female",
                       birth="1968-10-03", mrn_no=1000102, city="Orlando", zipcode="32899")
    ra_history(chart, ["humira"], record=("statement",))
    standard_labs(chart, weight_kg=165, weight_unit="lb")
    return Fixture(
        "ra-missing-preferred", "order-sign",
        "Seropositive RA; methotrexate 6 months (inadequate response), then only Humira (4 months, inadequate "
        "response). History recorded as MedicationStatements only; weight in pounds.",
        expect("conditional", ["step-therapy"], ["table1.ra.2"],
               "Only one preferred product tried: table1.ra.2 (three preferred products, or the listed "
               "intolerance/contraindication alternatives) is not shown by the chart; records or a step-therapy "
               "exemption are needed."),
        chart, role_user(chart), [draft_anakinra(chart)])


def s_ra_on_humira() -> Fixture:
    chart = ra_patient(Chart("ra-on-humira"), given="Gregory", family="Lindqvist", gender="male",
                       birth="1971-06-25", mrn_no=1000103, prescriber=("Samuel", "Achterberg", "male"))
    ra_history(chart, ["enbrel", "xeljanz", "rinvoq"], active="humira")
    standard_labs(chart, weight_kg=88.2)
    return Fixture(
        "ra-on-humira", "order-sign",
        "RA with methotrexate, Enbrel, Xeljanz and Rinvoq each stopped for inadequate response (step therapy met), "
        "but Humira (a TNF antagonist) started 2025-10-06 is still active (MedicationStatement and "
        "MedicationRequest active). Anakinra would be added to Humira.",
        expect("not-covered", ["combination"], ["initiation.4", "precautions.tnf"],
               "Anakinra with an active TNF antagonist (adalimumab) is a prohibited combination (initiation.4) and "
               "a labeled precaution (precautions.tnf)."),
        chart, role_user(chart), [draft_anakinra(chart)])


def s_ra_on_tofacitinib() -> Fixture:
    chart = ra_patient(Chart("ra-on-tofacitinib"), given="Priya", family="Raman", gender="female",
                       birth="1980-11-11", mrn_no=1000104, city="Tampa", zipcode="33699")
    ra_history(chart, ["humira", "enbrel", "rinvoq"], active="xeljanz")
    standard_labs(chart, weight_kg=61.0)
    return Fixture(
        "ra-on-tofacitinib", "order-sign",
        "RA with methotrexate, Humira, Enbrel and Rinvoq stopped for inadequate response; Xeljanz (tofacitinib, "
        "a JAK inhibitor) active since 2025-10-06.",
        expect("not-covered", ["combination"], ["initiation.4"],
               "Anakinra with an active JAK inhibitor (tofacitinib) is a prohibited combination (initiation.4)."),
        chart, role_user(chart), [draft_anakinra(chart)])


def s_dose_200mg() -> Fixture:
    chart = ra_patient(Chart("dose-200mg"), given="Harold", family="Bexley", gender="male", birth="1962-02-14",
                       mrn_no=1000105)
    ra_history(chart, ["humira", "enbrel", "xeljanz"], record=("request",))
    standard_labs(chart, weight_kg=94.0)
    draft = draft_anakinra(chart, dose_mg=200, syringes=56, sig="Inject 200 mg (2 syringes) subcutaneously once daily")
    return Fixture(
        "dose-200mg", "order-sign",
        "RA with complete step therapy (history as MedicationRequests only). Draft: 200 mg SC once daily, "
        "56 syringes per 28 days. The RA labeled dose is 100 mg/day, so initiation.5.a fails; 5.b-5.d allow a "
        "higher dose only with records (3-month trial of the maximum dose, compendia or trial evidence).",
        expect("conditional", ["dose"], ["initiation.5.a"],
               "Dose above 100 mg daily and above the 28-syringe quantity limit (initiation.5.a); an exception "
               "under initiation.5.b needs records."),
        chart, role_user(chart), [draft])


def s_qty_56() -> Fixture:
    chart = ra_complete_chart("qty-56-syringes", mrn_no=1000106, given="Lucinda", family="Marchetti",
                              birth="1977-07-07")
    draft = draft_anakinra(chart, syringes=56)
    return Fixture(
        "qty-56-syringes", "order-sign",
        "RA complete history; draft 100 mg SC once daily but dispense 56 syringes per 28 days (twice what the "
        "dose uses).",
        expect("conditional", ["dose"], ["initiation.5.a"],
               "The quantity limit is 28 syringes of 100 mg per 28 days (initiation.5.a)."),
        chart, role_user(chart), [draft])


def s_office_administered() -> Fixture:
    chart = ra_complete_chart("office-administered", mrn_no=1000107, given="Theodore", family="Quintero",
                              gender="male", birth="1966-12-01")
    chart.encounter["type"] = [concept(text="Rheumatology clinic visit with in-office injection")]
    draft = draft_anakinra(chart, category="outpatient", performer=ref(chart.prescriber, _display(chart.prescriber)),
                           sig="Administer 100 mg subcutaneously once daily in the rheumatology clinic by nursing "
                               "staff",
                           note="Clinic-administered: patient declines self-injection.")
    return Fixture(
        "office-administered", "order-sign",
        "RA complete history, but the draft is category outpatient with a Practitioner performer: the clinic "
        "would administer the drug (physician office setting).",
        expect("not-covered", ["site-of-care"], ["position.site-of-care"],
               "Kineret is approved for self-administration; a provider-administered setting (physician office) "
               "is not medically necessary (position statement)."),
        chart, role_user(chart), [draft])


def pediatric_chart(slug: str, *, given: str, family: str, gender: str, birth: str, mrn_no: int, dx: dict,
                    dx_onset: str, chart: Chart | None = None) -> Chart:
    chart = chart or Chart(slug)
    chart.add_patient(given=given, family=family, gender=gender, birth=birth, city="Gainesville",
                      zipcode="32699", phone=f"(352) 555-01{mrn_no % 100:02d}", mrn=f"E{mrn_no:07d}")
    chart.add_prescriber(specialty="pediatric-rheumatology", given="Anika", family="Vasquez-Lind",
                         org="Synthetic Children's Hospital Pediatric Rheumatology", suffix="peds-rheum")
    chart.add_coverage(relationship="child", plan_name="Florida Blue PPO (family)")
    chart.add_encounter(reason=dx, type_text="Pediatric rheumatology follow-up visit")
    chart.add_condition(dx, onset=dx_onset)
    return chart


NOMID_DX = {"icd": "M04.2", "icd_display": "Cryopyrin-associated periodic syndromes",
            "text": "Neonatal-onset multisystem inflammatory disease"}
DIRA_DX = {"icd": "M04.8", "icd_display": "Other autoinflammatory syndromes",
           "text": "Deficiency of interleukin-1 receptor antagonist (DIRA), biallelic IL1RN mutation"}


def nomid_chart(slug: str, mrn_no: int, given: str, family: str) -> Chart:
    chart = pediatric_chart(slug, given=given, family=family, gender="male", birth="2018-09-20", mrn_no=mrn_no,
                            dx=NOMID_DX, dx_onset="2019-01-15")
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
        "nomid-child-lb", "order-sign",
        "7-year-old boy with NOMID (M04.2, 'Neonatal-onset multisystem inflammatory disease'), pediatric "
        "rheumatologist (userId is a Practitioner). Weight 44 [lb_av] = 20.0 kg on 2026-02-02. Draft 100 mg SC "
        "daily = 5 mg/kg/day, within the 8 mg/kg/day maximum. Live vaccines (MMR, varicella) were given in 2019, "
        "long before treatment.",
        expect("covered", ["none"], ["table1.nomid", "dosage.nomid-dira"],
               "NOMID is 'diagnosis only' (table1.nomid); 5 mg/kg/day is within the labeled maximum of 8 mg/kg/day "
               "(dosage.nomid-dira) and within 100 mg daily (initiation.5.a)."),
        chart, practitioner_user(chart), [draft_anakinra(chart, rxnorm="727714")])


def s_nomid_child_overdose() -> Fixture:
    chart = nomid_chart("nomid-child-overdose", 1000109, "Elias", "Fairbrook")
    draft = draft_anakinra(chart, dose_mg=200, syringes=56, sig="Inject 200 mg (2 syringes) subcutaneously once daily")
    return Fixture(
        "nomid-child-overdose", "order-sign",
        "Same clinical picture as nomid-child-lb (7 years, 44 lb = 20 kg) but the draft is 200 mg daily = "
        "10 mg/kg/day (56 syringes/28 days).",
        expect("conditional", ["dose", "weight-dose"], ["initiation.5.a", "dosage.nomid-dira"],
               "10 mg/kg/day exceeds the labeled NOMID maximum of 8 mg/kg/day (dosage.nomid-dira) and 200 mg "
               "exceeds 100 mg daily / 28 syringes (initiation.5.a); initiation.5.b.ii needs records."),
        chart, role_user(chart), [draft])


def s_dira_infant() -> Fixture:
    chart = pediatric_chart("dira-infant-no-weight", given="Noor", family="Haddad-Brennan", gender="female",
                            birth="2025-06-20", mrn_no=1000110, dx=DIRA_DX, dx_onset="2025-07-14")
    chart.add_lab("crp", 88.0, "2026-02-23", suffix="crp-1", interpretation="H")
    chart.add_lab("anc", 5.2, "2026-02-23", suffix="anc-1", clock="08:11:00")
    draft = draft_anakinra(chart, dose_mg=20, syringes=28, refills=2,
                           sig="Inject 20 mg (0.13 mL) subcutaneously once daily; discard the unused portion of "
                               "each syringe")
    return Fixture(
        "dira-infant-no-weight", "order-sign",
        "8-month-old girl with DIRA (M04.8), pediatric rheumatologist. No body weight anywhere in the chart. "
        "Draft: 20 mg SC daily from the 100 mg syringe, 28 syringes/28 days.",
        expect("conditional", ["missing-weight"], ["dosage.nomid-dira"],
               "DIRA dosing is weight based (1-2 mg/kg to start, at most 8 mg/kg/day): without a weight the mg/kg "
               "dose cannot be checked, so the weight is requested (info needed)."),
        chart, role_user(chart), [draft])


def s_medref_ndc() -> Fixture:
    chart = ra_complete_chart("medref-ndc", mrn_no=1000111, given="Rosalind", family="Eberhardt",
                              birth="1970-04-22")
    contained = {
        "resourceType": "Medication", "id": "med1",
        "code": concept(coding("ndc", "66658-234-07", "Kineret 100 MG/0.67ML Prefilled Syringe"),
                        text="KINERET 100 MG/0.67ML SC SOSY"),
        "form": concept(text="Prefilled syringe"),
    }
    draft = draft_anakinra(chart, medication={"reference": "#med1", "display": "KINERET 100 MG/0.67ML SC SOSY"},
                           contained=contained)
    return Fixture(
        "medref-ndc", "order-sign",
        "RA complete history; the draft names the drug only through medicationReference '#med1' to a contained "
        "Medication coded with the 10-digit hyphenated NDC 66658-234-07.",
        expect("covered", ["none"], ["table1.ra.1.a", "table1.ra.2.a"],
               "Same chart as ra-complete: covered once the contained Medication is recognised as anakinra."),
        chart, role_user(chart), [draft])


def s_medref_prefetch_ndc11() -> Fixture:
    slug = "medref-prefetch-ndc11"
    chart = ra_patient(Chart(slug), given="Winston", family="Oyelaran", gender="male", birth="1959-01-30",
                       mrn_no=1000112, encounter=False, city="Tallahassee", zipcode="32399")
    meds = {name: chart.add_medication(suffix=f"med-{name}",
                                       codings=[coding("rxnorm", DRUGS[name]["rx"], DRUGS[name]["display"])],
                                       text=DRUGS[name]["text"])
            for name in ("methotrexate", "humira", "enbrel", "xeljanz", "prednisone")}
    ra_history(chart, ["humira", "enbrel", "xeljanz"], medication_refs=meds)
    standard_labs(chart, weight_kg=83.5)
    kineret = chart.add_medication(suffix="med-kineret",
                                   codings=[coding("ndc", "66658023428", "Kineret 100 MG/0.67ML Prefilled Syringe")],
                                   text="KINERET 100 MG/0.67ML SC SOSY",
                                   manufacturer="Swedish Orphan Biovitrum AB (publ)", form="Prefilled syringe")
    draft = draft_anakinra(chart, medication=ref(kineret, "KINERET 100 MG/0.67ML SC SOSY"))
    return Fixture(
        slug, "order-sign",
        "RA complete history, with every MedicationRequest (history and draft) using medicationReference to a "
        "Medication resource stored on the FHIR server; the medicationRequests prefetch carries them as "
        "search.mode=include entries. The draft's Medication is coded with the 11-digit unhyphenated NDC "
        "66658023428. No encounter in context (an e-prescription renewal queue); userId is a Practitioner.",
        expect("covered", ["none"], ["table1.ra.1.a", "table1.ra.2.a"],
               "Covered once Medication/… is resolved (prefetch include or FHIR read) to anakinra."),
        chart, practitioner_user(chart), [draft])


def s_non_anakinra() -> Fixture:
    chart = ra_patient(Chart("non-anakinra"), given="Beatrice", family="Nakamura-Holt", gender="female",
                       birth="1983-03-19", mrn_no=1000113)
    ra_history(chart, [], bridge=True)
    standard_labs(chart, weight_kg=58.9)
    draft = {
        "resourceType": "MedicationRequest", "id": chart.rid("draft"),
        "status": "draft", "intent": "order",
        "category": [concept(coding("mr-category", "community", "Community"))],
        "medicationCodeableConcept": concept(coding("rxnorm", "327361", "adalimumab"),
                                             text="Humira (adalimumab) 40 mg/0.4 mL pen"),
        "subject": ref(chart.patient), "encounter": ref(chart.encounter), "authoredOn": AUTHORED_ON,
        "requester": draft_requester(chart),
        "reasonCode": [diagnosis_concept(RA_DX)],
        "dosageInstruction": [{"sequence": 1, "text": "Inject 40 mg subcutaneously every 14 days",
                               "timing": {"repeat": {"frequency": 1, "period": 2, "periodUnit": "wk"}},
                               "route": route_concept("subcutaneous"),
                               "doseAndRate": [{"doseQuantity": quantity(40, "mg")}]}],
        "dispenseRequest": {"numberOfRepeatsAllowed": 5, "quantity": quantity(2, "pen", "{pen}"),
                            "expectedSupplyDuration": quantity(28, "days", "d")},
    }
    return Fixture(
        "non-anakinra", "order-sign",
        "RA after methotrexate; the draft is adalimumab (Humira), not anakinra. The anakinra service has nothing "
        "to say: 200 with no cards and no coverage information.",
        expect("none", [], [], "Not an anakinra order: not evaluated."),
        chart, role_user(chart), [draft])


def s_order_select_ra() -> Fixture:
    chart = ra_patient(Chart("order-select-ra"), given="Cornelius", family="Adebayo", gender="male",
                       birth="1975-08-08", mrn_no=1000114, prescriber=("Ingrid", "Solberg", "female"))
    ra_history(chart, ["enbrel"])
    standard_labs(chart, weight_kg=79.0)
    draft = draft_anakinra(chart)
    lab_order = {
        "resourceType": "ServiceRequest", "id": chart.rid("draft-anc"),
        "status": "draft", "intent": "order",
        "category": [concept(coding("snomed", "108252007", "Laboratory procedure"))],
        "code": concept(coding("loinc", "751-8", LABS["anc"]["display"]), text="Absolute neutrophil count"),
        "subject": ref(chart.patient), "encounter": ref(chart.encounter), "authoredOn": AUTHORED_ON,
        "requester": ref(chart.prescriber_role, _display(chart.prescriber)),
        "reasonCode": [concept(text="Baseline neutrophil count before anakinra")],
    }
    return Fixture(
        "order-select-ra", "order-select",
        "order-select with selections = [the anakinra draft]; draftOrders also holds an unselected draft "
        "ServiceRequest (ANC). RA after methotrexate and only Enbrel among the preferred products.",
        expect("conditional", ["step-therapy"], ["table1.ra.2"],
               "Preview: step therapy not shown (one preferred product). order-select never asks for "
               "documentation (no doc-needed / info-needed)."),
        chart, role_user(chart), [draft, lab_order], selections=[f"MedicationRequest/{draft['id']}"])


def s_ra_no_specialist() -> Fixture:
    chart = ra_patient(Chart("ra-no-specialist"), given="Darlene", family="Pettigrew", gender="female",
                       birth="1964-09-09", mrn_no=1000115, specialty="family-medicine",
                       prescriber=("Marcus", "Ellison", "male"), org="Synthetic Family Medicine of Ocala",
                       city="Ocala", zipcode="34499")
    ra_history(chart, ["humira", "enbrel", "xeljanz"], record=("statement",), source="patient")
    standard_labs(chart, weight_kg=70.2)
    return Fixture(
        "ra-no-specialist", "order-sign",
        "RA complete history (reported by the patient from outside records, MedicationStatements only); the "
        "prescriber is a family physician (NUCC 207Q00000X) and nothing in the chart shows a rheumatology "
        "consultation.",
        expect("conditional", ["documentation"], ["initiation.2"],
               "initiation.2: the prescriber must be, or have consulted, a specialist (rheumatologist for RA); "
               "attestation of a consult is needed."),
        chart, role_user(chart), [draft_anakinra(chart)])


def s_ra_renal() -> Fixture:
    chart = ra_patient(Chart("ra-renal-crcl-25"), given="Evelyn", family="Castellanos", gender="female",
                       birth="1955-11-20", mrn_no=1000116, city="Sarasota", zipcode="34299")
    ra_history(chart, ["humira", "enbrel", "xeljanz"])
    chart.add_condition({"icd": "N18.4", "icd_display": "Chronic kidney disease, stage 4 (severe)",
                         "text": "Chronic kidney disease, stage 4"}, onset="2024-11-04", suffix="dx-ckd",
                        primary=False)
    standard_labs(chart, weight_kg=58.0, creatinine=2.1)
    chart.add_lab("creatinine", 1.9, "2025-08-18", suffix="cr-0")
    chart.add_immunization("187", "zoster vaccine recombinant, adjuvanted", "2024-10-02", suffix="imm-rzv")
    return Fixture(
        "ra-renal-crcl-25", "order-sign",
        "RA complete history; 70-year-old woman, serum creatinine 2.1 mg/dL and weight 58 kg (2026-02-16), CKD "
        "stage 4 on the problem list. Cockcroft-Gault: (140-70) x 58 / (72 x 2.1) x 0.85 = 22.8 mL/min.",
        expect("covered", ["renal"], ["dosage.renal"],
               "Covered (every initiation clause met) with a renal-dosing finding: CrCl < 30 mL/min, consider the "
               "dose every other day (dosage.renal)."),
        chart, role_user(chart), [draft_anakinra(chart)])


def s_ra_allergy() -> Fixture:
    chart = ra_complete_chart("ra-anakinra-allergy", mrn_no=1000117, given="Franklin", family="Osei-Mensah",
                              gender="male", birth="1969-02-07")
    chart.add_allergy(suffix="ai-anakinra", code=concept(coding("rxnorm", "72435", "anakinra"),
                                                         text="Kineret (anakinra)"),
                      kind="allergy", criticality="high", onset="2019-06-11",
                      manifestation=concept(coding("snomed", "39579001", "Anaphylaxis"), text="Anaphylaxis"),
                      severity="severe",
                      note="Anaphylaxis within minutes of the second Kineret dose in 2019 (outside practice); "
                           "treated with epinephrine in the emergency department.")
    return Fixture(
        "ra-anakinra-allergy", "order-sign",
        "RA complete history, but an active, confirmed, high-criticality allergy to anakinra (RxNorm 72435) with "
        "anaphylaxis in 2019.",
        expect("not-covered", ["contraindication"], ["initiation.3", "precautions.contraindication"],
               "Known hypersensitivity to anakinra is the labeled contraindication (precautions.contraindication), "
               "so initiation.3 is not met."),
        chart, role_user(chart), [draft_anakinra(chart)])


COVID_DX = {"icd": "U07.1", "icd_display": "COVID-19", "snomed": "840539006", "snomed_display": "COVID-19",
            "text": "COVID-19"}
PNEUMONIA_DX = {"icd": "J12.82", "icd_display": "Pneumonia due to coronavirus disease 2019",
                "text": "COVID-19 pneumonia"}


def s_covid_inpatient() -> Fixture:
    slug = "covid-inpatient"
    chart = Chart(slug)
    chart.add_patient(given="Raymond", family="Thibodeaux", gender="male", birth="1967-08-09", city="Pensacola",
                      zipcode="32599", phone="(850) 555-0118", mrn="E1000118")
    chart.add_prescriber(specialty="infectious-disease", given="Yusuf", family="Karimi", gender="male",
                         org="Synthetic Regional Medical Center", suffix="id")
    chart.add_coverage()
    enc = chart.add_encounter(kind="IMP", start="2026-02-28", clock="22:40:00", reason=COVID_DX)
    chart.add_condition(COVID_DX, onset="2026-02-25", encounter=enc)
    chart.add_condition(PNEUMONIA_DX, onset="2026-02-28", suffix="dx-pna", encounter=enc, primary=False)
    chart.add_lab("sars-cov-2-pcr", DETECTED, "2026-02-28", suffix="sars-1", clock="23:05:00", interpretation="POS")
    chart.add_weight(92.0, "kg", "2026-02-28", suffix="wt-1")
    chart.add_lab("creatinine", 1.04, "2026-03-01", suffix="cr-1", clock="05:30:00")
    chart.add_lab("anc", 6.3, "2026-03-01", suffix="anc-1", clock="05:31:00")
    chart.add_lab("crp", 142.0, "2026-03-01", suffix="crp-1", clock="05:32:00", interpretation="H")
    chart.add({
        "resourceType": "Procedure", "id": chart.rid("proc-o2"),
        "meta": {"profile": [US_CORE + "us-core-procedure"]},
        "status": "in-progress",
        "code": concept(coding("snomed", "57485005", "Oxygen therapy"),
                        text="Supplemental oxygen, low-flow nasal cannula 4 L/min"),
        "subject": ref(chart.patient), "encounter": ref(enc),
        "performedPeriod": {"start": dt("2026-02-28", "23:20:00")},
        "reasonCode": [diagnosis_concept(PNEUMONIA_DX)],
    })
    draft = draft_anakinra(chart, category="inpatient", syringes=10, supply_days=10, refills=0, bounds_days=10,
                           course="acute", reason=COVID_DX,
                           sig="Inject 100 mg subcutaneously once daily for 10 days")
    return Fixture(
        slug, "order-sign",
        "Hospitalised 58-year-old man (Encounter IMP in-progress), SARS-CoV-2 PCR 94500-6 Detected, COVID-19 "
        "pneumonia (J12.82) on low-flow oxygen (Procedure 57485005). Draft: 100 mg SC daily for 10 days, "
        "category inpatient; userId is a Practitioner (infectious disease). The guideline contradicts itself: "
        "Table 1 covers COVID-19 only for a hospitalised member (EUA), while the position statement calls a "
        "provider-administered setting not medically necessary. We read the position statement as not applying "
        "to an indication that itself requires hospitalisation (position.site-of-care not applicable, the "
        "conflict explained in the trace, no 'self-administer instead' card for a hypoxic inpatient). Criteria "
        "1-3 and 6 are met by the chart; 4 (risk of progressing to respiratory failure) and 5 (likely elevated "
        "suPAR: no LOINC code exists, nothing in the chart) need documentation, so the decision is conditional.",
        expect("conditional", ["documentation"], ["table1.covid-19.4", "table1.covid-19.5"],
               "COVID-19 under the EUA: hospitalised, positive direct test, pneumonia on oxygen and 100 mg x 10 days "
               "are shown; risk of progression and likely elevated suPAR need records. Approval would be 1 month "
               "(initiation.duration)."),
        chart, practitioner_user(chart), [draft])


MISC_DX = {"icd": "M35.81", "icd_display": "Multisystem inflammatory syndrome", "snomed": "895448002",
           "snomed_display": "Multisystem inflammatory syndrome in children (MIS-C)",
           "text": "Multisystem inflammatory syndrome in children (MIS-C) associated with SARS-CoV-2"}


def s_misc_child() -> Fixture:
    slug = "misc-child"
    chart = Chart(slug)
    chart.add_patient(given="Zara", family="Pemberton-Ruiz", gender="female", birth="2016-10-12",
                      city="Miami", zipcode="33299", phone="(305) 555-0119", mrn="E1000119")
    chart.add_prescriber(specialty="pediatric-rheumatology", given="Oluwaseun", family="Hartigan",
                         org="Synthetic Children's Hospital", suffix="peds-rheum")
    chart.add_coverage(relationship="child", plan_name="Florida Blue PPO (family)")
    enc = chart.add_encounter(kind="IMP", start="2026-02-26", clock="03:15:00", reason=MISC_DX)
    chart.add_condition(MISC_DX, onset="2026-02-25", encounter=enc)
    chart.add_condition(COVID_DX, onset="2026-01-29", suffix="dx-covid", status="resolved",
                        abatement="2026-02-09", primary=False)
    chart.add_lab("sars-cov-2-pcr", DETECTED, "2026-01-29", suffix="sars-1", clock="14:20:00", interpretation="POS")
    chart.add_weight(30.0, "kg", "2026-02-26", suffix="wt-1")
    chart.add_lab("crp", 182.0, "2026-02-26", suffix="crp-0", clock="04:00:00", interpretation="H")
    chart.add_lab("crp", 215.0, "2026-03-01", suffix="crp-1", clock="05:00:00", interpretation="H")
    chart.add_lab("anc", 9.8, "2026-03-01", suffix="anc-1", clock="05:01:00", interpretation="H")
    chart.add_lab("creatinine", 0.52, "2026-03-01", suffix="cr-1", clock="05:02:00")
    refractory = "Inadequate response: persistent fever and rising CRP after IVIG 2 g/kg and IV methylprednisolone"
    for therapy in (Therapy("ivig", "2026-02-26", "2026-02-26", "completed", refractory, category="inpatient",
                            course="acute", refills=0, encounter=enc),
                    Therapy("methylprednisolone", "2026-02-26", "2026-03-01", "stopped", refractory,
                            category="inpatient", course="acute", refills=0, encounter=enc)):
        chart.add_therapy(therapy)
        drug = DRUGS[therapy.drug]
        chart.add({
            "resourceType": "MedicationAdministration", "id": chart.rid(f"madm-{therapy.drug}"),
            "status": "completed",
            "medicationCodeableConcept": concept(coding("rxnorm", drug["rx"], drug["display"]), text=drug["text"]),
            "subject": ref(chart.patient), "context": ref(enc),
            "effectivePeriod": {"start": dt(therapy.start, "10:00:00"), "end": dt(therapy.end, "22:00:00")},
            "performer": [{"actor": ref(chart.prescriber_role)}],
            "request": {"reference": f"MedicationRequest/{chart.rid('mr-' + therapy.drug)}"},
            "dosage": {"text": drug["sig"], "route": route_concept(drug["route"]),
                       "dose": quantity(drug["dose"], drug["unit"])},
        })
    draft = draft_anakinra(chart, category="inpatient", syringes=28, refills=0, course="acute", reason=MISC_DX,
                           sig="Inject 100 mg (3.3 mg/kg) subcutaneously once daily")
    return Fixture(
        slug, "order-sign",
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
        expect("covered", ["none"], ["table1.mis-c"],
               "Every table1.mis-c criterion is shown by the chart; approval for 1 month (initiation.duration)."),
        chart, role_user(chart), [draft])


def s_ra_continuation() -> Fixture:
    slug = "ra-continuation"
    chart = ra_patient(Chart(slug), given="Josephine", family="Abernathy-Cole", gender="female",
                       birth="1972-12-05", mrn_no=1000120, subscriber_id="MBR-RA-CONT-001", dx_onset="2022-06-13")
    # Step therapy a year earlier than the other RA charts, then anakinra since March 2025.
    shifted = [("methotrexate", "2023-01-09", "2023-07-14"), ("humira", "2023-07-21", "2023-12-01"),
               ("enbrel", "2023-12-08", "2024-04-12"), ("xeljanz", "2024-04-19", "2025-02-28")]
    for drug, start, end in shifted:
        chart.add_therapy(Therapy(drug, start, end, "stopped", INADEQUATE))
    kineret_rx = chart.add_therapy(Therapy("kineret", "2025-03-12", None, "active", refills=11,
                                           asserted="2026-03-02",
                                           note="Good clinical response: DAS28-CRP 5.6 -> 2.4 at 6 months."))
    order = next(r for r in kineret_rx if r["resourceType"] == "MedicationRequest")
    for i, when in enumerate(["2025-12-10", "2026-01-07", "2026-02-04"]):
        chart.add({
            "resourceType": "MedicationDispense", "id": chart.rid(f"md-kineret-{i + 1}"),
            "meta": {"profile": [US_CORE + "us-core-medicationdispense"]},
            "status": "completed",
            "medicationCodeableConcept": concept(
                coding("rxnorm", "727714", DRUGS["kineret"]["display"]),
                coding("ndc", "66658023428", "Kineret 100 MG/0.67ML Prefilled Syringe, carton of 28"),
                text=DRUGS["kineret"]["text"]),
            "subject": ref(chart.patient),
            "authorizingPrescription": [ref(order)],
            "type": concept(coding("act", "RF", "Refill")),
            "quantity": quantity(28, "syringe", "{syringe}"),
            "daysSupply": quantity(28, "days", "d"),
            "whenPrepared": dt(when, "10:00:00"),
            "whenHandedOver": dt(when, "15:30:00"),
            "dosageInstruction": [{"sequence": 1, "text": DRUGS["kineret"]["sig"]}],
        })
    chart.add({
        "resourceType": "ClaimResponse", "id": chart.rid("pa-2025"),
        "identifier": [{"system": "urn:oid:2.16.840.1.113883.3.9999.3", "value": "PA-2025-0310-0042"}],
        "status": "active",
        "type": concept(coding("claim-type", "pharmacy", "Pharmacy")),
        "use": "preauthorization",
        "patient": ref(chart.patient),
        "created": "2025-03-10T13:02:00-05:00",
        "insurer": {"display": "Florida Blue"},
        "requestor": ref(chart.prescriber_role),
        "outcome": "complete",
        "disposition": "Approved: Kineret (anakinra) 100 mg/0.67 mL, 28 syringes per 28 days, initial authorization "
                       "for rheumatoid arthritis (12 months)",
        "preAuthRef": "PA-2025-0310-0042",
        "preAuthPeriod": {"start": "2025-03-10", "end": "2026-03-09"},
    })
    standard_labs(chart, weight_kg=66.1)
    draft = draft_anakinra(chart, rxnorm="727714", refills=11)
    return Fixture(
        slug, "order-sign",
        "RA on anakinra since March 2025 (active MedicationRequest and MedicationStatement, three monthly "
        "dispenses within the last 90 days) after complete step therapy in 2023-2025; the plan approved anakinra "
        "on 2025-03-10 (ClaimResponse preauthorization PA-2025-0310-0042, valid to 2026-03-09), subscriberId "
        "MBR-RA-CONT-001. The renewal draft is 100 mg daily, 28 syringes, 11 refills. initiation.1.a (treated "
        "within 90 days, not samples) is met; continuation.1-6 are also satisfied (benefit noted in the "
        "MedicationStatement).",
        expect("covered", ["none"], ["initiation.1.a"],
               "Anakinra dispensed within the past 90 days (initiation.1.a); rheumatologist; no combination; "
               "dose within the limit."),
        chart, role_user(chart), [draft])


def s_ra_mtx_intolerance() -> Fixture:
    chart = ra_patient(Chart("ra-mtx-intolerance"), given="Vivian", family="Marchbanks", gender="female",
                       birth="1981-05-27", mrn_no=1000121, city="Daytona Beach", zipcode="32199")
    chart.add_therapy(Therapy("methotrexate", "2024-01-10", "2024-02-21", "stopped",
                              "Adverse reaction: transaminases above 3x upper limit of normal",
                              sig="Take 15 mg (6 tablets) by mouth once weekly"))
    chart.add_allergy(suffix="ai-mtx", code=concept(coding("rxnorm", "6851", "methotrexate"), text="Methotrexate"),
                      kind="intolerance", criticality="low", onset="2024-02-21",
                      manifestation=concept(text="Elevated liver enzymes (ALT 146 U/L)"))
    ra_history(chart, ["humira", "enbrel", "xeljanz"], mtx=False)
    standard_labs(chart, weight_kg=64.3)
    return Fixture(
        "ra-mtx-intolerance", "order-sign",
        "RA; methotrexate stopped after 6 weeks for hepatotoxicity (AllergyIntolerance type intolerance to "
        "methotrexate), so no 3-month methotrexate trial; then Humira, Enbrel and Xeljanz each >= 3 months with "
        "inadequate response.",
        expect("covered", ["none"], ["table1.ra.1.c", "table1.ra.2.a"],
               "Intolerance to one conventional agent satisfies table1.ra.1.c; three preferred products satisfy "
               "table1.ra.2.a."),
        chart, role_user(chart), [draft_anakinra(chart)])


def s_ra_preferred_2b() -> Fixture:
    chart = ra_patient(Chart("ra-preferred-2b"), given="Osvaldo", family="Kristiansen", gender="male",
                       birth="1960-10-16", mrn_no=1000122, prescriber=("Helena", "Okafor", "female"))
    start, end = TIMELINE["methotrexate"]
    chart.add_therapy(Therapy("methotrexate", start, end, "stopped", INADEQUATE))
    chart.add_therapy(Therapy("humira", "2024-07-22", "2024-12-02", "stopped", INADEQUATE))
    chart.add_therapy(Therapy("enbrel", "2024-12-09", "2024-12-30", "stopped",
                              "Adverse reaction: generalized urticaria and lip swelling after the third dose"))
    chart.add_allergy(suffix="ai-etanercept", code=concept(coding("rxnorm", "214555", "etanercept"),
                                                           text="Enbrel (etanercept)"),
                      kind="allergy", criticality="high", onset="2024-12-30",
                      manifestation=concept(text="Generalized urticaria with lip angioedema"), severity="moderate")
    chart.add_therapy(Therapy("xeljanz", "2025-01-06", "2025-06-30", "stopped", INADEQUATE))
    chart.add_therapy(Therapy("prednisone", "2025-06-30", None, "active", asserted="2026-03-02",
                              sig="Take 5 mg by mouth once daily (bridge therapy)"))
    standard_labs(chart, weight_kg=90.7)
    return Fixture(
        "ra-preferred-2b", "order-sign",
        "RA; methotrexate 6 months; Humira and Xeljanz >= 3 months with inadequate response; Enbrel stopped after "
        "3 weeks for a hypersensitivity reaction (urticaria, angioedema; AllergyIntolerance to etanercept).",
        expect("covered", ["none"], ["table1.ra.1.a", "table1.ra.2.b"],
               "Two preferred products with inadequate response plus hypersensitivity to a third satisfies "
               "table1.ra.2.b."),
        chart, role_user(chart), [draft_anakinra(chart)])


def s_ra_fep() -> Fixture:
    chart = ra_complete_chart("ra-complete-fep", mrn_no=1000123, given="Clarence", family="Whitlock",
                              gender="male", birth="1963-04-04", plan_name="Federal Employee Program (FEP)",
                              plan_value="FEP-BASIC")
    return Fixture(
        "ra-complete-fep", "order-sign",
        "The ra-complete chart, but the member is in the Federal Employee Program (Coverage class plan name "
        "'Federal Employee Program (FEP)'). The guideline's program exception says to follow FEP guidelines, so "
        "this guideline cannot decide: we expect conditional with the program exception cited.",
        expect("conditional", ["program"], ["program.fep"],
               "FEP members follow FEP guidelines (program.fep), not 09-J0000-45."),
        chart, role_user(chart), [draft_anakinra(chart)])


def s_ra_part_d() -> Fixture:
    chart = ra_complete_chart("ra-complete-part-d", mrn_no=1000124, given="Mildred", family="Fairweather",
                              birth="1952-08-30", sopt="122",
                              plan_name="Florida Blue Medicare Part D Prescription Drug Plan", plan_value="PDP-S9999")
    return Fixture(
        "ra-complete-part-d", "order-sign",
        "The ra-complete chart (73-year-old woman) with a stand-alone Medicare Part D plan (Source of Payment "
        "Typology 122). Coverage determinations for Part D are delegated to Prime Therapeutics: we expect "
        "conditional with the program exception cited.",
        expect("conditional", ["program"], ["program.medicare-part-d"],
               "Medicare Part D determinations are delegated (program.medicare-part-d)."),
        chart, role_user(chart), [draft_anakinra(chart)])


def s_ra_medicare_advantage() -> Fixture:
    chart = ra_complete_chart("ra-complete-medicare-advantage", mrn_no=1000125, given="Albert", family="Vukovich",
                              gender="male", birth="1957-01-19", sopt="112",
                              plan_name="Florida Blue Medicare Advantage PPO", plan_value="H9999-001")
    return Fixture(
        "ra-complete-medicare-advantage", "order-sign",
        "The ra-complete chart with a Medicare Advantage PPO (Source of Payment Typology 112). No NCD/LCD exists "
        "(program.medicare-advantage), so this guideline applies as written and the chart meets it.",
        expect("covered", ["none"], ["table1.ra.1.a", "table1.ra.2.a"],
               "Medicare Advantage: no NCD/LCD, the guideline applies; every initiation clause is met."),
        chart, role_user(chart), [draft_anakinra(chart)])


SCENARIOS = (
    s_ra_complete, s_ra_missing_preferred, s_ra_on_humira, s_ra_on_tofacitinib, s_dose_200mg, s_qty_56,
    s_office_administered, s_nomid_child_lb, s_nomid_child_overdose, s_dira_infant, s_medref_ndc,
    s_medref_prefetch_ndc11, s_non_anakinra, s_order_select_ra, s_ra_no_specialist, s_ra_renal, s_ra_allergy,
    s_covid_inpatient, s_misc_child, s_ra_continuation, s_ra_mtx_intolerance, s_ra_preferred_2b, s_ra_fep,
    s_ra_part_d, s_ra_medicare_advantage,
)


# --------------------------------------------------------------------------------------
# Demo patients for the CDS Hooks Sandbox (README.md, "Demo in the CDS Hooks Sandbox")
# --------------------------------------------------------------------------------------
#
# The Sandbox drafts every order the same way: `1 {pill}` once daily, a 30-day supply, no
# quantity, no route, category community, no requester, and context.userId is always
# Practitioner/COREPRACTITIONER1. These charts are chosen so that, with that draft of Kineret
# (RxNorm 727711, offered by the demo card), each one shows one headline outcome. They live in
# `bundles/demo-*.json` (loaded into the embedded FHIR server with the other charts) and are
# described in `demo.json`; they have no request file (the Sandbox builds the request).
#
# Patient ids are the short slugs themselves (`demo-ra-covered`), typed into the Sandbox URL.
# The Sandbox sends today's date as authoredOn, so every demo Bundle is tagged
# DEMO_RELATIVE_DATES_TAG with `timestamp` = AS_OF: loaders (cds_service.embedded_fhir) shift all
# its dates by (load date - AS_OF), and the charts look the same relative to the order whatever
# the day of the demo (a weight two weeks old stays two weeks old).

SANDBOX_USER_ID = "COREPRACTITIONER1"          # the Sandbox's fixed context.userId: Practitioner/COREPRACTITIONER1
SANDBOX_USER_SLUG = "demo-sandbox-user"
DEMO_RELATIVE_DATES_TAG = {"system": "urn:anakinra-cds:fixtures", "code": "dates-relative-to-timestamp",
                           "display": "Dates are written as of Bundle.timestamp; loaders may shift them to the load date"}


class DemoChart(Chart):
    """A chart whose Patient id is the slug itself (short, typed into the Sandbox URL)."""

    def rid(self, suffix: str) -> str:
        return self.slug if suffix == "pat" else super().rid(suffix)


@dataclass
class DemoPatient:
    chart: Chart
    title: str
    description: str
    expect: dict            # hook -> {"determination", "findings"} (index.json vocabulary)

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
        "name": [{"use": "official", "family": "Sandbox-Rheumatologist", "given": ["Casey"], "prefix": ["Dr."],
                  "suffix": ["MD"]}],
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
    chart = ra_patient(DemoChart("demo-ra-covered"), given="Lorena", family="Villaseñor", gender="female",
                       birth="1976-06-09", mrn_no=1000201)
    ra_history(chart, ["humira", "enbrel", "xeljanz"])
    standard_labs(chart, weight_kg=68.5)
    penicillin_allergy(chart)
    return DemoPatient(
        chart, "RA, step therapy complete: covered",
        "Seropositive RA (M05.79), 49-year-old woman: methotrexate 6 months, then Humira, Enbrel and Xeljanz each "
        ">= 3 months, all stopped for inadequate response; weight and neutrophils two weeks old; commercial PPO. "
        "Every initiation clause is met by the Sandbox's draft (100 mg daily, 30 syringes per 30 days) and the "
        "Sandbox user, a rheumatologist.",
        {"order-select": sandbox_shows("covered", ["none"]), "order-sign": sandbox_shows("covered", ["none"])})


def d_ra_step_therapy() -> DemoPatient:
    chart = ra_patient(DemoChart("demo-ra-step-therapy"), given="Wendell", family="Achebe-Lund", gender="male",
                       birth="1969-09-22", mrn_no=1000202, city="Orlando", zipcode="32899")
    ra_history(chart, ["humira"])
    standard_labs(chart, weight_kg=84.0)
    return DemoPatient(
        chart, "RA, preferred products missing: step therapy card",
        "Seropositive RA; methotrexate 6 months, then only Humira (4 months, inadequate response). Two of the three "
        "preferred products required by table1.ra.2 are missing from the chart.",
        {"order-select": sandbox_shows("conditional", ["step-therapy"]),
         "order-sign": sandbox_shows("conditional", ["step-therapy"])})


def d_ra_adalimumab() -> DemoPatient:
    chart = ra_patient(DemoChart("demo-ra-adalimumab"), given="Ingrid", family="Mwangi-Holloway", gender="female",
                       birth="1972-04-30", mrn_no=1000203, city="Tampa", zipcode="33699")
    ra_history(chart, ["enbrel", "xeljanz", "rinvoq"], active="humira")
    standard_labs(chart, weight_kg=71.2)
    return DemoPatient(
        chart, "RA on adalimumab: combination card",
        "RA with methotrexate, Enbrel, Xeljanz and Rinvoq stopped for inadequate response (step therapy met), but "
        "Humira (adalimumab, a TNF antagonist) started five months before the order is still active. Kineret would be "
        "added to it: a prohibited combination (initiation.4, precautions.tnf).",
        {"order-select": sandbox_shows("not-covered", ["combination"]),
         "order-sign": sandbox_shows("not-covered", ["combination"])})


def d_nomid_weight() -> DemoPatient:
    chart = pediatric_chart("demo-nomid-weight", given="Tobias", family="Rautenberg", gender="male",
                            birth="2022-11-16", mrn_no=1000204, dx=NOMID_DX, dx_onset="2023-01-09",
                            chart=DemoChart("demo-nomid-weight"))
    chart.add_weight(11.0, "kg", "2026-02-23", suffix="wt-1")
    chart.add_weight(10.4, "kg", "2025-08-25", suffix="wt-0")
    chart.add_lab("anc", 3.9, "2026-02-23", suffix="anc-1")
    chart.add_lab("crp", 52.0, "2026-02-23", suffix="crp-1", clock="08:12:00", interpretation="H")
    chart.add_lab("creatinine", 0.32, "2026-02-23", suffix="cr-1", clock="08:13:00")
    return DemoPatient(
        chart, "NOMID child, 11 kg: weight-based dose card",
        "3-year-old boy with NOMID (M04.2), weight 11.0 kg one week before the order. The Sandbox's draft is 100 mg "
        "daily = 9.1 mg/kg/day, above the labeled NOMID maximum of 8 mg/kg/day (dosage.nomid-dira); 100 mg is within "
        "initiation.5.a, so only the weight-based limit fails.",
        {"order-select": sandbox_shows("conditional", ["weight-dose"]),
         "order-sign": sandbox_shows("conditional", ["weight-dose"])})


def d_ra_renal() -> DemoPatient:
    chart = ra_patient(DemoChart("demo-ra-renal"), given="Margarethe", family="Oyelowo", gender="female",
                       birth="1953-10-05", mrn_no=1000205, city="Sarasota", zipcode="34299")
    ra_history(chart, ["humira", "enbrel", "xeljanz"])
    chart.add_condition({"icd": "N18.4", "icd_display": "Chronic kidney disease, stage 4 (severe)",
                         "text": "Chronic kidney disease, stage 4"}, onset="2024-10-14", suffix="dx-ckd",
                        primary=False)
    standard_labs(chart, weight_kg=55.0, creatinine=2.2)
    chart.add_lab("creatinine", 2.0, "2025-08-18", suffix="cr-0")
    return DemoPatient(
        chart, "RA with CrCl below 30 mL/min: renal dosing card",
        "RA with complete step therapy; 72-year-old woman, creatinine 2.2 mg/dL and weight 55 kg two weeks before the "
        "order, CKD stage 4 on the problem list. Cockcroft-Gault: (140-72) x 55 / (72 x 2.2) x 0.85 = 20 mL/min, "
        "so the dose should be considered every other day (dosage.renal); covered.",
        {"order-select": sandbox_shows("covered", ["renal"]), "order-sign": sandbox_shows("covered", ["renal"])})


DEMO_PATIENTS = (d_ra_covered, d_ra_step_therapy, d_ra_adalimumab, d_nomid_weight, d_ra_renal)


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
        "entry": [{
            "fullUrl": f"{FHIR_SERVER}/{r['resourceType']}/{r['id']}",
            "resource": copy.deepcopy(r),
            "request": {"method": "PUT", "url": f"{r['resourceType']}/{r['id']}"},
        } for r in resources],
    }


def build_demo_manifest(demos: list[DemoPatient]) -> dict:
    return {
        "about": "Demo patients for the CDS Hooks Sandbox (README.md, section Demo in the CDS Hooks Sandbox). `expect` says what the Sandbox shows for "
                 "its own draft of Kineret (1 {pill} daily, 30-day supply, community, no requester), per hook, in "
                 "the vocabulary of index.json. Dates in the bundles are relative to `datesRelativeTo`.",
        "datesRelativeTo": AUTHORED_ON,
        "sandboxUser": f"Practitioner/{SANDBOX_USER_ID}",
        "bundles": [f"bundles/{SANDBOX_USER_SLUG}.json"] + [f"bundles/{d.chart.slug}.json" for d in demos],
        "patients": [{"patientId": d.patient_id, "title": d.title, "description": d.description,
                      "conditions": [r["code"]["text"] for r in d.chart.resources if r["resourceType"] == "Condition"],
                      "expect": d.expect} for d in demos],
    }


# --------------------------------------------------------------------------------------
# Answering prefetch templates against a chart (a tiny FHIR search engine)
# --------------------------------------------------------------------------------------

PATIENT_PARAM = {"Coverage": "beneficiary", "AllergyIntolerance": "patient", "Immunization": "patient",
                 "ClaimResponse": "patient"}
DATE_PATHS = {
    "Observation": ("effectiveDateTime", "effectivePeriod.start", "effectiveInstant", "issued"),
    "Encounter": ("period.start",),
    "Procedure": ("performedDateTime", "performedPeriod.start"),
    "MedicationRequest": ("authoredOn",),
    "Condition": ("recordedDate", "onsetDateTime"),
}


class TemplateError(ValueError):
    """A prefetch template this generator cannot answer: extend answer_template rather than guess."""


def _get(resource: dict, path: str):
    value = resource
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def _when(value: str) -> datetime:
    if len(value) == 10:
        value += "T00:00:00" + TZ
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _sort_key(resource: dict) -> datetime | None:
    for path in DATE_PATHS.get(resource["resourceType"], ()):
        value = _get(resource, path)
        if value:
            return _when(value)
    return None


def _ref_matches(reference: dict | None, rtype: str, rid: str) -> bool:
    if not reference or "reference" not in reference:
        return False
    return reference["reference"] in (f"{rtype}/{rid}", f"{FHIR_SERVER}/{rtype}/{rid}")


def _token_matches(concept_: dict | None, tokens: list[str]) -> bool:
    codings = (concept_ or {}).get("coding", [])
    for token in tokens:
        system, sep, code = token.rpartition("|")
        for c in codings:
            if c.get("code") == code and (not sep or c.get("system") == system):
                return True
    return False


def resolve_tokens(template: str, context: dict, resources: list[dict]) -> str:
    user_type, _, user_id = context["userId"].partition("/")
    practitioner_id = user_id if user_type == "Practitioner" else None
    if user_type == "PractitionerRole":
        role = next(r for r in resources if r["resourceType"] == "PractitionerRole" and r["id"] == user_id)
        practitioner_id = role["practitioner"]["reference"].split("/")[-1]
    tokens = {"userPractitionerId": practitioner_id,
              "userPractitionerRoleId": user_id if user_type == "PractitionerRole" else None}
    out = template
    while "{{" in out:
        start = out.index("{{")
        end = out.index("}}", start)
        name = out[start + 2:end].strip()
        if name.startswith("context."):
            value = context.get(name[len("context."):])
        elif name in tokens:
            value = tokens[name]
        else:
            raise TemplateError(f"unknown prefetch token {{{{{name}}}}}")
        if not isinstance(value, str) or not value:
            raise TemplateError(f"prefetch token {{{{{name}}}}} has no value in this context")
        out = out[:start] + value + out[end + 2:]
    return out


def answer_template(template: str, context: dict, resources: list[dict], *, include_medications: bool = False,
                    extra_medication_refs: tuple[dict, ...] = ()) -> dict | None:
    """What a FHIR server holding `resources` answers to the prefetch template."""
    url = resolve_tokens(template, context, resources)
    if "?" not in url:
        rtype, _, rid = url.partition("/")
        if not rid or "/" in rid:
            raise TemplateError(f"not a read: {url}")
        return next((copy.deepcopy(r) for r in resources if r["resourceType"] == rtype and r["id"] == rid), None)
    rtype, _, query = url.partition("?")
    matches = [r for r in resources if r["resourceType"] == rtype]
    sort: str | None = None
    count: int | None = None
    for name, value in parse_qsl(query, keep_blank_values=True, strict_parsing=True):
        if name == "patient":
            path = PATIENT_PARAM.get(rtype, "subject")
            matches = [r for r in matches if _ref_matches(r.get(path), "Patient", value.split("/")[-1])]
        elif name == "practitioner" and rtype == "PractitionerRole":
            matches = [r for r in matches if _ref_matches(r.get("practitioner"), "Practitioner", value)]
        elif name == "status":
            allowed = value.split(",")
            matches = [r for r in matches if r.get("status") in allowed]
        elif name == "code":
            matches = [r for r in matches if _token_matches(r.get("code"), value.split(","))]
        elif name == "_sort":
            sort = value
        elif name == "_count":
            count = int(value)
        else:
            raise TemplateError(f"search parameter {name!r} of {url!r} is not supported by build.py")
    if sort is not None:
        if sort not in ("date", "-date") or rtype not in DATE_PATHS:
            raise TemplateError(f"_sort={sort} on {rtype} is not supported by build.py")
        dated = [r for r in matches if _sort_key(r) is not None]
        undated = [r for r in matches if _sort_key(r) is None]
        dated.sort(key=_sort_key, reverse=sort.startswith("-"))
        matches = dated + undated
    if count is not None:
        matches = matches[:count]
    entries = [{"fullUrl": f"{FHIR_SERVER}/{r['resourceType']}/{r['id']}", "resource": copy.deepcopy(r),
                "search": {"mode": "match"}} for r in matches]
    if include_medications:
        wanted: list[str] = []
        for r in [*matches, *extra_medication_refs]:
            reference = (r.get("medicationReference") or {}).get("reference", "")
            if reference.startswith("Medication/") and reference not in wanted:
                wanted.append(reference)
        for reference in wanted:
            med = next((m for m in resources if f"Medication/{m['id']}" == reference
                        and m["resourceType"] == "Medication"), None)
            if med is None:
                raise TemplateError(f"{reference} is referenced but not in the chart")
            entries.append({"fullUrl": f"{FHIR_SERVER}/{reference}", "resource": copy.deepcopy(med),
                            "search": {"mode": "include"}})
    bundle = {
        "resourceType": "Bundle",
        "id": fixed_uuid(context["patientId"], template),
        "meta": {"lastUpdated": BUNDLE_TIMESTAMP},
        "type": "searchset",
        "total": len(matches),
        "link": [{"relation": "self", "url": f"{FHIR_SERVER}/{url}"}],
    }
    if entries:
        bundle["entry"] = entries
    return bundle


# --------------------------------------------------------------------------------------
# Assembling the files
# --------------------------------------------------------------------------------------

def build_request(fx: Fixture) -> dict:
    context: dict = {"userId": fx.user, "patientId": fx.patient_id}
    if fx.encounter_id:
        context["encounterId"] = fx.encounter_id
    if fx.selections is not None:
        context["selections"] = list(fx.selections)
    context["draftOrders"] = {"resourceType": "Bundle", "type": "collection",
                              "entry": [{"resource": copy.deepcopy(o)} for o in fx.drafts]}
    prefetch = {}
    for need in data_needs():
        includes = "Medication" in need.resource_types and not need.single
        extra = tuple(fx.drafts) if need.key == "medicationRequests" else ()
        prefetch[need.key] = answer_template(need.template, context, fx.chart.resources,
                                             include_medications=includes, extra_medication_refs=extra)
    return {
        "hook": fx.hook,
        "hookInstance": fixed_uuid("hookInstance", fx.slug),
        "fhirServer": FHIR_SERVER,
        "context": context,
        "prefetch": prefetch,
    }


def build_bundle(fx: Fixture) -> dict:
    return {
        "resourceType": "Bundle",
        "id": fixed_uuid("transaction", fx.slug),
        "type": "transaction",
        "entry": [{
            "fullUrl": f"{FHIR_SERVER}/{r['resourceType']}/{r['id']}",
            "resource": copy.deepcopy(r),
            "request": {"method": "PUT", "url": f"{r['resourceType']}/{r['id']}"},
        } for r in fx.chart.resources],
    }


def build_index_entry(fx: Fixture) -> dict:
    return {
        "slug": fx.slug,
        "hook": fx.hook,
        "patientId": fx.patient_id,
        "description": fx.description,
        "draftOrders": [f"{o['resourceType']}/{o['id']}" for o in fx.drafts],
        "expect": fx.expect,
    }


def fixtures() -> list[Fixture]:
    out = [make() for make in SCENARIOS]
    seen: set[str] = set()
    for fx in out:
        if fx.slug in seen:
            raise ValueError(f"duplicate scenario slug {fx.slug}")
        seen.add(fx.slug)
        for r in [*fx.chart.resources, *fx.drafts]:
            if not r["id"].startswith(fx.slug + "-"):
                raise ValueError(f"{r['resourceType']}/{r['id']} does not start with its slug {fx.slug}")
    return out


def dumps(data) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def build_all() -> dict[str, str]:
    """Every generated file: path relative to fhir_fixtures/ -> text."""
    files: dict[str, str] = {}
    index = []
    for fx in fixtures():
        files[f"requests/{fx.slug}.json"] = dumps(build_request(fx))
        files[f"bundles/{fx.slug}.json"] = dumps(build_bundle(fx))
        index.append(build_index_entry(fx))
    files["index.json"] = dumps(index)
    demos = demo_patients()
    files[f"bundles/{SANDBOX_USER_SLUG}.json"] = dumps(build_demo_bundle(SANDBOX_USER_SLUG, sandbox_user_resources()))
    for demo in demos:
        files[f"bundles/{demo.chart.slug}.json"] = dumps(build_demo_bundle(demo.chart.slug, demo.chart.resources))
    files["demo.json"] = dumps(build_demo_manifest(demos))
    return files


GENERATED_DIRS = ("requests", "bundles")


def stale_files(files: dict[str, str], root: Path = FIXTURES_DIR) -> list[str]:
    """Files that differ from `files`, are missing, or are generated leftovers no scenario makes."""
    problems = [rel for rel, text in files.items()
                if not (root / rel).is_file() or (root / rel).read_text(encoding="utf-8") != text]
    for sub in GENERATED_DIRS:
        for path in sorted((root / sub).glob("*.json")) if (root / sub).is_dir() else []:
            rel = f"{sub}/{path.name}"
            if rel not in files:
                problems.append(rel)
    return problems


def write(files: dict[str, str], root: Path = FIXTURES_DIR) -> None:
    for sub in GENERATED_DIRS:
        (root / sub).mkdir(parents=True, exist_ok=True)
        for path in (root / sub).glob("*.json"):
            if f"{sub}/{path.name}" not in files:
                path.unlink()
    for rel, text in files.items():
        (root / rel).write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when a generated file is out of date")
    args = parser.parse_args(argv)
    files = build_all()
    if args.check:
        problems = stale_files(files)
        for rel in problems:
            print(f"stale: fhir_fixtures/{rel}", file=sys.stderr)
        return 1 if problems else 0
    write(files)
    print(f"wrote {len(files)} files under {FIXTURES_DIR}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
