"""The Da Vinci CRD coverage-information extension and the systemAction that adds it to an order.

Invariants kept (CRD 2.2.1, CoverageInformation.fsh):
- q2: `not-covered` carries no `pa-needed` (and any other covered value carries one);
- q3: `info-needed` appears only with a `conditional` covered / pa-needed / doc-needed, and a
  `conditional` always carries an `info-needed`;
- q4: no `withpa` doc-purpose when pa-needed is satisfied or no-auth;
- q5: `satisfied-pa-id` if and only if pa-needed is `satisfied`;
- q6/q8/q9: `info-needed=OTH`, a `doc-purpose` or `indeterminate` always carry a `reason`;
- order-select (a secondary hook) never asks for documentation (no doc-needed / doc-purpose);
- q1: `questionnaire` only with a `doc-needed`.
The action changes nothing in the order except the coverage-information extension.

`detail` (CRD 2.2.1): `category` is a `valueCode` bound (required) to coverageDetailCategories
(cat-limitation | cat-decisional | cat-other); `code` is a CodeableConcept from the coverageDetailNew value
set, i.e. the THO code system `crd-coverage-detail` ("The binding to the old temporary code system is retained
for now for backward compatibility" - CoverageInformation.fsh). The `temp` code system is still the one the
coverage-assertion *reason* value set draws from (technical, no-active-coverage), so reasons keep it.
"""

from __future__ import annotations

import base64
import secrets
from datetime import date

from ..policy.model import Decision, Determination, Need

EXT_URL = "http://hl7.org/fhir/us/davinci-crd/StructureDefinition/ext-coverage-information"
TEMP_CS = "http://hl7.org/fhir/us/davinci-crd/CodeSystem/temp"
COVERAGE_DETAIL_CS = "http://terminology.hl7.org/CodeSystem/crd-coverage-detail"
# The detail codes we send, with their THO display and the category the code system prescribes for them
# ("Category should be 'cat-limitation'" / "'cat-other'" in CodeSystem crd-coverage-detail).
DETAIL_CODES = {
    "allowed-quantity": ("Maximum quantity", "cat-limitation"),
    "policy-link": ("Policy Link", "cat-other"),
}


def detail(code: str, value_key: str, value, qualification: str | None = None) -> dict:
    """One `detail` sub-extension: category (valueCode), code (CodeableConcept), value, qualification."""
    display, category = DETAIL_CODES[code]
    parts = [
        {"url": "category", "valueCode": category},
        {
            "url": "code",
            "valueCodeableConcept": {"coding": [{"system": COVERAGE_DETAIL_CS, "code": code, "display": display}]},
        },
        {"url": "value", value_key: value},
    ]
    if qualification:
        parts.append({"url": "qualification", "valueString": qualification})
    return {"url": "detail", "extension": parts}


def new_assertion_id() -> str:
    """A trace id for one decision: 80 random bits, so that no two decisions share one (a client re-using a
    hookInstance, or re-sending a call, gets a new id each time; the audit row keeps the id it was given)."""
    return "AKR-" + base64.b32encode(secrets.token_bytes(10)).decode("ascii")


def coverage_information(
    decision: Decision,
    *,
    hook: str,
    hook_instance: str,
    coverage_ref: str | None,
    today: date,
    policy_url: str,
    technical_reason: str | None = None,
    satisfied_pa_id: str | None = None,
    expiry: date | None = None,
    limits=None,
    assertion_id: str | None = None,
    questionnaire: str | None = None,
) -> dict:
    """`questionnaire`: the documentation questionnaire's canonical (`documentation.questionnaire_for`), named when
    documentation is asked for (doc-needed: crd-ci-q1), so that an EHR with DTR fetches the package itself."""
    ext: list[dict] = []
    ext.append(
        {
            "url": "coverage",
            "valueReference": (
                {"reference": coverage_ref} if coverage_ref else {"display": "No active coverage found for this member"}
            ),
        }
    )
    covered = decision.determination.value
    ext.append({"url": "covered", "valueCode": covered})
    reasons: list[dict] = []
    if decision.determination is Determination.NOT_COVERED:
        pa = None
    elif satisfied_pa_id:
        pa = "satisfied"
    else:
        pa = decision.pa_needed or "auth-needed"
        if pa == "satisfied":
            # crd-ci-q5: 'satisfied' only with the approval's number (satisfied-pa-id). Without one the
            # plan's approval cannot be shown, so prior authorization is still needed.
            pa = "auth-needed"
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
            reasons.append(
                {
                    "text": "Coverage depends on criteria not yet confirmed: "
                    + (
                        "; ".join(m.text for m in missing)[:900]
                        if missing
                        else "; ".join(decision.reasons) or "see the cards"
                    )
                }
            )
    if decision.determination is Determination.INDETERMINATE:
        reasons.append(
            {
                "coding": [{"system": TEMP_CS, "code": "technical", "display": "Technical issues"}],
                "text": technical_reason or "; ".join(decision.reasons) or "Technical failure",
            }
        )
    for text in decision.reasons:
        if decision.determination is Determination.INDETERMINATE:
            break
        if text.startswith("No active coverage"):
            reasons.append(
                {
                    "coding": [{"system": TEMP_CS, "code": "no-active-coverage", "display": "Coverage not active"}],
                    "text": text,
                }
            )
        else:
            reasons.append({"text": text})
    if pa == "indeterminate" and not reasons:
        # crd-ci-q9: an indeterminate pa-needed always says why.
        reasons.append(
            {"text": "; ".join(decision.reasons) or "Prior authorization requirements could not be determined"}
        )
    for r in reasons:
        ext.append({"url": "reason", "valueCodeableConcept": r})
    ext.append(
        detail(
            "policy-link",
            "valueUrl",
            policy_url,
            f"Guideline {decision.policy_id}, revision {decision.policy_revision}",
        )
    )
    if decision.determination is not Determination.NOT_COVERED and limits is not None:
        ext.append(
            detail(
                "allowed-quantity",
                "valueQuantity",
                {
                    "value": limits.syringes,
                    "unit": "syringe",
                    "system": "http://unitsofmeasure.org",
                    "code": "{syringe}",
                },
                f"Quantity limit: {limits.syringes} syringes ({limits.ml} mL) per {limits.days} days",
            )
        )
    if questionnaire and any(e["url"] == "doc-needed" for e in ext):
        ext.append({"url": "questionnaire", "valueCanonical": questionnaire})
    ext.append({"url": "date", "valueDate": today.isoformat()})
    ext.append({"url": "coverage-assertion-id", "valueString": assertion_id or new_assertion_id()})
    if pa == "satisfied" and satisfied_pa_id:
        ext.append({"url": "satisfied-pa-id", "valueString": satisfied_pa_id})
    if expiry is not None and decision.determination is Determination.COVERED:
        ext.append({"url": "expiry-date", "valueDate": expiry.isoformat()})
    return {"url": EXT_URL, "extension": ext}


def system_action(order: dict, coverage_ext: dict) -> dict:
    """An `update` of the order that adds the coverage-information extension and changes nothing else."""
    resource = dict(order)  # only `extension` is replaced: the rest is echoed as received
    kept = (
        [e for e in resource.get("extension", []) if not (isinstance(e, dict) and e.get("url") == EXT_URL)]
        if isinstance(resource.get("extension"), list)
        else []
    )
    resource["extension"] = [*kept, coverage_ext]
    return {
        "type": "update",
        "description": "Add the payer's coverage information (Da Vinci CRD) to the anakinra order",
        "resource": resource,
    }
