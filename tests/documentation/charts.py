"""A synthetic RA chart whose only gaps are what the prescriber can state (for the documentation loop tests).

Built from the `ra-no-specialist` fixture request (a family physician prescribing): the step-therapy history is
taken out (Table 1 is then not shown: initiation 1.c stays open), and the member is on anakinra by a
MedicationStatement since early January with no dispensing record (1.a cannot rule out samples). What stays open
is initiation 1.b (treated in the past 90 days, not samples, at risk if changed) and initiation 2 (specialist).
"""

from __future__ import annotations

import copy

from tests.conftest import load_request

EMPTY_BUNDLE = {"resourceType": "Bundle", "type": "searchset", "total": 0, "entry": []}


def statement_gaps_request(questionnaire_responses: list[dict] | None = None) -> dict:
    req = copy.deepcopy(load_request("ra-no-specialist"))
    pid = req["context"]["patientId"]
    statements = req["prefetch"]["medicationStatements"]
    kept = [e for e in statements["entry"] if e["resource"]["id"].endswith("prednisone")]
    kept.append(
        {
            "resource": {
                "resourceType": "MedicationStatement",
                "id": "gaps-ms-anakinra",
                "status": "active",
                "medicationCodeableConcept": {
                    "coding": [
                        {
                            "system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                            "code": "727711",
                            "display": "0.67 ML anakinra 149 MG/ML Prefilled Syringe",
                        }
                    ],
                    "text": "Kineret 100 mg/0.67 mL syringe",
                },
                "subject": {"reference": f"Patient/{pid}"},
                "effectivePeriod": {"start": "2026-01-05"},
                "dateAsserted": "2026-02-20",
                "dosage": [{"text": "100 mg subcutaneously once daily"}],
            }
        }
    )
    statements["entry"] = kept
    statements["total"] = len(kept)
    bundle = copy.deepcopy(EMPTY_BUNDLE)
    for qr in questionnaire_responses or ():
        bundle["entry"].append({"resource": qr})
    bundle["total"] = len(bundle["entry"])
    req["prefetch"]["questionnaireResponses"] = bundle
    return req


def draft_order(req: dict) -> dict:
    return req["context"]["draftOrders"]["entry"][0]["resource"]


def coverage(req: dict) -> dict:
    return req["prefetch"]["coverage"]["entry"][0]["resource"]
