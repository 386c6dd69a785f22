"""`Chart`: the resources of one synthetic patient (patient, prescriber, coverage, problems, medication
history, labs, encounters), with fixed ids that start with the chart's slug.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import timedelta

from .codes import AUTHORED_ON, DRUGS, SOPT, SPECIALTIES, SYS, US_CORE, UUID_NAMESPACE
from .datatypes import coding, concept, d, diagnosis_concept, dt, npi_for, quantity, ref, route_concept


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

    def add_patient(
        self, *, given: str, family: str, gender: str, birth: str, city: str, zipcode: str, phone: str, mrn: str
    ) -> dict:
        self.patient = self.add(
            {
                "resourceType": "Patient",
                "id": self.rid("pat"),
                "meta": {"profile": [US_CORE + "us-core-patient"]},
                "identifier": [
                    {
                        "use": "usual",
                        "type": concept(coding("v2-0203", "MR", "Medical Record Number"), text="MRN"),
                        "system": SYS["mrn"],
                        "value": mrn,
                    }
                ],
                "active": True,
                "name": [{"use": "official", "family": family, "given": given.split()}],
                "telecom": [
                    {"system": "phone", "value": phone, "use": "home"},
                    {"system": "email", "value": f"{given.split(maxsplit=1)[0].lower()}.{family.lower()}@example.com"},
                ],
                "gender": gender,
                "birthDate": birth,
                "address": [
                    {
                        "use": "home",
                        "type": "physical",
                        "line": [f"{100 + len(self.slug) * 7} Example Street"],
                        "city": city,
                        "state": "FL",
                        "postalCode": zipcode,
                        "country": "US",
                    }
                ],
                "communication": [
                    {
                        "language": concept(
                            coding("urn:ietf:bcp:47", "en-US", "English (United States)"), text="English"
                        ),
                        "preferred": True,
                    }
                ],
            }
        )
        return self.patient

    def add_prescriber(
        self, *, specialty: str, given: str, family: str, org: str, gender: str = "female", suffix: str = "rheum"
    ) -> tuple[dict, dict]:
        code, display, text = SPECIALTIES[specialty]
        practitioner = self.add(
            {
                "resourceType": "Practitioner",
                "id": self.rid(f"dr-{suffix}"),
                "meta": {"profile": [US_CORE + "us-core-practitioner"]},
                "identifier": [{"system": SYS["npi"], "value": npi_for(self.rid(f"dr-{suffix}"))}],
                "active": True,
                "name": [{"use": "official", "family": family, "given": [given], "prefix": ["Dr."], "suffix": ["MD"]}],
                "gender": gender,
            }
        )
        role = self.add(
            {
                "resourceType": "PractitionerRole",
                "id": self.rid(f"role-{suffix}"),
                "meta": {"profile": [US_CORE + "us-core-practitionerrole"]},
                "active": True,
                "practitioner": ref(practitioner, f"Dr. {given} {family}, MD"),
                "organization": {"display": org},
                "code": [concept(coding("practitioner-role", "doctor", "Doctor"), text="Physician")],
                "specialty": [concept(coding("nucc", code, display), text=text)],
                "telecom": [{"system": "phone", "value": "(904) 555-0142", "use": "work"}],
            }
        )
        if self.prescriber_role is None:
            self.prescriber, self.prescriber_role = practitioner, role
        return practitioner, role

    # ---- administrative -----------------------------------------------------------

    def add_coverage(
        self,
        *,
        sopt: str = "512",
        plan_name: str = "Florida Blue PPO",
        plan_value: str | None = None,
        subscriber_id: str | None = None,
        relationship: str = "self",
        group_name: str = "Synthetic Employer Group",
    ) -> dict:
        classes = [
            {
                "type": concept(coding("coverage-class", "group", "Group")),
                "value": f"GRP-{abs(hash_int(self.slug)) % 90000 + 10000}",
                "name": group_name,
            },
            {
                "type": concept(coding("coverage-class", "plan", "Plan")),
                "value": plan_value or f"PLN-{sopt}",
                "name": plan_name,
            },
            {"type": concept(coding("coverage-class", "rxbin", "RX BIN")), "value": "999999"},
            {"type": concept(coding("coverage-class", "rxpcn", "RX PCN")), "value": "SYNTH"},
        ]
        cov = {
            "resourceType": "Coverage",
            "id": self.rid("cov"),
            "meta": {"profile": [US_CORE + "us-core-coverage"]},
            "identifier": [
                {
                    "type": concept(coding("v2-0203", "MB", "Member Number")),
                    "system": "urn:oid:2.16.840.1.113883.3.9999.2",
                    "value": subscriber_id or f"MBR-{self.slug.upper()}-01",
                }
            ],
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

    def add_encounter(
        self,
        *,
        kind: str = "AMB",
        start: str = AUTHORED_ON,
        clock: str = "08:45:00",
        status: str = "in-progress",
        reason: dict | None = None,
        type_text: str | None = None,
        current: bool = True,
        suffix: str = "enc",
    ) -> dict:
        classes = {"AMB": "ambulatory", "IMP": "inpatient encounter"}
        enc = {
            "resourceType": "Encounter",
            "id": self.rid(suffix),
            "meta": {"profile": [US_CORE + "us-core-encounter"]},
            "status": status,
            "class": coding("act", kind, classes[kind]),
            "type": [
                concept(
                    text=type_text or ("Established patient office visit" if kind == "AMB" else "Hospital admission")
                )
            ],
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

    def add_condition(
        self,
        dx: dict,
        *,
        onset: str,
        suffix: str = "dx",
        status: str = "active",
        abatement: str | None = None,
        encounter: dict | None = None,
        primary: bool = True,
    ) -> dict:
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
        return self.add(
            {
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
            }
        )

    def add_lab(
        self, kind: str, value, on: str, *, suffix: str, clock: str = "08:10:00", interpretation: str | None = None
    ) -> dict:
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

    def add_allergy(
        self,
        *,
        suffix: str,
        code: dict,
        kind: str,
        criticality: str,
        onset: str,
        manifestation: dict,
        severity: str = "moderate",
        note: str | None = None,
    ) -> dict:
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
        return self.add(
            {
                "resourceType": "Immunization",
                "id": self.rid(suffix),
                "meta": {"profile": [US_CORE + "us-core-immunization"]},
                "status": "completed",
                "vaccineCode": concept(coding("cvx", cvx, display), text=display),
                "patient": ref(self.patient),
                "occurrenceDateTime": on,
                "primarySource": True,
            }
        )

    # ---- medications --------------------------------------------------------------

    def add_medication(
        self, *, suffix: str, codings: list[dict], text: str, manufacturer: str | None = None, form: str | None = None
    ) -> dict:
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

    def add_therapy(self, therapy: Therapy) -> list[dict]:
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
                "requester": ref(self.prescriber_role, practitioner_display(self.prescriber)),
                "courseOfTherapyType": concept(
                    coding(
                        "mr-course",
                        therapy.course,
                        {"continuous": "Continuous long term therapy", "acute": "Short course (acute) therapy"}[
                            therapy.course
                        ],
                    )
                ),
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

    def _dosage(self, drug: dict, therapy: Therapy, *, with_bounds: bool) -> dict:
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


def practitioner_display(practitioner: dict | None) -> str | None:
    if not practitioner:
        return None
    name = practitioner["name"][0]
    return f"Dr. {' '.join(name['given'])} {name['family']}, MD"


def hash_int(text: str) -> int:
    return uuid.uuid5(UUID_NAMESPACE, text).int


@dataclass
class Therapy:
    drug: str
    start: str
    end: str | None
    status: str  # completed | stopped | active
    reason_text: str | None = None  # statusReason text (stopped ones)
    record: tuple[str, ...] = ("statement", "request")
    tag: str = ""  # id suffix when the same drug appears twice
    refills: int = 5
    category: str = "community"
    course: str = "continuous"
    sig: str | None = None
    source: str = "prescriber"  # who asserted the MedicationStatement: prescriber | patient
    asserted: str | None = None
    note: str | None = None
    for_dx: bool = True
    medication_ref: dict | None = None
    encounter: dict | None = None


LABS = {
    "creatinine": {
        "loinc": "2160-0",
        "display": "Creatinine [Mass/volume] in Serum or Plasma",
        "text": "Creatinine, serum",
        "unit": "mg/dL",
        "range": (0.5, 1.1),
    },
    "anc": {
        "loinc": "751-8",
        "display": "Neutrophils [#/volume] in Blood by Automated count",
        "text": "Neutrophils, absolute (automated)",
        "unit": "10*3/uL",
        "range": (1.5, 7.8),
    },
    "crp": {
        "loinc": "1988-5",
        "display": "C reactive protein [Mass/volume] in Serum or Plasma",
        "text": "C-reactive protein",
        "unit": "mg/L",
        "range": (None, 10),
    },
    "esr": {
        "loinc": "4537-7",
        "display": "Erythrocyte sedimentation rate by Westergren method",
        "text": "Sedimentation rate, Westergren",
        "unit": "mm/h",
        "range": (0, 20),
    },
    "sars-cov-2-pcr": {
        "loinc": "94500-6",
        "display": "SARS-CoV-2 (COVID-19) RNA [Presence] in Respiratory system specimen by NAA with probe detection",
        "text": "SARS-CoV-2 RNA, respiratory (PCR)",
        "coded": True,
    },
}
DETECTED = ("260373001", "Detected")
