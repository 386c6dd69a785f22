"""Encounters (hospitalisation), immunizations (live vaccines), procedures and the plan's prior
authorizations as recorded in the chart (ClaimResponse, use preauthorization)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from functools import lru_cache
from typing import Any

from .clinical_kinds import indications_for_text, procedure_kinds
from .coverage import plan_records
from .fhir_json import (
    ReferenceLookup,
    codings,
    concept_text,
    dicts,
    object_or_empty,
    parse_date,
    ref_of,
    reference,
    str_or_none,
    text_or_empty,
)
from .model import Code, EncounterFact, ImmunizationFact, PriorAuthorization, ProcedureFact
from .terminology.codes import (
    encounter_class_kind,
    indications_for_icd10,
    indications_for_snomed,
    is_anakinra_code,
    is_live_vaccine_cvx,
)
from .terminology.loader import system
from .terminology.names import is_anakinra_name, is_live_vaccine_name, name_mentions


def encounters(resources: list[dict[str, Any]], as_of: date) -> tuple[EncounterFact, ...]:
    out = []
    for enc in resources:
        cls = enc.get("class")
        codes = [c.get("code") for c in dicts(cls) if isinstance(c.get("code"), str)]
        kinds = {encounter_class_kind(c) for c in codes}
        status = str_or_none(enc.get("status"))
        if status in ("cancelled", "entered-in-error"):
            continue
        period = object_or_empty(enc.get("period"))
        start = parse_date(period.get("start"))
        end = parse_date(period.get("end"))
        active = status in ("in-progress", "arrived", "onleave") or (
            status not in ("finished", "planned")
            and start is not None
            and start <= as_of
            and (end is None or end >= as_of)
        )
        out.append(
            EncounterFact(
                ref_of(enc),
                inpatient="inpatient" in kinds,
                active=active,
                start=start,
                text=concept_text(enc.get("type")),
                class_code=codes[0] if codes else None,
                end=end,
                review="review" in kinds,
            )
        )
    return tuple(out)


def immunizations(resources: list[dict[str, Any]], drafts: Iterable[object] = ()) -> tuple[ImmunizationFact, ...]:
    """Vaccines given (Immunization) and vaccines being ordered in the same session (other draft orders: a
    builder.DraftOrder or a bare MedicationRequest)."""
    out: list[ImmunizationFact] = []
    for imm in resources:
        if imm.get("status") not in ("completed", None):
            continue
        text = concept_text(imm.get("vaccineCode"))
        live = any(
            c.system == system("cvx") and is_live_vaccine_cvx(c.code) for c in codings(imm.get("vaccineCode"))
        ) or is_live_vaccine_name(text)
        out.append(ImmunizationFact(ref_of(imm), text or "vaccine", live, parse_date(imm.get("occurrenceDateTime"))))
    for draft in drafts:
        res = getattr(draft, "resource", draft)
        if not isinstance(res, dict):
            continue
        info = getattr(draft, "medication", None)
        if info is not None and getattr(info, "is_anakinra", False):
            continue
        concept = res.get("medicationCodeableConcept")
        text = concept_text(concept) or (getattr(info, "text", "") if info is not None else "")
        cvx = [c for c in codings(concept) if c.system == system("cvx")]
        cvx_live = any(is_live_vaccine_cvx(c.code) for c in cvx)
        if cvx_live or is_live_vaccine_name(text):
            out.append(
                ImmunizationFact(
                    ref_of(res), text or "vaccine", True, parse_date(res.get("authoredOn")), kind="ordered"
                )
            )
    return tuple(out)


def procedures(resources: list[dict[str, Any]]) -> tuple[ProcedureFact, ...]:
    out = []
    for p in resources:
        status = str_or_none(p.get("status"))
        if status in ("entered-in-error", "not-done"):
            continue
        d = parse_date(p.get("performedDateTime"))
        period = object_or_empty(p.get("performedPeriod"))
        if d is None:
            d = parse_date(period.get("start"))
        codes = tuple(codings(p.get("code")))
        label = concept_text(p.get("code"))
        out.append(
            ProcedureFact(
                label or "procedure",
                ref_of(p),
                d,
                status == "in-progress",
                procedure_kinds(codes, label),
                codes,
                parse_date(period.get("end")),
            )
        )
    return tuple(out)


_DECISION_STRENGTH = ("denied", "cancelled", "pended", "contact-payer", "no-action", "modified", "error")


@lru_cache(maxsize=1)
def _decision_patterns() -> tuple[list[tuple[str, re.Pattern[str]]], list[re.Pattern[str]]]:
    spec = plan_records()["decision_text"]
    neg = [(n["status"], re.compile(n["pattern"], re.I)) for n in spec["negative"]]
    return neg, [re.compile(p, re.I) for p in spec["approving"]]


def _extensions(node: Any) -> list[dict[str, Any]]:
    """Every extension under `node`, nested ones included (a PAS reviewAction carries its code in a
    sub-extension)."""
    out: list[dict[str, Any]] = []
    for ext in dicts(node.get("extension") if isinstance(node, dict) else None):
        out.append(ext)
        out.extend(_extensions(ext))
    return out


def _coded_decisions(cr: dict[str, Any]) -> list[tuple[str, bool, str]]:
    """(status, approves, basis) for every coded review decision on the ClaimResponse: X12 278 review
    action codes (HCR01, Da Vinci PAS extension-reviewAction / extension-reviewActionCode) on the
    adjudications of items, added items and the whole response, and R5 claim-decision codes."""
    rec = plan_records()
    tables = [
        (set(rec[k]["systems"]), rec[k]["codes"], label)
        for k, label in (("review_actions", "X12 review action"), ("claim_decisions", "claim decision"))
    ]
    url_hint = tuple(rec["review_actions"]["extension_url_contains"])
    x12_codes = rec["review_actions"]["codes"]
    nodes: list[dict[str, Any]] = [cr]
    for key in ("item", "addItem"):
        for item in dicts(cr.get(key)):
            nodes.append(item)
            nodes.extend(dicts(item.get("adjudication")))
            for detail in dicts(item.get("detail")):
                nodes.extend(dicts(detail.get("adjudication")))
    nodes.extend(dicts(cr.get("adjudication")))
    out: list[tuple[str, bool, str]] = []
    for node in nodes:
        for ext in _extensions(node):
            url = text_or_empty(ext.get("url"))
            for c in codings(ext.get("valueCodeableConcept")):
                code = (c.code or "").strip()
                for systems, table, label in tables:
                    entry = table.get(code) if c.system in systems else None
                    if (
                        entry is None
                        and label == "X12 review action"
                        and c.system is None
                        and any(h in url for h in url_hint)
                    ):
                        entry = x12_codes.get(code)
                    if entry is not None:
                        out.append(
                            (entry["status"], bool(entry.get("approves")), f"{label} {code} ({entry['display']})")
                        )
                        break
    return out


def _decision_texts(cr: dict[str, Any]) -> list[tuple[str, str]]:
    """(where, text) of what the ClaimResponse says in words about its decision."""
    out: list[tuple[str, str]] = []
    if isinstance(cr.get("disposition"), str) and cr["disposition"].strip():
        out.append(("disposition", cr["disposition"]))
    for note in dicts(cr.get("processNote")):
        if isinstance(note.get("text"), str) and note["text"].strip():
            out.append(("processNote", note["text"]))
    adjudications = list(dicts(cr.get("adjudication")))
    for key in ("item", "addItem"):
        for item in dicts(cr.get(key)):
            adjudications.extend(dicts(item.get("adjudication")))
    for adj in adjudications:
        for key in ("category", "reason"):
            t = concept_text(adj.get(key))
            if t:
                out.append((f"adjudication {key}", t))
    return out


def _decision(cr: dict[str, Any]) -> tuple[str, str]:
    """(status, basis) of a preauthorization ClaimResponse.

    An approval must be positive: `outcome` says only whether processing finished ("complete" is
    also the outcome of a denial: Da Vinci PAS's rejection example is outcome complete with X12 A3
    Not Certified). Approved = a coded certification (X12 A1/A2, claim-decision approved/partial),
    an approving adjudication, or a preAuthRef with an approving disposition; and nothing anywhere
    says otherwise (a denial, a pend, a cancellation, "not certified" in the text). Else the status
    is what the record does say, or "unknown"."""
    outcome = str_or_none(cr.get("outcome"))
    if outcome == "error":
        return "error", "outcome error"
    if outcome == "queued":
        return "pended", "outcome queued (not yet adjudicated)"
    coded = _coded_decisions(cr)
    negative_patterns, approving_patterns = _decision_patterns()
    texts = _decision_texts(cr)
    negatives: list[tuple[str, str]] = [
        (status, basis) for status, approves, basis in coded if not approves and status != "modified"
    ]
    for where, text in texts:
        for status, pat in negative_patterns:
            m = pat.search(text)
            if m:
                negatives.append((status, f"{where} says '{m.group(0)}'"))
                break
    if negatives:
        negatives.sort(key=lambda n: _DECISION_STRENGTH.index(n[0]) if n[0] in _DECISION_STRENGTH else 99)
        return negatives[0][0], "; ".join(dict.fromkeys(b for _, b in negatives))
    approving_text = [
        (where, m.group(0)) for where, text in texts for pat in approving_patterns if (m := pat.search(text))
    ]
    modified = [basis for status, _, basis in coded if status == "modified"]
    certified = [basis for status, approves, basis in coded if approves]
    pre_auth_ref = isinstance(cr.get("preAuthRef"), str) and cr["preAuthRef"].strip()
    if modified and not (certified or approving_text):
        return "modified", "; ".join(modified) + " without a statement that it was approved"
    if certified:
        return "approved", "; ".join(certified)
    adj_approval = [w for w in approving_text if w[0].startswith("adjudication")]
    if adj_approval:
        return "approved", f"{adj_approval[0][0]} '{adj_approval[0][1]}'"
    disp = [w for w in approving_text if w[0] == "disposition"]
    if disp and pre_auth_ref:
        return "approved", f"preAuthRef {cr['preAuthRef']} with disposition '{disp[0][1]}'"
    if disp:
        return "unknown", "an approving disposition without a preAuthRef or a coded review decision"
    return (
        "unknown",
        f"outcome {outcome or 'absent'}: no review decision, approving adjudication or preAuthRef "
        "with an approving disposition",
    )


def _approval_subject(
    cr: dict[str, Any], request: dict[str, Any] | None, lookup: ReferenceLookup
) -> tuple[str, list[Code]]:
    """The text and codes that say what the preauthorization was for: the disposition, process notes,
    items and added items (product, diagnosis, communicated diagnosis), and the Claim it answers
    (items, diagnoses)."""
    texts: list[str] = []
    codes: list[Code] = []
    if isinstance(cr.get("disposition"), str):
        texts.append(cr["disposition"])
    for note in dicts(cr.get("processNote")):
        if isinstance(note.get("text"), str):
            texts.append(note["text"])
    for res in (cr, request or {}):
        for key in ("item", "addItem"):
            for item in dicts(res.get(key)):
                texts.append(concept_text(item.get("productOrService")))
                codes.extend(codings(item.get("productOrService")))
                for ext in _extensions(item):
                    texts.append(concept_text(ext.get("valueCodeableConcept")))
                    codes.extend(codings(ext.get("valueCodeableConcept")))
        for dx in dicts(res.get("diagnosis")):
            texts.append(concept_text(dx.get("diagnosisCodeableConcept")))
            codes.extend(codings(dx.get("diagnosisCodeableConcept")))
            ref = reference(dx.get("diagnosisReference"))
            cond = lookup(ref) if ref else None
            if isinstance(cond, dict):
                texts.append(concept_text(cond.get("code")))
                codes.extend(codings(cond.get("code")))
    return " \n ".join(t for t in texts if t), codes


def _indications(text: str, codes: Iterable[Code]) -> frozenset[str]:
    found = set(indications_for_text(text))
    for key, names in plan_records()["approval_indication_names"].items():
        if not key.startswith("_") and name_mentions(text, names):
            found.add(key)
    for c in codes:
        if c.system == system("icd10cm"):
            found |= indications_for_icd10(c.code)
        elif c.system == system("snomed"):
            found |= indications_for_snomed(c.code)
    return frozenset(found)


def prior_authorizations(resources: list[dict[str, Any]], lookup: ReferenceLookup) -> tuple[PriorAuthorization, ...]:
    """The plan's preauthorization decisions for anakinra found in the chart (ClaimResponse, use
    preauthorization): what was decided (`_decision`) and what for (every indication the response, its
    notes and items, or the Claim it answers name)."""
    out = []
    for cr in resources:
        if cr.get("use") != "preauthorization" or cr.get("status") in ("cancelled", "entered-in-error"):
            continue
        req_ref = reference(cr.get("request"))
        request = lookup(req_ref) if req_ref else None
        request = request if isinstance(request, dict) else None
        text, codes = _approval_subject(cr, request, lookup)
        is_anakinra = is_anakinra_name(text) or any(is_anakinra_code(c.system, c.code) for c in codes)
        if not is_anakinra:
            continue
        period = object_or_empty(cr.get("preAuthPeriod"))
        status, basis = _decision(cr)
        named = _indications(text, codes)
        out.append(
            PriorAuthorization(
                ref_of(cr),
                "anakinra",
                status,
                parse_date(period.get("start")),
                parse_date(period.get("end"), end_of_period=True),
                str_or_none(cr.get("preAuthRef")),
                next(iter(named)) if len(named) == 1 else None,
                named,
                basis,
            )
        )
    return tuple(out)
