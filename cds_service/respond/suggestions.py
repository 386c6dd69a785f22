"""Suggestions that change the order so it can be approved (CRD "Propose Alternate Request")."""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
UCUM = "http://unitsofmeasure.org"
SNOMED = "http://snomed.info/sct"
CATEGORY_CS = "http://terminology.hl7.org/CodeSystem/medicationrequest-category"


@dataclass(frozen=True)
class Limits:
    """The guideline's dose and quantity limits, as the suggestions and coverage details use them."""

    mg_per_day: float
    syringes: int
    days: int
    ml: float

    @classmethod
    def from_policy(cls, limits: dict) -> Limits:
        return cls(
            limits["max_mg_per_day"],
            limits["max_syringes_per_28_days"],
            limits["quantity_period_days"],
            limits["quantity_limit_ml_per_28_days"],
        )


def _n(x: float):
    return int(x) if float(x).is_integer() else x


def standard_dosage(lim: Limits) -> list[dict]:
    return [
        {
            "text": f"Inject {_n(lim.mg_per_day)} mg subcutaneously once daily, at about the same time every day",
            "timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}},
            "route": {"coding": [{"system": SNOMED, "code": "34206005", "display": "Subcutaneous route"}]},
            "doseAndRate": [
                {"doseQuantity": {"value": _n(lim.mg_per_day), "unit": "mg", "system": UCUM, "code": "mg"}}
            ],
        }
    ]


def standard_dispense(existing: dict | None, lim: Limits) -> dict:
    out = copy.deepcopy(existing) if isinstance(existing, dict) else {}
    out["quantity"] = {"value": lim.syringes, "unit": "syringe", "system": UCUM, "code": "{syringe}"}
    out["expectedSupplyDuration"] = {"value": lim.days, "unit": "days", "system": UCUM, "code": "d"}
    return out


def _suggestion(label: str, actions: list[dict], recommended: bool = True) -> dict:
    return {"label": label, "uuid": str(uuid.uuid4()), "isRecommended": recommended, "actions": actions}


def self_administered(order: dict) -> dict:
    res = copy.deepcopy(order)
    res["category"] = [{"coding": [{"system": CATEGORY_CS, "code": "community", "display": "Community"}]}]
    for key in ("performer", "performerType"):
        res.pop(key, None)
    # The order's own administration text ("administer ... in the clinic by nursing staff", "clinic-administered")
    # would contradict the change and is read as provider administration: the structured dose and timing stay,
    # the free text about where and by whom is replaced.
    for d in lines if isinstance(lines := res.get("dosageInstruction"), list) else []:
        if isinstance(d, dict):
            d.pop("text", None)
            d.pop("patientInstruction", None)
    res["note"] = [{"text": "Self-administered at home by the patient or caregiver after injection teaching."}]
    return _suggestion(
        "Change to a self-administered (community) prescription",
        [
            {
                "type": "update",
                "description": "Make the anakinra order a community prescription for "
                "self-administration (no clinician performer)",
                "resource": res,
            }
        ],
    )


def safe_dosage(plan: dict) -> list[dict]:
    """One dosageInstruction for a safe dose (policy `safe_dose`: within every limit that applies to the member):
    the whole syringe in mg, a partial syringe as the measured mL (rounded down to 0.01 mL) with its mg."""
    every = int(plan["interval_days"])
    when = "once daily" if every == 1 else "every other day" if every == 2 else f"every {every} days"
    if plan.get("ml") is not None:
        amount = f"{_n(plan['ml'])} mL ({_n(plan['mg'])} mg) of the 100 mg/0.67 mL syringe"
        quantity = {"value": _n(plan["ml"]), "unit": "mL", "system": UCUM, "code": "mL"}
        discard = "; discard the rest of the syringe"
    else:
        amount = f"{_n(plan['mg'])} mg"
        quantity = {"value": _n(plan["mg"]), "unit": "mg", "system": UCUM, "code": "mg"}
        discard = ""
    return [
        {
            "sequence": 1,
            "text": f"Inject {amount} subcutaneously {when}, at about the same time of day{discard}",
            "timing": {"repeat": {"frequency": 1, "period": every, "periodUnit": "d"}},
            "route": {"coding": [{"system": SNOMED, "code": "34206005", "display": "Subcutaneous route"}]},
            "doseAndRate": [{"doseQuantity": quantity}],
        }
    ]


def dose_change(order: dict, lim: Limits, data: dict | None) -> dict | None:
    """Change the order to the safe dose of a finding (`data["suggested_dose"]`), replacing every dosage line;
    None when no safe dose could be worked out (the card says why): never a dose above a limit that applies."""
    plan = (data or {}).get("suggested_dose")
    if not plan:
        return None
    res = copy.deepcopy(order)
    res["dosageInstruction"] = safe_dosage(plan)
    disp = copy.deepcopy(given) if isinstance(given := order.get("dispenseRequest"), dict) else {}
    disp["quantity"] = {"value": int(plan["syringes"]), "unit": "syringe", "system": UCUM, "code": "{syringe}"}
    disp["expectedSupplyDuration"] = {"value": int(plan["days"]), "unit": "days", "system": UCUM, "code": "d"}
    res["dispenseRequest"] = disp
    return _suggestion(
        f"Change to {plan['label']}"[:200],
        [
            {
                "type": "update",
                "description": f"Set the anakinra dose to {plan['label']} (within every "
                "limit that applies to this member)",
                "resource": res,
            }
        ],
    )


def delete_drafts(references: list[str], labels: dict[str, str]) -> list[dict]:
    out = []
    for ref in references:
        name = labels.get(ref, ref)
        out.append(
            _suggestion(
                f"Cancel the draft order for {name}",
                [{"type": "delete", "description": f"Remove the draft order {ref} ({name})", "resourceId": ref}],
                recommended=len(references) == 1,
            )
        )
    return out


def every_other_day(order: dict, lim: Limits, data: dict | None = None) -> dict | None:
    """dosage.renal: the prescribed dose every other day. With a finding's safe dose (`data`), the dose is that
    dose (the prescribed one unless it is above a limit that applies) and every line of the order is replaced;
    with `data` but no safe dose, no suggestion."""
    if data is not None and "suggested_dose" in data:
        plan = data["suggested_dose"]
        if not plan:
            return None
        changed = dose_change(order, lim, data)
        if changed is None:  # not reached: dose_change proposes the same `plan`
            return None
        changed["label"] = f"Give {plan['label']} (CrCl below 30 mL/min)"
        return changed
    res = copy.deepcopy(order)
    dosages = res.get("dosageInstruction") if isinstance(res.get("dosageInstruction"), list) else standard_dosage(lim)
    if not dosages:
        dosages = standard_dosage(lim)
    first = copy.deepcopy(dosages[0]) if isinstance(dosages[0], dict) else {}
    first["timing"] = {"repeat": {"frequency": 1, "period": 2, "periodUnit": "d"}}
    text = given_text if isinstance(given_text := first.get("text"), str) else "Inject subcutaneously"
    first["text"] = (
        text.replace("once daily", "every other day").replace("daily", "every other day")
        if "daily" in text
        else text + " every other day"
    )
    res["dosageInstruction"] = [first, *dosages[1:]]
    disp = copy.deepcopy(given) if isinstance(given := res.get("dispenseRequest"), dict) else {}
    half = lim.days // 2
    disp["quantity"] = {"value": half, "unit": "syringe", "system": UCUM, "code": "{syringe}"}
    disp["expectedSupplyDuration"] = {"value": lim.days, "unit": "days", "system": UCUM, "code": "d"}
    res["dispenseRequest"] = disp
    return _suggestion(
        "Give the prescribed dose every other day (CrCl below 30 mL/min)",
        [
            {
                "type": "update",
                "description": f"Change the anakinra timing to every other day ({half} syringes per {lim.days} days)",
                "resource": res,
            }
        ],
    )


def draft_kineret(order: dict, patient_id: str, lim: Limits) -> dict:
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
    res["dosageInstruction"] = standard_dosage(lim)
    res["dispenseRequest"] = standard_dispense(None, lim)
    return _suggestion(
        f"Draft Kineret order ({_n(lim.mg_per_day)} mg SC daily, {lim.syringes} syringes per {lim.days} days)",
        [
            {
                "type": "create",
                "description": "Draft an anakinra (Kineret) 100 mg/0.67 mL prefilled "
                "syringe order, 100 mg SC once daily",
                "resource": res,
            }
        ],
    )
