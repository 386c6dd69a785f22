"""Is it anakinra? And the medication history as therapy spans."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

from .fhir_json import (
    ReferenceLookup,
    as_list,
    codings,
    concept_text,
    dicts,
    first_text,
    number,
    object_or_empty,
    parse_date,
    quantity,
    ref_of,
    reference,
    str_or_none,
    text_or_empty,
)
from .memo import ConceptMemo
from .model import Code, TherapySpan
from .terminology.codes import (
    drug_classes,
    drug_for_code,
    is_anakinra_code,
    is_single_100mg_syringe_code,
    supply_type_for_code,
)
from .terminology.loader import system
from .terminology.names import drug_for_name, is_anakinra_name, preferred_product_drugs, ra_preferred_product
from .terminology.wording import stop_reason_patterns, supply_type_for_text
from .text_statements import is_route_intolerance, methotrexate_dose_limit, response_of


@dataclass(frozen=True)
class MedicationInfo:
    is_anakinra: bool
    label: str
    codes: tuple[Code, ...]
    drug: str | None  # ingredient key for non-anakinra drugs
    single_100mg_syringe: bool
    text: str
    has_medication: bool  # the resource names a medication at all


NO_MEDICATION = MedicationInfo(False, "", (), None, False, "", False)


def unidentifiable(info: MedicationInfo) -> bool:
    """No code the value sets know and no name: the record could hold any drug. (A named drug the
    value sets do not list, ibuprofen say, is identified: it is simply not one the guideline names.)"""
    return not info.is_anakinra and info.drug is None and not info.text.strip()


def _read_medication_concept(concept: Any) -> MedicationInfo:
    codes = tuple(codings(concept))
    text = concept_text(concept)
    if not codes and not text:
        return NO_MEDICATION
    return _medication_info(codes, text, first_text(concept))


_info_from_concept = ConceptMemo(_read_medication_concept)


def _medication_info(codes: tuple[Code, ...], text: str, first: str) -> MedicationInfo:
    """What a medication concept is, from its codings, text and first label (and the value sets,
    loaded once). Memoised per concept by `_info_from_concept`."""
    is_ana = any(is_anakinra_code(c.system, c.code) for c in codes)
    if not is_ana and not any(drug_for_code(c.system, c.code) for c in codes):
        # Names as a last resort (product codes we do not know, local codes, text only).
        is_ana = is_anakinra_name(text)
    drug = None
    if not is_ana:
        for c in codes:
            drug = drug_for_code(c.system, c.code)
            if drug:
                break
        if drug is None:
            drug = drug_for_name(text)
    single = is_ana and (
        any(is_single_100mg_syringe_code(c.system, c.code) for c in codes)
        or bool(re.search(r"100\s*mg|149\s*mg/ml|0\.67\s*ml", text.lower()))
        or not codes  # name-only anakinra: the only marketed form is the 100 mg syringe
        or any(
            c.system == system("rxnorm") and c.code in ("72435", "1157701", "1170741", "727708", "727713")
            for c in codes
        )
    )
    label = first or (codes[0].label() if codes else "")
    return MedicationInfo(is_ana, label, codes, drug, single, text, True)


def medication_of(resource: dict[str, Any], lookup: ReferenceLookup) -> MedicationInfo:
    """The medication of a MedicationRequest/Statement/Dispense/Administration.

    `lookup(reference)` resolves a medicationReference (prefetch, then the FHIR server).
    A `#id` reference is resolved from `contained`.
    """
    if "medicationCodeableConcept" in resource:
        return _info_from_concept(resource.get("medicationCodeableConcept"))
    ref = reference(resource.get("medicationReference"))
    display = (
        resource.get("medicationReference", {}).get("display")
        if isinstance(resource.get("medicationReference"), dict)
        else None
    )
    med = None
    if ref and ref.startswith("#"):
        for c in dicts(resource.get("contained")):
            if c.get("resourceType") == "Medication" and c.get("id") == ref[1:]:
                med = c
                break
    elif ref:
        med = lookup(ref)
    if med is not None:
        info = _info_from_concept(med.get("code"))
        if info.has_medication:
            return info
    if isinstance(display, str) and display:
        return _info_from_concept({"text": display})
    return NO_MEDICATION


def _supply(res: dict[str, Any], kind: str, notes: str) -> str:
    """Why a record is a sample, trial or free supply rather than treatment that counts for
    initiation.1.a ("starting on samples is not approvable"), or "" when nothing says so.

    A MedicationDispense's `type` code decides first (v3 ActPharmacySupplyType MS manufacturer sample,
    TF/TFS trial fill; v2 0484 S, T: terminology `supply_types`); then the words of the type, the
    category and the notes ("samples given in clinic", "starter kit"), unless negated ("not a sample")."""
    if kind == "dispense":
        for c in codings(res.get("type")):
            label = supply_type_for_code(c.system, c.code)
            if label:
                code_system = "v2 0484" if "0484" in (c.system or "") else "v3 ActCode"
                return f"{label} ({code_system} {c.code})"
    for where, text in (
        ("type", concept_text(res.get("type"))),
        ("category", concept_text(res.get("category"))),
        ("note", notes),
    ):
        phrase = supply_type_for_text(text)
        if phrase:
            return f'{where} says "{phrase}"'
    return ""


def classify_stop_reason(text: str) -> str | None:
    """ineffective | adverse | route | other. 'route' is an intolerance of the route (needles, injections),
    which the guideline does not count as an intolerance to the drug (table1.ra.2.d)."""
    if not text:
        return None
    ineffective, adverse = stop_reason_patterns()
    # Lack of effect wins over everything else named in the same text (terminology `stop_reasons`).
    if ineffective.search(text):
        return "ineffective"
    if is_route_intolerance(text):
        return "route"
    if adverse.search(text):
        return "adverse"
    return "other"


def _period(p: Any) -> tuple[date | None, date | None]:
    if not isinstance(p, dict):
        return None, None
    return parse_date(p.get("start")), parse_date(p.get("end"), end_of_period=True)


def _days(q: Any) -> float | None:
    v, unit = quantity(q)
    if v is None:
        return None
    factor = {
        "d": 1,
        "day": 1,
        "days": 1,
        "wk": 7,
        "week": 7,
        "weeks": 7,
        "mo": 30,
        "month": 30,
        "months": 30,
        "h": 1 / 24,
        "a": 365,
        "year": 365,
    }.get((unit or "d").lower())
    return v * factor if factor else None


def _dose_text(resource: dict[str, Any]) -> str:
    parts = []
    for d in dicts(resource.get("dosage")) if "dosage" in resource else dicts(resource.get("dosageInstruction")):
        if isinstance(d.get("text"), str):
            parts.append(d["text"])
    if isinstance(resource.get("dosage"), dict) and isinstance(resource["dosage"].get("text"), str):
        parts.append(resource["dosage"]["text"])
    return "; ".join(parts)


_MG_WEEK = re.compile(
    r"(\d+(?:\.\d+)?)\s*mg\b[^;]*?(weekly|once a week|per week|every week|/\s*w(ee)?k|q\s?week)", re.I
)


def _mg_per_week(resource: dict[str, Any]) -> float | None:
    dosages = list(dicts(resource.get("dosageInstruction"))) + list(dicts(resource.get("dosage")))
    for d in dosages:
        rep = d.get("timing", {}).get("repeat", {}) if isinstance(d.get("timing"), dict) else {}
        unit = rep.get("periodUnit") if isinstance(rep, dict) else None
        period = number(rep.get("period")) if isinstance(rep, dict) else None
        freq = number(rep.get("frequency")) if isinstance(rep, dict) else None
        for dr in dicts(d.get("doseAndRate")):
            v, u = quantity(dr.get("doseQuantity"))
            if v is not None and (u or "").lower() == "mg" and unit == "wk":
                return v * (freq or 1) / (period or 1)
        text = text_or_empty(d.get("text"))
        m = _MG_WEEK.search(text)
        if m:
            return float(m.group(1))
    return None


_MAX_SUPPLY_DAYS = 3660  # a supply or course longer than ten years is not a supply: treat it as unstated


def _plus_days(start: date, days: float) -> date | None:
    """start + days, or None when the number is not a plausible supply (negative, NaN, absurdly large)."""
    if not (0 <= days <= _MAX_SUPPLY_DAYS):
        return None
    try:
        return start + timedelta(days=int(days))
    except OverflowError:
        return None


def _statement_span(
    res: dict[str, Any], lookup: ReferenceLookup, as_of: date, unidentified: list[str] | None = None
) -> TherapySpan | None:
    status = str_or_none(res.get("status"))
    if status in ("entered-in-error", "not-taken"):
        return None
    start, end = _period(res.get("effectivePeriod"))
    if start is None:
        start = parse_date(res.get("effectiveDateTime"))
    reason = concept_text(res.get("statusReason"))
    return _span(res, lookup, "statement", status, start, end, as_of, reason, unidentified)


def _request_span(
    res: dict[str, Any], lookup: ReferenceLookup, as_of: date, unidentified: list[str] | None = None
) -> TherapySpan | None:
    status = str_or_none(res.get("status"))
    if status in ("entered-in-error", "draft", "cancelled"):
        return None
    start = parse_date(res.get("authoredOn"))
    end = None
    for d in dicts(res.get("dosageInstruction")):
        t = d.get("timing")
        if isinstance(t, dict) and isinstance(t.get("repeat"), dict):
            s, e = _period(t["repeat"].get("boundsPeriod"))
            start = s or start
            end = e or end
    dr = object_or_empty(res.get("dispenseRequest"))
    vs_, ve = _period(dr.get("validityPeriod"))
    start = start or vs_
    if end is None and status in ("completed", "stopped"):
        end = ve
        if end is None and start is not None:
            supply = _days(dr.get("expectedSupplyDuration"))
            repeats = number(dr.get("numberOfRepeatsAllowed")) or 0
            if supply:
                end = _plus_days(start, supply * (repeats + 1))
    reason = concept_text(res.get("statusReason"))
    doubt = ""
    if status in ("active", "on-hold") and ve is not None and ve < as_of:
        # Still `active`, but it can no longer be filled: current use is not shown (nor ruled out).
        doubt = f"the prescription's validity period ended on {ve.isoformat()}"
    return _span(res, lookup, "request", status, start, end, as_of, reason, unidentified, doubt)


def _dispense_span(
    res: dict[str, Any], lookup: ReferenceLookup, as_of: date, unidentified: list[str] | None = None
) -> TherapySpan | None:
    status = str_or_none(res.get("status"))
    if status not in (None, "completed", "in-progress"):
        return None
    start = parse_date(res.get("whenHandedOver")) or parse_date(res.get("whenPrepared"))
    supply = _days(res.get("daysSupply"))
    end = _plus_days(start, supply) if start and supply else None
    span = _span(res, lookup, "dispense", status, start, end, as_of, "", unidentified)
    return span


def _administration_span(
    res: dict[str, Any], lookup: ReferenceLookup, as_of: date, unidentified: list[str] | None = None
) -> TherapySpan | None:
    status = str_or_none(res.get("status"))
    if status not in (None, "completed", "in-progress"):
        return None
    start, end = _period(res.get("effectivePeriod"))
    if start is None:
        start = parse_date(res.get("effectiveDateTime"))
        end = start
    return _span(res, lookup, "administration", status, start, end, as_of, "", unidentified)


def _is_active(kind: str, status: str | None, start: date | None, end: date | None, as_of: date) -> bool:
    if kind == "statement":
        return (
            status in ("active", "on-hold", None, "unknown")
            and (end is None or end >= as_of)
            and (start is None or start <= as_of)
        )
    if kind == "request":
        return status in ("active", "on-hold") and (end is None or end >= as_of)
    return end is not None and start is not None and start <= as_of <= end


def _span(
    res: dict[str, Any],
    lookup: ReferenceLookup,
    kind: str,
    status: str | None,
    start: date | None,
    end: date | None,
    as_of: date,
    reason: str,
    unidentified: list[str] | None = None,
    doubt: str = "",
) -> TherapySpan | None:
    info = medication_of(res, lookup)
    drug = "anakinra" if info.is_anakinra else info.drug
    if drug is None:
        if (
            unidentified is not None
            and unidentifiable(info)
            and (_is_active(kind, status, start, end, as_of) or _is_planned(res, kind, status, start, as_of))
        ):
            unidentified.append(ref_of(res))
        return None
    classes = frozenset({"anakinra", "biologic"}) if drug == "anakinra" else drug_classes(drug)
    active = _is_active(kind, status, start, end, as_of)
    notes = " ".join(str(n.get("text", "")) for n in dicts(res.get("note")))
    supply = _supply(res, kind, notes)
    preferred = ra_preferred_product(drug, info.text) if drug in preferred_product_drugs() else None
    stop_text = reason or notes
    return TherapySpan(
        drug=drug,
        classes=classes,
        label=info.label or drug,
        source=ref_of(res),
        kind=kind,
        status=status,
        start=start,
        end=end,
        active=active,
        preferred_product=preferred,
        stopped_reason=classify_stop_reason(stop_text)
        if status in ("stopped", "completed", "on-hold") or reason
        else None,
        reason_text=stop_text.strip(),
        is_sample=bool(supply),
        dose_text=_dose_text(res),
        mg_per_week=_mg_per_week(res) if drug == "methotrexate" else None,
        response=response_of(" ".join(t for t in (reason, notes) if t)),
        supply=supply,
        doubt=doubt,
        dose_limit=methotrexate_dose_limit("; ".join(t for t in (reason, notes, _dose_text(res)) if t))
        if drug == "methotrexate"
        else "",
    )


def _is_planned(res: dict[str, Any], kind: str, status: str | None, start: date | None, as_of: date) -> bool:
    """Use to come rather than use now: a MedicationStatement `intended` ("starts next week"), a
    MedicationRequest whose intent is a plan or proposal, or an active record that starts after the
    order date. initiation.4 / continuation.5 read "will NOT be using ... in combination": planned use
    counts there (and nowhere else)."""
    if kind == "statement":
        return status == "intended" or (
            status in ("active", "on-hold", None, "unknown") and start is not None and start > as_of
        )
    if kind == "request":
        return status in ("active", "on-hold", None) and res.get("intent") in ("plan", "proposal")
    return False


def _planned_only(res: dict[str, Any], kind: str, status: str | None) -> bool:
    """Records that are no history at all (nothing was taken yet): only the planned list holds them."""
    return (kind == "statement" and status == "intended") or (
        kind == "request" and res.get("intent") in ("plan", "proposal")
    )


def _contradicted(span: TherapySpan, spans: list[TherapySpan]) -> str:
    """Why an active record's current use is in doubt: a MedicationStatement of the same drug that says
    it was stopped (or completed) on or after the active record began."""
    for other in spans:
        if (
            other is span
            or other.drug != span.drug
            or other.kind != "statement"
            or other.active
            or other.status not in ("stopped", "completed")
            or other.end is None
        ):
            continue
        if span.start is None or other.end >= span.start:
            return f"{other.source} says it was {other.status} on {other.end.isoformat()}"
    return ""


def therapy_history(
    resources_by_type: dict[str, list[dict[str, Any]]],
    lookup: ReferenceLookup,
    as_of: date,
    unidentified: list[str] | None = None,
    planned: list[TherapySpan] | None = None,
) -> tuple[TherapySpan, ...]:
    """Every medication record as a therapy span (drugs the value sets know). With `unidentified`, the
    references of active (or planned) records whose medication cannot be identified at all are added to
    it: no code the value sets know and no name (say, a medicationReference that was neither included
    nor given a display). A named drug the value sets do not list (ibuprofen) is identified: it is
    simply not one the guideline names. With `planned`, planned use (`_is_planned`) is added to it;
    records that are only a plan (intended statements, plan/proposal requests) are never history.

    An active record that a later "stopped" statement of the same drug contradicts, or an active
    order that can no longer be filled, keeps `active` but says why its use is in doubt (`doubt`)."""
    spans: list[TherapySpan] = []
    readers = (
        ("MedicationStatement", _statement_span),
        ("MedicationRequest", _request_span),
        ("MedicationDispense", _dispense_span),
        ("MedicationAdministration", _administration_span),
    )
    for rtype, reader in readers:
        for res in resources_by_type.get(rtype, []):
            try:
                span = reader(res, lookup, as_of, unidentified)
            except (TypeError, ValueError, AttributeError, OverflowError):
                span = None
            if span is None:
                continue
            is_planned = _is_planned(res, span.kind, span.status, span.start, as_of)
            if is_planned and planned is not None:
                planned.append(span)
            if not (is_planned and _planned_only(res, span.kind, span.status)):
                spans.append(span)
    out = []
    for span in spans:
        why = _contradicted(span, spans) if span.active and span.drug != "anakinra" and not span.doubt else None
        out.append(replace(span, doubt=why) if why else span)
    return tuple(out)


def draft_span(res: dict[str, Any], info: MedicationInfo, as_of: date) -> TherapySpan | None:
    """Another draft order in the same bundle, as a (future) therapy span."""
    if info.is_anakinra or not info.drug:
        return None
    return TherapySpan(
        drug=info.drug,
        classes=drug_classes(info.drug),
        label=info.label or info.drug,
        source=ref_of(res),
        kind="draft",
        status="draft",
        start=as_of,
        end=None,
        active=True,
        preferred_product=ra_preferred_product(info.drug, info.text),
    )


def as_concepts(values: Any) -> list[Any]:
    return as_list(values)
