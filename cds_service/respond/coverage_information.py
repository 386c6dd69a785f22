"""The Da Vinci CRD coverage-information extension and the systemAction that adds it to an order.

Invariants kept (CRD 2.2.1, CoverageInformation.fsh):
- q2: `not-covered` carries no `pa-needed` (and any other covered value carries one);
- q3: `info-needed` appears only with a `conditional` covered / pa-needed / doc-needed, and a
  `conditional` always carries an `info-needed`;
- q4: no `withpa` doc-purpose when pa-needed is satisfied or no-auth;
- q5: `satisfied-pa-id` if and only if pa-needed is `satisfied`;
- q6/q8/q9: `info-needed=OTH`, a `doc-purpose` or `indeterminate` always carry a `reason`;
- order-select (a secondary hook) never asks for documentation (no doc-needed / doc-purpose).
The action changes nothing in the order except the coverage-information extension.
"""

from __future__ import annotations

import hashlib
from datetime import date

from ..policy.model import Decision, Determination, Need

EXT_URL = "http://hl7.org/fhir/us/davinci-crd/StructureDefinition/ext-coverage-information"
TEMP_CS = "http://hl7.org/fhir/us/davinci-crd/CodeSystem/temp"


def assertion_id(hook_instance: str, order_id: str, policy_revision: str) -> str:
    """A stable trace id for one order in one hook call (re-sending the call gives the same id)."""
    digest = hashlib.sha256(f"{hook_instance}|{order_id}|{policy_revision}".encode()).hexdigest()[:20]
    return f"AKR-{digest.upper()}"


def coverage_information(decision: Decision, *, hook: str, hook_instance: str, coverage_ref: str | None,
                         today: date, policy_url: str, technical_reason: str | None = None,
                         satisfied_pa_id: str | None = None, expiry: date | None = None, limits=None) -> dict:
    ext: list[dict] = []
    ext.append({"url": "coverage", "valueReference": (
        {"reference": coverage_ref} if coverage_ref else {"display": "No active coverage found for this member"})})
    covered = decision.determination.value
    ext.append({"url": "covered", "valueCode": covered})
    reasons: list[dict] = []
    if decision.determination is Determination.NOT_COVERED:
        pa = None
    elif satisfied_pa_id:
        pa = "satisfied"
    else:
        pa = decision.pa_needed or "auth-needed"
    if pa:
        ext.append({"url": "pa-needed", "valueCode": pa})
    order_select = hook == "order-select"
    missing = decision.missing
    docs = [m for m in missing if m.need in (Need.CLINICAL_DOC, Need.ADMIN_DOC)]
    infos = [m for m in missing if m.need is Need.INFO]
    if docs and not order_select and decision.determination is Determination.CONDITIONAL:
        kinds = {m.need for m in docs}
        ext.append({"url": "doc-needed", "valueCode": "clinical" if Need.CLINICAL_DOC in kinds else "admin"})
        if Need.CLINICAL_DOC in kinds and Need.ADMIN_DOC in kinds:
            ext.append({"url": "doc-needed", "valueCode": "admin"})
        if pa not in ("satisfied", "no-auth"):
            ext.append({"url": "doc-purpose", "valueCode": "withpa"})
        reasons.append({"text": "Documentation needed: " + "; ".join(m.text for m in docs)[:900]})
    if decision.determination is Determination.CONDITIONAL or pa == "conditional":
        codes = sorted({m.info_code for m in infos}) or ["OTH"]
        for code in codes:
            ext.append({"url": "info-needed", "valueCode": code})
        if infos:
            reasons.append({"text": "Information needed: " + "; ".join(m.text for m in infos)[:900]})
        elif not reasons or order_select:
            reasons.append({"text": "Coverage depends on criteria not yet confirmed: "
                                    + ("; ".join(m.text for m in missing)[:900] if missing else
                                       "; ".join(decision.reasons) or "see the cards")})
    if decision.determination is Determination.INDETERMINATE:
        reasons.append({"coding": [{"system": TEMP_CS, "code": "technical"}],
                        "text": technical_reason or "; ".join(decision.reasons) or "Technical failure"})
    for text in decision.reasons:
        if decision.determination is Determination.INDETERMINATE:
            break
        if text.startswith("No active coverage"):
            reasons.append({"coding": [{"system": TEMP_CS, "code": "no-active-coverage"}], "text": text})
        else:
            reasons.append({"text": text})
    for r in reasons:
        ext.append({"url": "reason", "valueCodeableConcept": r})
    ext.append({"url": "detail", "extension": [
        {"url": "category", "valueCodeableConcept": {"coding": [{"system": TEMP_CS, "code": "cat-other"}]}},
        {"url": "code", "valueCodeableConcept": {"coding": [{"system": TEMP_CS, "code": "policy-link"}]}},
        {"url": "value", "valueUrl": policy_url},
        {"url": "qualification", "valueString": f"Guideline {decision.policy_id}, revision {decision.policy_revision}"},
    ]})
    if decision.determination is not Determination.NOT_COVERED and limits is not None:
        ext.append({"url": "detail", "extension": [
            {"url": "category", "valueCodeableConcept": {"coding": [{"system": TEMP_CS, "code": "cat-limitation"}]}},
            {"url": "code", "valueCodeableConcept": {"coding": [{"system": TEMP_CS, "code": "allowed-quantity"}]}},
            {"url": "value", "valueQuantity": {"value": limits.syringes, "unit": "syringe",
                                               "system": "http://unitsofmeasure.org", "code": "{syringe}"}},
            {"url": "qualification", "valueString": f"Quantity limit: {limits.syringes} syringes "
                                                    f"({limits.ml} mL) per {limits.days} days"},
        ]})
    ext.append({"url": "date", "valueDate": today.isoformat()})
    ext.append({"url": "coverage-assertion-id",
                "valueString": assertion_id(hook_instance, decision.order_id, decision.policy_revision)})
    if pa == "satisfied" and satisfied_pa_id:
        ext.append({"url": "satisfied-pa-id", "valueString": satisfied_pa_id})
    if expiry is not None and decision.determination is Determination.COVERED:
        ext.append({"url": "expiry-date", "valueDate": expiry.isoformat()})
    return {"url": EXT_URL, "extension": ext}


def system_action(order: dict, coverage_ext: dict) -> dict:
    """An `update` of the order that adds the coverage-information extension and changes nothing else."""
    resource = dict(order)      # only `extension` is replaced: the rest is echoed as received
    kept = [e for e in resource.get("extension", []) if not (isinstance(e, dict) and e.get("url") == EXT_URL)] \
        if isinstance(resource.get("extension"), list) else []
    resource["extension"] = kept + [coverage_ext]
    return {
        "type": "update",
        "description": "Add the payer's coverage information (Da Vinci CRD) to the anakinra order",
        "resource": resource,
    }
