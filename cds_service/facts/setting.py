"""Site of care: is this order for administration by a provider (office, hospital, ER)?

Coded data first (MedicationRequest.category, performer, performerType, a place-of-service extension), then
the order's text read with negation and qualification (facts/text_evidence.py). `provider_administered` is None
only when text is the sole evidence and names provider administration as a possibility ("may be given in
clinic if needed"): the site of care is then unknown, never assumed either way."""

from __future__ import annotations

from typing import Any

from . import text_evidence as te
from .fhir_json import ReferenceLookup, codings, dicts, reference, text_or_empty
from .model import SettingFacts
from .terminology.loader import data

_CATEGORY_SYSTEM = "http://terminology.hl7.org/CodeSystem/medicationrequest-category"
_CLINICIAN_TYPES = ("Practitioner", "PractitionerRole", "Organization", "CareTeam", "Device")


def read_setting(order: dict[str, Any], location_lookup: ReferenceLookup | None = None) -> SettingFacts:
    site = data()["site_of_care"]
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
        if c.code in ("223366009", "106292003", "309343006") or any(
            w in text for w in ("nurse", "physician", "clinician")
        ):
            provider = True
            reasons.append(f"performerType {c.display or c.code}")
    # Place of service / location carried on the order (extensions or supportingInformation text).
    for ext in dicts(order.get("extension")):
        url = text_or_empty(ext.get("url"))
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
    joined = "\n".join(texts)
    text_provider, text_self, hedged = _read_text(joined, site)
    if text_provider:
        provider = True
        reasons.append(f'order text states administration by a provider: "{text_provider[0].sentence}"')
    if text_self:
        self_admin = True
        reasons.append(f'order text states self-administration: "{text_self[0].sentence}"')
    teaching = [m for m in hedged if m.status == te.TEACHING]
    possible = [m for m in hedged if m.status == te.UNCERTAIN]
    for m in teaching:
        reasons.append(
            f'order text: "{m.sentence}" is teaching in the office (self-administration with teaching), '
            "not provider administration"
        )
    for m in hedged:
        if m.status not in (te.TEACHING, te.UNCERTAIN):
            reasons.append(f'order text: "{m.sentence}" does not state provider administration ({m.status})')
    for m in possible:
        reasons.append(f'order text: "{m.sentence}" names provider administration only as a possibility')
    if provider:
        return SettingFacts(True, tuple(reasons), category)
    if self_admin:
        return SettingFacts(False, tuple(reasons), category)
    if possible:
        # Text is the only evidence and it is not an explicit statement: the setting is not known.
        return SettingFacts(None, tuple(reasons), category)
    return SettingFacts(
        False,
        (
            *reasons,
            "no facility category, clinician performer or place of service on "
            "the order: a prescription for self-administration",
        ),
        category,
    )


def _read_text(
    text: str, site: dict[str, Any]
) -> tuple[tuple[te.Mention, ...], tuple[te.Mention, ...], tuple[te.Mention, ...]]:
    """(provider mentions stated, self-administration mentions stated, provider mentions not stated) of the
    order's text, read with the negation/qualification reader (profile `setting`). The position statement
    excludes "a provider-administered setting such as an outpatient hospital, ambulatory surgical suite,
    physician office, or emergency facility": a nurse teaching the first injection in the office before the
    patient self-injects at home is self-administration with teaching, not such a setting."""
    if not text:
        return (), (), ()
    provider = te.rule_mentions(text, site["provider_administration_text"], "setting")
    self_ = te.rule_mentions(text, site["self_administration_text"], "setting")
    return (
        tuple(m for m in provider if m.affirmed),
        tuple(m for m in self_ if m.affirmed),
        tuple(m for m in provider if not m.affirmed),
    )
