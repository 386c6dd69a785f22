"""Site of care: is this order for administration by a provider (office, hospital, ER)?"""

from __future__ import annotations

from .fhir_reading import codings, dicts, reference
from .model import SettingFacts
from .terminology import valuesets as vs

_CATEGORY_SYSTEM = "http://terminology.hl7.org/CodeSystem/medicationrequest-category"
_CLINICIAN_TYPES = ("Practitioner", "PractitionerRole", "Organization", "CareTeam", "Device")


def read_setting(order: dict, location_lookup=None) -> SettingFacts:
    site = vs.data()["site_of_care"]
    reasons: list[str] = []
    provider = False
    self_admin = False
    category = None
    for c in codings(order.get("category")):
        if c.system in (_CATEGORY_SYSTEM, None) and c.code:
            category = c.code
            if c.code in site["provider_administered_categories"]:
                provider = True
                reasons.append(f"category `{c.code}` (administered in a facility)")
            elif c.code in site["self_administered_categories"]:
                self_admin = True
                reasons.append(f"category `{c.code}` (taken at home)")
    perf = reference(order.get("performer"))
    if perf:
        ptype = perf.split("/")[0] if "/" in perf else ""
        if ptype in _CLINICIAN_TYPES:
            provider = True
            reasons.append(f"performer {ptype} (administration by a clinician)")
        elif ptype in ("Patient", "RelatedPerson"):
            self_admin = True
            reasons.append(f"performer {ptype} (self or caregiver)")
    for c in codings(order.get("performerType")):
        text = (c.display or "").lower()
        if c.code in ("223366009", "106292003", "309343006") or any(w in text for w in ("nurse", "physician", "clinician")):
            provider = True
            reasons.append(f"performerType {c.display or c.code}")
    # Place of service / location carried on the order (extensions or supportingInformation text).
    for ext in dicts(order.get("extension")):
        url = ext.get("url") if isinstance(ext.get("url"), str) else ""
        if "place-of-service" in url.lower() or "location" in url.lower():
            for c in codings(ext.get("valueCodeableConcept")):
                if c.code in site["provider_place_of_service"] or c.code in site["provider_location_types"]:
                    provider = True
                    reasons.append(f"place of service {c.display or c.code}")
    texts = []
    for d in dicts(order.get("dosageInstruction")):
        if isinstance(d.get("text"), str):
            texts.append(d["text"])
        if isinstance(d.get("patientInstruction"), str):
            texts.append(d["patientInstruction"])
    for n in dicts(order.get("note")):
        if isinstance(n.get("text"), str):
            texts.append(n["text"])
    joined = " ".join(texts).lower()
    for name in site["setting_names"]:
        if name in joined:
            provider = True
            reasons.append(f"order text mentions \"{name}\"")
            break
    if provider:
        return SettingFacts(True, tuple(reasons), category)
    if self_admin:
        return SettingFacts(False, tuple(reasons), category)
    return SettingFacts(False, ("no facility category, clinician performer or place of service on the order: "
                                "a prescription for self-administration",), category)
