"""CRD 2.2.1 conformance rules, written from the StructureDefinitions and invariants, as data plus small checkers.

Sources (HL7/davinci-crd 2.2.1, commit 2bfabc1; THO code systems in HL7/UTG):
- input/fsh/extensions/CoverageInformation.fsh: the coverage-information extension (cardinalities, types,
  required bindings, invariants crd-ci-q1..q9);
- input/fsh/valuesets/CoverageInformationValuesets.fsh, CRDCoverageDetailCodes.fsh, CRDCardType.fsh;
- input/resources/structuredefinition-CRDHooksResponseBase.xml (cards.uuid 1.., source.topic 1.. bound to
  cardType, action.description 1.., links.type 1..), -coverageInformation.xml (systemActions.type = update,
  resource has the extension: crd-respci1, no resourceId), -alternateRequest.xml (crd-respar-1);
- input/fsh/profiles/MedicationRequest.fsh (requester 1.. only Reference(CRDPractitioner), authoredOn 1..);
- input/pagecontent/deviations.md §dev-4..§dev-8 (configuration options), hooks.md §hook-16..19, cards.md;
- CDS Hooks 2.0 (Card: "<140-character summary"; Link, Suggestion, Action attributes);
- the ONC Inferno Da Vinci CRD test kit's server tests (what it fails: summary length >= 140, a missing
  `systemActions` on order-sign, coverage-assertion-id / satisfied-pa-id per coverage).

Every checker returns a list of error strings (empty = conformant), each naming where it is and the rule.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MANY = None
CI_URL = "http://hl7.org/fhir/us/davinci-crd/StructureDefinition/ext-coverage-information"
CARD_TYPE_CS = "http://terminology.hl7.org/CodeSystem/cdshooks-card-type"
COVERAGE_DETAIL_CS = "http://terminology.hl7.org/CodeSystem/crd-coverage-detail"
TEMP_CS = "http://hl7.org/fhir/us/davinci-crd/CodeSystem/temp"

# CodeSystem cdshooks-card-type (THO), the CRD Response Types value set (CRDCardType.fsh).
CARD_TYPES = {
    "coverage-info",
    "unsolicited-determ",
    "claim",
    "insurance",
    "limits",
    "network",
    "appropriate-use",
    "cost",
    "therapy-alternatives-opt",
    "therapy-alternatives-req",
    "clinical-reminder",
    "duplicate-therapy",
    "contraindication",
    "guideline",
    "off-guideline",
}
# CodeSystem crd-coverage-detail (THO) and the category its definitions prescribe ("Category should be ...").
COVERAGE_DETAIL = {
    "allowed-quantity": "cat-limitation",
    "allowed-period": "cat-limitation",
    "in-network-copay": "cat-decisional",
    "out-network-copay": "cat-decisional",
    "concurrent-review": "cat-decisional",
    "appropriate-use-needed": "cat-decisional",
    "policy-link": "cat-other",
    "instructions": None,
}
# ValueSet coverageAssertionReasons (temp codes), for crd-ci-q7.
ASSERTION_REASONS = {
    "gold-card",
    "no-member-found",
    "no-active-coverage",
    "coverage-not-found",
    "auth-out-network",
    "technical",
}
PRIMARY_HOOKS = {"order-sign", "order-dispatch", "appointment-book"}  # hooks.md §hook-16
SECONDARY_HOOKS = {"order-select", "encounter-start", "encounter-discharge"}  # §hook-17..19
CRD_HOOKS = PRIMARY_HOOKS | SECONDARY_HOOKS
ORDER_TYPES = {
    "CommunicationRequest",
    "DeviceRequest",
    "MedicationRequest",
    "NutritionOrder",
    "ServiceRequest",
    "VisionPrescription",
}


@dataclass(frozen=True)
class Slot:
    """One sub-extension: cardinality, the value[x] types allowed, and a required binding (None: unbound)."""

    min: int
    max: int | None
    types: tuple[str, ...]
    codes: frozenset[str] | None = None


def _codes(*c: str) -> frozenset[str]:
    return frozenset(c)


# CoverageInformation.fsh, `extension contains ...` and each slice's `value[x] only ... from ... (required)`.
COVERAGE_INFORMATION: dict[str, Slot] = {
    "coverage": Slot(1, 1, ("valueReference",)),
    "covered": Slot(1, 1, ("valueCode",), _codes("covered", "not-covered", "conditional", "indeterminate")),
    "pa-needed": Slot(
        0, 1, ("valueCode",), _codes("no-auth", "auth-needed", "satisfied", "performpa", "conditional", "indeterminate")
    ),
    "doc-needed": Slot(0, MANY, ("valueCode",), _codes("clinical", "admin", "patient", "conditional", "indeterminate")),
    "doc-purpose": Slot(0, MANY, ("valueCode",), _codes("withpa", "withclaim", "withorder", "retain-doc", "OTH")),
    "info-needed": Slot(
        0, MANY, ("valueCode",), _codes("performer", "location", "timeframe", "contract-window", "detail-code", "OTH")
    ),
    "billingCode": Slot(0, MANY, ("valueCoding",)),
    "reason": Slot(0, MANY, ("valueCodeableConcept",)),
    "detail": Slot(0, MANY, ()),  # complex: DETAIL below
    "dependency": Slot(0, MANY, ("valueReference",)),
    "questionnaire": Slot(0, MANY, ("valueCanonical",)),
    "date": Slot(1, 1, ("valueDate",)),
    "coverage-assertion-id": Slot(1, 1, ("valueString",)),
    "satisfied-pa-id": Slot(0, 1, ("valueString",)),
    "contact": Slot(0, MANY, ("valueContactDetail",)),
    "expiry-date": Slot(0, 1, ("valueDate",)),
}
DETAIL: dict[str, Slot] = {
    "category": Slot(1, 1, ("valueCode",), _codes("cat-limitation", "cat-decisional", "cat-other")),
    "code": Slot(1, 1, ("valueCodeableConcept",)),  # extensible: coverageDetailNew (old temp codes retained)
    "value": Slot(1, 1, ("valueBoolean", "valueString", "valueUrl", "valueQuantity", "valuePeriod")),
    "qualification": Slot(0, 1, ("valueString",)),
}

_CODE = re.compile(r"^[^\s]+( [^\s]+)*$")
_DATE = re.compile(r"^\d{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?)?$")
_ABS_URL = re.compile(r"^https?://[^\s/]+\S*$")
_TYPE_ID = re.compile(r"^[A-Z][A-Za-z]+/[A-Za-z0-9\-.]{1,64}$")
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)


def _ref_type(ref: object) -> str | None:
    """The resource type a FHIR reference string names (relative or absolute), or None."""
    if not isinstance(ref, str):
        return None
    parts = ref.rstrip("/").split("/")
    if len(parts) >= 4 and parts[-2] == "_history":
        parts = parts[:-2]
    return parts[-2] if len(parts) >= 2 and parts[-2][:1].isupper() and parts[-1] else None


def check_value(kind: str, value: object, where: str) -> list[str]:
    """R4 datatype rules for the value[x] types the extension uses."""
    err = []
    if kind == "valueCode" and not (isinstance(value, str) and _CODE.match(value)):
        err.append(f"{where}: valueCode must be a code string, got {value!r}")
    elif kind == "valueDate" and not (isinstance(value, str) and _DATE.match(value)):
        err.append(f"{where}: valueDate must be a FHIR date, got {value!r}")
    elif kind == "valueString" and not (isinstance(value, str) and value.strip()):
        err.append(f"{where}: valueString must be a non-empty string")
    elif kind in ("valueUrl", "valueCanonical") and not (isinstance(value, str) and _ABS_URL.match(value)):
        err.append(f"{where}: {kind} must be an absolute URL, got {value!r}")
    elif kind == "valueBoolean" and not isinstance(value, bool):
        err.append(f"{where}: valueBoolean must be true/false")
    elif kind == "valueReference":
        if not isinstance(value, dict) or not ({"reference", "display", "identifier"} & set(value)):
            err.append(f"{where}: valueReference must be a Reference with reference, identifier or display")
    elif kind == "valueCoding":
        if not isinstance(value, dict) or not (
            isinstance(value.get("system"), str) and isinstance(value.get("code"), str)
        ):
            err.append(f"{where}: valueCoding needs system and code")
    elif kind == "valueCodeableConcept":
        if not isinstance(value, dict) or not (value.get("coding") or value.get("text")):
            err.append(f"{where}: valueCodeableConcept needs coding or text")
        for i, c in enumerate(value.get("coding", []) if isinstance(value, dict) else []):
            if not (isinstance(c, dict) and isinstance(c.get("system"), str) and isinstance(c.get("code"), str)):
                err.append(f"{where}.coding[{i}]: a Coding needs system and code")
    elif kind == "valueQuantity":  # SimpleQuantity: no comparator
        if not isinstance(value, dict) or not isinstance(value.get("value"), (int, float)) or "comparator" in value:
            err.append(f"{where}: valueQuantity must be a SimpleQuantity with a numeric value and no comparator")
    elif kind == "valuePeriod":
        if not isinstance(value, dict) or not ({"start", "end"} & set(value)):
            err.append(f"{where}: valuePeriod needs start or end")
    elif kind == "valueContactDetail":  # noqa: SIM102  (one branch per value type, like the ones above)
        if not isinstance(value, dict) or not ({"name", "telecom"} & set(value)):
            err.append(f"{where}: valueContactDetail needs name or telecom")
    return err


def check_slots(extensions: object, slots: dict[str, Slot], where: str) -> tuple[list[str], dict[str, list]]:
    """Cardinality, value type and required binding of each sub-extension; ext-1 (value or extensions, not both).
    Returns the errors and {url: [values (or sub-extension lists)]}."""
    err: list[str] = []
    values: dict[str, list] = {}
    if not isinstance(extensions, list) or not extensions:
        return [f"{where}: extension must be a non-empty array"], values
    for i, sub in enumerate(extensions):
        at = f"{where}.extension[{i}]"
        if not isinstance(sub, dict) or not isinstance(sub.get("url"), str):
            err.append(f"{at}: an Extension needs a url")
            continue
        url = sub["url"]
        value_keys = [k for k in sub if k.startswith("value")]
        if url not in slots:
            err.append(f"{at}: unknown sub-extension {url!r}")
            continue
        slot = slots[url]
        if not slot.types:  # complex
            if value_keys or not isinstance(sub.get("extension"), list):
                err.append(f"{at} ({url}): a complex sub-extension has extensions and no value[x]")
            values.setdefault(url, []).append(sub.get("extension"))
            continue
        if "extension" in sub or len(value_keys) != 1:
            err.append(f"{at} ({url}): exactly one value[x] and no nested extension (ext-1)")
            continue
        kind = value_keys[0]
        if kind not in slot.types:
            err.append(f"{at} ({url}): value type {kind} not allowed, only {'/'.join(slot.types)}")
            continue
        err += check_value(kind, sub[kind], f"{at} ({url})")
        if slot.codes is not None and sub[kind] not in slot.codes:
            err.append(f"{at} ({url}): {sub[kind]!r} is not in the required value set {sorted(slot.codes)}")
        values.setdefault(url, []).append(sub[kind])
    for url, slot in slots.items():
        n = len(values.get(url, []))
        if n < slot.min or (slot.max is not None and n > slot.max):
            err.append(f"{where}: {url} occurs {n} times, cardinality {slot.min}..{slot.max if slot.max else '*'}")
    return err, values


def _coded(values: dict, url: str) -> list:
    return values.get(url, [])


# crd-ci-q1..q9 (CoverageInformation.fsh), each as its FHIRPath says, with the stricter reading of the
# description where the two differ (noted).
def q1(v):  # extension.where(url='questionnaire').exists() implies extension.where(url = 'doc-needed').exists()
    return not v.get("questionnaire") or bool(v.get("doc-needed"))


def q2(v):  # covered = 'not-covered' implies pa-needed does not exist
    return "not-covered" not in _coded(v, "covered") or not v.get("pa-needed")


def q3(v):
    """FHIRPath: a 'conditional' covered / pa-needed / doc-needed implies info-needed. The description says
    'if and only if': info-needed without any conditional is an error too."""
    conditional = any("conditional" in _coded(v, u) for u in ("covered", "pa-needed", "doc-needed"))
    return conditional == bool(v.get("info-needed"))


def q4(v):
    """pa-needed 'satisfied', 'noauth' (sic, in the FHIRPath; the code is 'no-auth') or 'not-covered' ->
    no doc-purpose 'withpa'. Both spellings are checked."""
    pa = _coded(v, "pa-needed")
    if any(p in ("satisfied", "noauth", "no-auth", "not-covered") for p in pa):
        return "withpa" not in _coded(v, "doc-purpose")
    return True


def q5(v):  # pa-needed = 'satisfied' exists = satisfied-pa-id exists
    return ("satisfied" in _coded(v, "pa-needed")) == bool(v.get("satisfied-pa-id"))


def q6(v):  # info-needed = 'OTH' implies reason exists
    return "OTH" not in _coded(v, "info-needed") or bool(v.get("reason"))


def q7(v):
    """Every reason has text or is from coverageAssertionReasons (checked per reason: the FHIRPath, over the
    whole collection, would let one reason's text excuse another's foreign code)."""
    for r in v.get("reason", []):
        if isinstance(r, dict) and r.get("text"):
            continue
        codings = r.get("coding", []) if isinstance(r, dict) else []
        if not codings or not all(c.get("system") == TEMP_CS and c.get("code") in ASSERTION_REASONS for c in codings):
            return False
    return True


def q8(v):  # doc-purpose with a value other than 'conditional' implies reason exists
    return not [p for p in _coded(v, "doc-purpose") if p != "conditional"] or bool(v.get("reason"))


def q9(v):  # any of covered / pa-needed / doc-needed 'indeterminate' implies reason exists
    indeterminate = any("indeterminate" in _coded(v, u) for u in ("covered", "pa-needed", "doc-needed"))
    return not indeterminate or bool(v.get("reason"))


INVARIANTS = {
    "crd-ci-q1": q1,
    "crd-ci-q2": q2,
    "crd-ci-q3": q3,
    "crd-ci-q4": q4,
    "crd-ci-q5": q5,
    "crd-ci-q6": q6,
    "crd-ci-q7": q7,
    "crd-ci-q8": q8,
    "crd-ci-q9": q9,
}


def check_coverage_information(ext: dict, where: str, *, hook: str) -> tuple[list[str], dict]:
    err, values = check_slots(ext.get("extension"), COVERAGE_INFORMATION, where)
    for i, parts in enumerate(values.get("detail", [])):
        d_err, d_values = check_slots(parts, DETAIL, f"{where}.detail[{i}]")
        err += d_err
        for code in d_values.get("code", []):
            codings = code.get("coding", []) if isinstance(code, dict) else []
            known = [c for c in codings if c.get("system") == COVERAGE_DETAIL_CS]
            if not known:
                # extensible binding to coverageDetailNew: where one of its codes fits, it is used (the temp
                # code system is kept by the IG "for backward compatibility" only).
                err.append(f"{where}.detail[{i}]: code must come from {COVERAGE_DETAIL_CS}")
            for c in known:
                if c.get("code") not in COVERAGE_DETAIL:
                    err.append(f"{where}.detail[{i}]: {c.get('code')!r} is not a crd-coverage-detail code")
                elif COVERAGE_DETAIL[c["code"]] and d_values.get("category") != [COVERAGE_DETAIL[c["code"]]]:
                    err.append(f"{where}.detail[{i}]: {c['code']} takes category {COVERAGE_DETAIL[c['code']]}")
    cov = values.get("coverage", [None])[0]
    if isinstance(cov, dict) and "reference" in cov and _ref_type(cov["reference"]) != "Coverage":
        err.append(f"{where}: coverage must reference a Coverage, got {cov['reference']!r}")
    for key, rule in INVARIANTS.items():
        if not rule(values):
            err.append(f"{where}: invariant {key} fails ({rule.__doc__ or ''}".strip() + ")")
    if hook in SECONDARY_HOOKS and (values.get("doc-needed") or values.get("doc-purpose")):
        err.append(
            f"{where}: {hook} is a secondary hook: coverage information SHALL NOT ask for documentation "
            "(hooks.md §hook-17..19)"
        )
    return err, values


def check_assertion_ids(resource: dict, where: str) -> list[str]:
    """Per coverage: one coverage-assertion-id and at most one satisfied-pa-id across the repetitions;
    repetitions for different coverages use distinct ids (cards.md §resp-32; the kit's
    coverage_information_system_action_validation_test)."""
    err: list[str] = []
    by_coverage: dict[str, list[dict]] = {}
    for ext in resource.get("extension", []):
        if isinstance(ext, dict) and ext.get("url") == CI_URL:
            vals = {s.get("url"): s for s in ext.get("extension", []) if isinstance(s, dict)}
            key = str(vals.get("coverage", {}).get("valueReference", {}).get("reference"))
            by_coverage.setdefault(key, []).append(
                {u: s.get("valueString") for u, s in vals.items() if u in ("coverage-assertion-id", "satisfied-pa-id")}
            )
    seen_assertions: set = set()
    seen_pa: set = set()
    for coverage, reps in by_coverage.items():
        assertion_ids = {r.get("coverage-assertion-id") for r in reps}
        pa_ids = {r.get("satisfied-pa-id") for r in reps} - {None}
        if len(assertion_ids) != 1:
            err.append(
                f"{where}: coverage {coverage} has different coverage-assertion-ids {sorted(map(str, assertion_ids))}"
            )
        if len(pa_ids) > 1:
            err.append(f"{where}: coverage {coverage} has different satisfied-pa-ids")
        if assertion_ids & seen_assertions:
            err.append(f"{where}: different coverages share a coverage-assertion-id")
        if pa_ids & seen_pa:
            err.append(f"{where}: different coverages share a satisfied-pa-id")
        seen_assertions |= assertion_ids
        seen_pa |= pa_ids
    return err


def check_medication_request(res: dict, where: str) -> list[str]:
    """CRD 2.2 profile-medicationrequest (on US Core 7 MedicationRequest): the elements a draft must carry."""
    err = []
    for key in ("status", "intent", "subject", "authoredOn", "requester"):
        if not res.get(key):
            err.append(f"{where}: MedicationRequest.{key} is required (1..)")
    if sum(k in res for k in ("medicationCodeableConcept", "medicationReference")) != 1:
        err.append(f"{where}: exactly one medication[x]")
    requester = res.get("requester")
    if isinstance(requester, dict) and _ref_type(requester.get("reference")) != "Practitioner":
        err.append(f"{where}: requester only Reference(CRDPractitioner), got {requester.get('reference')!r}")
    if "doNotPerform" in res:
        err.append(f"{where}: doNotPerform ..0")
    performer = res.get("performer")
    if (
        isinstance(performer, dict)
        and performer.get("reference")
        and _ref_type(performer["reference"]) not in ("Practitioner", "PractitionerRole")
    ):
        err.append(f"{where}: performer only Reference(CRDPractitioner or HRexPractitionerRole)")
    return err


def _strip_ci(res: dict) -> dict:
    out = dict(res)
    kept = [e for e in out.get("extension", []) if not (isinstance(e, dict) and e.get("url") == CI_URL)]
    out.pop("extension", None)
    if kept:
        out["extension"] = kept
    return out


def check_system_action(action: dict, where: str, *, hook: str, drafts: dict[str, dict]) -> tuple[list[str], dict]:
    """CRDHooksResponse-coverageInformation: type = update, a resource of a CRD order profile carrying the
    extension (crd-respci1), no resourceId; the resource is one of the draft orders and nothing but the
    coverage-information extension changes (cards.md §resp-37)."""
    err: list[str] = []
    if action.get("type") != "update":
        err.append(f"{where}: systemActions.type must be 'update' (coverage information)")
    if not (isinstance(action.get("description"), str) and action["description"].strip()):
        err.append(f"{where}: action.description is required (CRDHooksResponseBase)")
    if "resourceId" in action:
        err.append(f"{where}: resourceId max 0 for coverage information")
    res = action.get("resource")
    if not isinstance(res, dict):
        return [*err, f"{where}: resource is required for update"], {}
    ref = f"{res.get('resourceType')}/{res.get('id')}"
    if res.get("resourceType") not in ORDER_TYPES:
        err.append(f"{where}: {res.get('resourceType')} is not an order type for {hook}")
    exts = [e for e in res.get("extension", []) if isinstance(e, dict) and e.get("url") == CI_URL]
    if not exts:
        err.append(f"{where}: the updated resource carries no coverage-information extension (crd-respci1)")
    if ref not in drafts:
        err.append(f"{where}: {ref} is not one of the draftOrders")
    elif _strip_ci(res) != _strip_ci(drafts[ref]):
        err.append(f"{where}: the update changes {ref} beyond the coverage-information extension (§resp-37)")
    if res.get("resourceType") == "MedicationRequest":
        err += check_medication_request(res, f"{where}.resource")
    err += check_assertion_ids(res, where)
    values = {}
    for i, ext in enumerate(exts):
        e, values = check_coverage_information(ext, f"{where}.resource.extension[ci {i}]", hook=hook)
        err += e
    return err, values


CARD_KEYS = {
    "uuid",
    "summary",
    "detail",
    "indicator",
    "source",
    "suggestions",
    "selectionBehavior",
    "overrideReasons",
    "links",
    "extension",
}


def check_action(action: dict, where: str, drafts: dict[str, dict]) -> list[str]:
    err = []
    if action.get("type") not in ("create", "update", "delete"):
        err.append(f"{where}: action.type must be create | update | delete")
    if not (isinstance(action.get("description"), str) and action["description"].strip()):
        err.append(f"{where}: action.description is required (CRDHooksResponseBase)")
    if action.get("type") in ("create", "update"):
        res = action.get("resource")
        if not (isinstance(res, dict) and isinstance(res.get("resourceType"), str)):
            err.append(f"{where}: {action.get('type')} needs a FHIR resource")
        elif action["type"] == "update" and f"{res['resourceType']}/{res.get('id')}" not in drafts:
            err.append(f"{where}: the resource updated must be one of the draftOrders")
        if "resourceId" in action:
            err.append(f"{where}: resourceId only on delete")
    if action.get("type") == "delete":
        rid = action.get("resourceId")
        if not (isinstance(rid, str) and _TYPE_ID.match(rid)):
            err.append(f"{where}: delete needs resourceId as Type/id")
        elif rid not in drafts:
            err.append(f"{where}: delete must name one of the draftOrders, not {rid}")
        if "resource" in action:
            err.append(f"{where}: delete carries no resource")
    return err


def check_card(card: dict, where: str, *, drafts: dict[str, dict], config_codes: set[str]) -> list[str]:
    err: list[str] = []
    for key in set(card) - CARD_KEYS:
        err.append(f"{where}: {key!r} is not a CDS Hooks card attribute")
    summary = card.get("summary")
    if not (isinstance(summary, str) and summary.strip()):
        err.append(f"{where}: summary is required")
    elif len(summary) >= 140:
        err.append(f"{where}: summary has {len(summary)} characters; CDS Hooks: '<140-character'")
    if card.get("indicator") not in ("info", "warning", "critical"):
        err.append(f"{where}: indicator must be info | warning | critical")
    if not (isinstance(card.get("uuid"), str) and _UUID.match(card["uuid"])):
        err.append(f"{where}: uuid is required (CRDHooksResponseBase cards.uuid 1..1)")
    if "detail" in card and not (isinstance(card["detail"], str) and card["detail"].strip()):
        err.append(f"{where}: detail must be a non-empty string")
    source = card.get("source")
    if not isinstance(source, dict) or not (isinstance(source.get("label"), str) and source["label"].strip()):
        err.append(f"{where}: source.label is required")
    else:
        topic = source.get("topic")
        if not isinstance(topic, dict) or not all(isinstance(topic.get(k), str) for k in ("system", "code")):
            err.append(f"{where}: source.topic is required with system and code (CRDHooksResponseBase)")
        elif topic["system"] != CARD_TYPE_CS:
            err.append(
                f"{where}: source.topic system must be {CARD_TYPE_CS} (CRD 2.2 card types), got {topic['system']}"
            )
        elif topic["code"] not in CARD_TYPES:
            err.append(f"{where}: {topic['code']!r} is not a cdshooks-card-type code")
        elif topic["code"] not in config_codes:
            err.append(f"{where}: no boolean configuration option for card type {topic['code']!r} (§dev-5)")
        for k in ("url", "icon"):
            if k in source and not _ABS_URL.match(str(source[k])):
                err.append(f"{where}: source.{k} must be an absolute URL")
    suggestions = card.get("suggestions")
    if suggestions is not None:
        if not isinstance(suggestions, list) or not suggestions:
            err.append(f"{where}: suggestions must be a non-empty array")
            suggestions = []
        behaviour = card.get("selectionBehavior")
        if behaviour not in ("at-most-one", "any"):
            err.append(f"{where}: selectionBehavior at-most-one | any is required with suggestions")
        if behaviour == "at-most-one" and sum(1 for s in suggestions if s.get("isRecommended")) > 1:
            err.append(f"{where}: at most one recommended suggestion with at-most-one")
        for i, s in enumerate(suggestions):
            at = f"{where}.suggestions[{i}]"
            if not (isinstance(s.get("label"), str) and s["label"].strip()):
                err.append(f"{at}: label is required")
            if not (isinstance(s.get("uuid"), str) and s["uuid"]):
                err.append(f"{at}: uuid SHALL be present (cards.md §resp-3)")
            if "isRecommended" in s and not isinstance(s["isRecommended"], bool):
                err.append(f"{at}: isRecommended is a boolean")
            actions = s.get("actions")
            if actions is not None and (not isinstance(actions, list) or not actions):
                err.append(f"{at}: actions must be a non-empty array")
                actions = []
            types = [a.get("type") for a in actions or []]
            # crd-respar-1 (Propose Alternate Request): one update, or one delete and one create
            if "update" in types and types != ["update"]:
                err.append(f"{at}: an update suggestion has that one action only (crd-respar-1)")
            if "create" in types and "delete" in types and sorted(types) != ["create", "delete"]:
                err.append(f"{at}: a replacing suggestion is one delete and one create (crd-respar-1)")
            for j, a in enumerate(actions or []):
                err += check_action(a, f"{at}.actions[{j}]", drafts)
    elif "selectionBehavior" in card:
        err.append(f"{where}: selectionBehavior without suggestions")
    for i, r in enumerate(card.get("overrideReasons", []) or []):
        if not all(isinstance(r.get(k), str) and r[k] for k in ("system", "code", "display")):
            err.append(f"{where}.overrideReasons[{i}]: code, system and display are required")
    for i, link in enumerate(card.get("links", []) or []):
        at = f"{where}.links[{i}]"
        if not (isinstance(link.get("label"), str) and link["label"]):
            err.append(f"{at}: label is required")
        if not _ABS_URL.match(str(link.get("url"))):
            err.append(f"{at}: url must be an absolute http(s) URL")
        if link.get("type") not in ("absolute", "smart"):
            err.append(f"{at}: type absolute | smart is required")
        if "appContext" in link and link.get("type") != "smart":
            err.append(f"{at}: appContext only on smart links")
    if "extension" in card and not isinstance(card["extension"], dict):
        err.append(f"{where}: extension is a JSON object")
    elif "davinci-crd.associated-resource" in card.get("extension", {}):
        # CDSHookServiceResponseExtensionAssociatedResource: type Reference, max * -> an array of References
        # to the orders that drove the card (deviations.md §dev-24)
        assoc = card["extension"]["davinci-crd.associated-resource"]
        if not isinstance(assoc, list) or not all(isinstance(r, dict) and r.get("reference") in drafts for r in assoc):
            err.append(f"{where}: davinci-crd.associated-resource is an array of References to draft orders")
    return err


def empty_values(value, path="$"):
    """CDS Hooks 2.0: elements SHALL NOT be null or empty ("", [], {})."""
    if value is None or value in ("", [], {}):
        yield path
    if isinstance(value, dict):
        for k, v in value.items():
            yield from empty_values(v, f"{path}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from empty_values(v, f"{path}[{i}]")


def check_response(body: object, request: dict, *, config_codes: set[str]) -> list[str]:
    """A whole hook response: shape, cards, coverage-information system actions."""
    if not isinstance(body, dict):
        return ["$: the response is a JSON object"]
    hook = request["hook"]
    err: list[str] = [
        f"$: {k!r} is not a response attribute" for k in set(body) - {"cards", "systemActions", "extension"}
    ]
    if not isinstance(body.get("cards"), list):
        err.append("$.cards: a cards array is required")
    if hook in PRIMARY_HOOKS and not isinstance(body.get("systemActions"), list):
        err.append(
            f"$.systemActions: required (an array, possibly empty) on {hook} (CRD primary hook; the kit "
            "fails a response without it)"
        )
    if "systemActions" in body and not isinstance(body["systemActions"], list):
        err.append("$.systemActions: must be an array")
    for path in empty_values(body):
        if path not in ("$.cards", "$.systemActions"):
            err.append(f"{path}: null or empty value")
    drafts = {
        f"{e['resource']['resourceType']}/{e['resource']['id']}": e["resource"]
        for e in request["context"]["draftOrders"].get("entry", [])
    }
    for i, card in enumerate(body.get("cards") or []):
        err += check_card(card, f"$.cards[{i}]", drafts=drafts, config_codes=config_codes)
    targets = []
    for i, action in enumerate(body.get("systemActions") or []):
        e, _ = check_system_action(action, f"$.systemActions[{i}]", hook=hook, drafts=drafts)
        err += e
        res = action.get("resource") or {}
        targets.append(f"{res.get('resourceType')}/{res.get('id')}")
    if len(targets) != len(set(targets)):
        err.append("$.systemActions: one coverage-information action per order (cards.md §resp-29)")
    return err


def check_discovery(doc: object) -> tuple[list[str], dict[str, set[str]]]:
    """CDS Hooks discovery (hook, id, description required strings; title; prefetch map) and the CRD discovery
    extensions (§dev-4..§dev-8 configuration options; davinci-crd.version). Returns the errors and, per
    service id, its boolean configuration option codes."""
    err: list[str] = []
    options_by_service: dict[str, set[str]] = {}
    if not isinstance(doc, dict) or not isinstance(doc.get("services"), list):
        return ["$: discovery is an object with a services array"], options_by_service
    seen = set()
    for i, s in enumerate(doc["services"]):
        at = f"$.services[{i}]"
        for key in ("hook", "id", "description"):
            if not (isinstance(s.get(key), str) and s[key].strip()):
                err.append(f"{at}: {key} is a required string")
        if not (isinstance(s.get("title"), str) and s["title"].strip()):
            err.append(f"{at}: title is recommended")
        if s.get("hook") not in CRD_HOOKS:
            err.append(f"{at}: {s.get('hook')!r} is not a CRD hook")
        if (s.get("id"), s.get("hook")) in seen:
            err.append(f"{at}: duplicate service")
        seen.add((s.get("id"), s.get("hook")))
        prefetch = s.get("prefetch", {})
        if not isinstance(prefetch, dict) or not all(isinstance(v, str) and v for v in prefetch.values()):
            err.append(f"{at}: prefetch maps keys to query templates")
        ext = s.get("extension", {})
        versions = ext.get("davinci-crd.version")
        # CDSHookServicesExtensionCRDVersion: string, %context.matches('^[1-9]\\d*\\.[1-9]\\d*$')
        if not (
            isinstance(versions, list)
            and versions
            and all(isinstance(v, str) and re.match(r"^[1-9]\d*\.[1-9]\d*$", v) for v in versions)
        ):
            err.append(f"{at}: davinci-crd.version is a list of major.minor versions")
        elif "2.2" not in versions:
            err.append(f"{at}: davinci-crd.version does not name 2.2")
        options = ext.get("davinci-crd.configuration-options")
        if not isinstance(options, list) or not options:
            err.append(f"{at}: davinci-crd.configuration-options is required (§dev-5)")
            options = []
        for field in ("code", "name", "description"):
            got = [o.get(field) for o in options]
            if len(got) != len(set(map(str, got))):
                err.append(f"{at}: configuration option {field}s must be unique (§dev-8)")
        codes: set[str] = set()
        for j, o in enumerate(options):
            ot = f"{at}.configuration-options[{j}]"
            for field in ("code", "name", "description"):
                if not (isinstance(o.get(field), str) and o[field].strip()):
                    err.append(f"{ot}: {field} is required (§dev-4)")
            if not re.match(r"^[A-Za-z][A-Za-z0-9_-]*$", str(o.get("code"))):
                err.append(f"{ot}: code must be a plain JSON property name (§dev-7)")
            if o.get("type") not in ("boolean", "integer"):
                err.append(f"{ot}: type is boolean | integer (§dev-4)")
            elif "default" not in o or type(o["default"]) is not {"boolean": bool, "integer": int}[o["type"]]:
                err.append(f"{ot}: a default of the option's type is required (§dev-4)")
            if o.get("type") == "boolean":
                if o.get("code") not in CARD_TYPES:
                    err.append(f"{ot}: boolean option {o.get('code')!r} is not a CRD Response Type (§dev-7)")
                codes.add(o.get("code"))
        options_by_service[s.get("id")] = codes
    return err, options_by_service
