"""Suggestions that change the order so it can be approved (CRD "Propose Alternate Request")."""

from __future__ import annotations

import copy
import uuid

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
UCUM = "http://unitsofmeasure.org"
SNOMED = "http://snomed.info/sct"
CATEGORY_CS = "http://terminology.hl7.org/CodeSystem/medicationrequest-category"


def standard_dosage() -> list[dict]:
    return [{
        "text": "Inject 100 mg subcutaneously once daily, at about the same time every day",
        "timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}},
        "route": {"coding": [{"system": SNOMED, "code": "34206005", "display": "Subcutaneous route"}]},
        "doseAndRate": [{"doseQuantity": {"value": 100, "unit": "mg", "system": UCUM, "code": "mg"}}],
    }]


def standard_dispense(existing: dict | None) -> dict:
    out = copy.deepcopy(existing) if isinstance(existing, dict) else {}
    out["quantity"] = {"value": 28, "unit": "syringe", "system": UCUM, "code": "{syringe}"}
    out["expectedSupplyDuration"] = {"value": 28, "unit": "days", "system": UCUM, "code": "d"}
    return out


def _suggestion(label: str, actions: list[dict], recommended: bool = True) -> dict:
    return {"label": label, "uuid": str(uuid.uuid4()), "isRecommended": recommended, "actions": actions}


def self_administered(order: dict) -> dict:
    res = copy.deepcopy(order)
    res["category"] = [{"coding": [{"system": CATEGORY_CS, "code": "community", "display": "Community"}]}]
    for key in ("performer", "performerType"):
        res.pop(key, None)
    note = {"text": "Self-administered at home by the patient or caregiver after injection teaching."}
    res["note"] = (res.get("note") if isinstance(res.get("note"), list) else []) + [note]
    return _suggestion("Change to a self-administered (community) prescription",
                       [{"type": "update", "description": "Make the anakinra order a community prescription for "
                                                          "self-administration (no clinician performer)",
                         "resource": res}])


def standard_dose(order: dict) -> dict:
    res = copy.deepcopy(order)
    res["dosageInstruction"] = standard_dosage()
    res["dispenseRequest"] = standard_dispense(order.get("dispenseRequest"))
    return _suggestion("Change to 100 mg subcutaneously once daily, 28 syringes per 28 days",
                       [{"type": "update", "description": "Set the anakinra dose to 100 mg SC once daily and the "
                                                          "quantity to 28 syringes for 28 days",
                         "resource": res}])


def delete_drafts(references: list[str], labels: dict[str, str]) -> list[dict]:
    out = []
    for ref in references:
        name = labels.get(ref, ref)
        out.append(_suggestion(f"Cancel the draft order for {name}",
                               [{"type": "delete", "description": f"Remove the draft order {ref} ({name})",
                                 "resourceId": ref}], recommended=len(references) == 1))
    return out


def every_other_day(order: dict) -> dict:
    res = copy.deepcopy(order)
    dosages = res.get("dosageInstruction") if isinstance(res.get("dosageInstruction"), list) else standard_dosage()
    if not dosages:
        dosages = standard_dosage()
    first = copy.deepcopy(dosages[0]) if isinstance(dosages[0], dict) else {}
    first["timing"] = {"repeat": {"frequency": 1, "period": 2, "periodUnit": "d"}}
    text = first.get("text") if isinstance(first.get("text"), str) else "Inject subcutaneously"
    first["text"] = text.replace("once daily", "every other day").replace("daily", "every other day") \
        if "daily" in text else text + " every other day"
    res["dosageInstruction"] = [first] + dosages[1:]
    disp = res.get("dispenseRequest") if isinstance(res.get("dispenseRequest"), dict) else {}
    disp = copy.deepcopy(disp)
    disp["quantity"] = {"value": 14, "unit": "syringe", "system": UCUM, "code": "{syringe}"}
    disp["expectedSupplyDuration"] = {"value": 28, "unit": "days", "system": UCUM, "code": "d"}
    res["dispenseRequest"] = disp
    return _suggestion("Give the prescribed dose every other day (CrCl below 30 mL/min)",
                       [{"type": "update", "description": "Change the anakinra timing to every other day "
                                                          "(14 syringes per 28 days)", "resource": res}])


def draft_kineret(order: dict, patient_id: str) -> dict:
    """Demo only: fill an empty Sandbox draft with a Kineret order (RxNorm 727711)."""
    res = copy.deepcopy(order) if isinstance(order, dict) else {}
    res.setdefault("resourceType", "MedicationRequest")
    res.setdefault("id", "request-123")
    res["status"] = "draft"
    res["intent"] = "order"
    res.setdefault("subject", {"reference": f"Patient/{patient_id}"})
    res["medicationCodeableConcept"] = {
        "text": "anakinra 100 MG in 0.67 ML Prefilled Syringe [Kineret]",
        "coding": [{"system": RXNORM, "code": "727711", "display": "0.67 ML anakinra 149 MG/ML Prefilled Syringe"}],
    }
    res["category"] = [{"coding": [{"system": CATEGORY_CS, "code": "community", "display": "Community"}]}]
    res["dosageInstruction"] = standard_dosage()
    res["dispenseRequest"] = standard_dispense(None)
    return _suggestion("Draft Kineret order (100 mg SC daily, 28 syringes per 28 days)",
                       [{"type": "create", "description": "Draft an anakinra (Kineret) 100 mg/0.67 mL prefilled "
                                                          "syringe order, 100 mg SC once daily", "resource": res}])
