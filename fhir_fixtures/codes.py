"""Code tables and fixed values shared by every chart: the fixtures' day, code systems, NUCC specialties,
payer types, the drug products of the histories, routes and the RA diagnosis.
"""

from __future__ import annotations

import uuid
from datetime import date

AS_OF = date(2026, 3, 2)
AUTHORED_ON = AS_OF.isoformat()
FHIR_SERVER = "http://127.0.0.1:8913/fhir"
TZ = "-05:00"  # Florida, Eastern Standard Time
BUNDLE_TIMESTAMP = "2026-03-02T14:30:00Z"
UUID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:anakinra-cds:fhir_fixtures")

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
    "methotrexate": {
        "rx": "6851",
        "display": "methotrexate",
        "text": "Methotrexate 2.5 mg oral tablet",
        "sig": "Take 20 mg (8 tablets) by mouth once weekly, titrated to 25 mg (10 tablets) once weekly",
        "dose": 25,
        "unit": "mg",
        "freq": (1, 1, "wk"),
        "route": "oral",
        "dispense": (40, "tablet", "{tbl}", 28),
    },
    "hydroxychloroquine": {
        "rx": "5521",
        "display": "hydroxychloroquine",
        "text": "Hydroxychloroquine sulfate 200 mg oral tablet",
        "sig": "Take 200 mg by mouth twice daily",
        "dose": 200,
        "unit": "mg",
        "freq": (2, 1, "d"),
        "route": "oral",
        "dispense": (60, "tablet", "{tbl}", 30),
    },
    "humira": {
        "rx": "327361",
        "display": "adalimumab",
        "text": "Humira (adalimumab) 40 mg/0.4 mL pen",
        "sig": "Inject 40 mg subcutaneously every 14 days",
        "dose": 40,
        "unit": "mg",
        "freq": (1, 2, "wk"),
        "route": "subcutaneous",
        "dispense": (2, "pen", "{pen}", 28),
    },
    "enbrel": {
        "rx": "214555",
        "display": "etanercept",
        "text": "Enbrel (etanercept) 50 mg/mL SureClick autoinjector",
        "sig": "Inject 50 mg subcutaneously once weekly",
        "dose": 50,
        "unit": "mg",
        "freq": (1, 1, "wk"),
        "route": "subcutaneous",
        "dispense": (4, "autoinjector", "{autoinjector}", 28),
    },
    "xeljanz": {
        "rx": "1357536",
        "display": "tofacitinib",
        "text": "Xeljanz (tofacitinib) 5 mg oral tablet",
        "sig": "Take 5 mg by mouth twice daily",
        "dose": 5,
        "unit": "mg",
        "freq": (2, 1, "d"),
        "route": "oral",
        "dispense": (60, "tablet", "{tbl}", 30),
    },
    "rinvoq": {
        "rx": "2196092",
        "display": "upadacitinib",
        "text": "Rinvoq (upadacitinib) 15 mg extended-release oral tablet",
        "sig": "Take 15 mg by mouth once daily",
        "dose": 15,
        "unit": "mg",
        "freq": (1, 1, "d"),
        "route": "oral",
        "dispense": (30, "tablet", "{tbl}", 30),
    },
    "prednisone": {
        "rx": "8640",
        "display": "prednisone",
        "text": "Prednisone 5 mg oral tablet",
        "sig": "Take 5 mg by mouth once daily with breakfast",
        "dose": 5,
        "unit": "mg",
        "freq": (1, 1, "d"),
        "route": "oral",
        "dispense": (30, "tablet", "{tbl}", 30),
    },
    "kineret": {
        "rx": "727714",
        "display": "0.67 ML anakinra 149 MG/ML Prefilled Syringe [Kineret]",
        "text": "Kineret (anakinra) 100 mg/0.67 mL prefilled syringe",
        "sig": "Inject 100 mg subcutaneously once daily",
        "dose": 100,
        "unit": "mg",
        "freq": (1, 1, "d"),
        "route": "subcutaneous",
        "dispense": (28, "syringe", "{syringe}", 28),
    },
    "ivig": {
        "rx": "5666",
        "display": "immunoglobulin G",
        "text": "Immune globulin intravenous (human) 10% solution",
        "sig": "2 g/kg (60 g) intravenously once over 12 hours",
        "dose": 60,
        "unit": "g",
        "freq": None,
        "route": "intravenous",
        "dispense": None,
    },
    "methylprednisolone": {
        "rx": "6902",
        "display": "methylprednisolone",
        "text": "Methylprednisolone sodium succinate injection",
        "sig": "30 mg (1 mg/kg) intravenously every 12 hours",
        "dose": 30,
        "unit": "mg",
        "freq": (2, 1, "d"),
        "route": "intravenous",
        "dispense": None,
    },
}

ROUTES = {
    "subcutaneous": ("34206005", "Subcutaneous route"),
    "oral": ("26643006", "Oral route"),
    "intravenous": ("47625008", "Intravenous route"),
}

RA_DX = {
    "icd": "M05.79",
    "icd_display": "Rheumatoid arthritis with rheumatoid factor of multiple sites without organ or systems involvement",
    "snomed": "239791005",
    "snomed_display": "Seropositive rheumatoid arthritis",
    "text": "Seropositive rheumatoid arthritis of multiple sites",
}
