"""Diagnoses: the order's stated reason and the active, confirmed problem list, as indication keys."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from .clinical_kinds import condition_kinds, condition_kinds_hedged, indications_for_text
from .fhir_json import (
    ReferenceLookup,
    as_list,
    codings,
    concept_text,
    dicts,
    parse_date,
    ref_of,
    reference,
    status_code,
    text_or_empty,
)
from .labs import stated_values
from .memo import ConceptMemo
from .model import ChartNote, Code, Diagnosis
from .terminology.codes import indications_for_icd10, indications_for_snomed, qualified_indications_for_icd10
from .terminology.loader import data, system
from .terminology.names import included_indications_for_icd10
from .text_statements import chart_statement_mentions

_ACTIVE = {"active", "recurrence", "relapse"}
_UNCONFIRMED = {"provisional", "differential", "unconfirmed"}


def _is_icd10(c: Code) -> bool:
    return c.system == system("icd10cm") or (c.system or "").endswith("icd-10-cm")


def classify(concept: Any) -> tuple[frozenset[str], frozenset[str], Code | None]:
    """(indications, qualified indications, the coding that named them) of a condition's code.

    Codes name indications; the text refines them (M04.2 + "Muckle-Wells" is CAPS, M04.2 + "NOMID" is NOMID)
    and is the last resort when no code is known. A qualified code (billing.icd10 "for X only": G03.1, L50.8,
    Q87.89, D47.2, M04.8) names its indication only when the text also names it; otherwise the
    indication is kept apart as `qualified` (the policy asks for the diagnosis to be documented).
    """
    found, qualified, first, _ = _classify(tuple(codings(concept)), concept_text(concept))
    return found, qualified, first


def possible_indications(concept: Any) -> frozenset[str]:
    """Indications the concept's code may be but does not establish (M04.2 alone may be NOMID; M04.8 alone
    may be DIRA), unless the text names another syndrome of the code (Muckle-Wells, Blau ...)."""
    return _classify(tuple(codings(concept)), concept_text(concept))[3]


def _classify(codes: tuple[Code, ...], text: str) -> tuple[frozenset[str], frozenset[str], Code | None, frozenset[str]]:
    """`classify` of a concept's codings and text, plus the possible indications (on the hook path memoised per
    concept by `_condition_concept`).

    M04.2 is "Cryopyrin-associated periodic syndromes": CAPS, the general indication. NOMID is one of its
    inclusion terms beside familial cold autoinflammatory syndrome and Muckle-Wells syndrome (ICD-10-CM), and
    the guideline reads NOMID as "the severe phenotype" of CAPS: the code alone does not establish NOMID (the
    text must name it), but NOMID stays `possible`, so its weight-based maximum is still checked."""
    strong: set[str] = set()
    qualified: set[str] = set()
    included: set[str] = set()
    first_strong: Code | None = None
    first_qualified: Code | None = None
    for c in codes:
        hit: frozenset[str] = frozenset()
        if _is_icd10(c):
            hit = indications_for_icd10(c.code)
            q = qualified_indications_for_icd10(c.code)
            if q and first_qualified is None:
                first_qualified = c
            qualified |= q
            included |= included_indications_for_icd10(c.code, text)
        elif c.system == system("snomed"):
            hit = indications_for_snomed(c.code)
        if hit and first_strong is None:
            first_strong = c
        strong |= hit
    first = first_strong or first_qualified
    text_hits = set(indications_for_text(text))
    found: set[str]
    refined = text_hits & (strong | qualified | included)
    if refined:
        found = refined
    elif strong:
        found = strong
    else:
        found = text_hits
    for general, category in data().get("indication_includes", {}).items():
        if not general.startswith("_") and general in found:
            included |= included_indications_for_icd10(category, text)
    qualified_only = frozenset(qualified - found) if not found else frozenset()
    possible = frozenset(included - found)
    if first is None:
        first = codes[0] if codes else Code(None, None, text or None)
    return frozenset(found), qualified_only, first, possible


# What a condition's code says: codings, text, indications, qualified, naming code, kinds affirmed, kinds hedged,
# the indications the code may be.
_ConditionConcept = tuple[
    tuple[Code, ...],
    str,
    frozenset[str],
    frozenset[str],
    Code,
    frozenset[str],
    tuple[tuple[str, str], ...],
    frozenset[str],
]


def _read_condition_concept(concept: Any) -> _ConditionConcept:
    """What a condition's code says (codings, text, indications, qualified, naming code, kinds affirmed, kinds the
    text names without affirming: "no supplemental oxygen requirement", "r/o sepsis", and the indications the code
    may be but does not establish)."""
    cs = tuple(codings(concept))
    text = concept_text(concept)
    indications, qualified, code, possible = _classify(cs, text)
    return (
        cs,
        text,
        indications,
        qualified,
        code or Code(None, None),
        condition_kinds(cs, text),
        condition_kinds_hedged(cs, text),
        possible,
    )


_condition_concept = ConceptMemo(_read_condition_concept)


def _diagnosis(
    concept: Any,
    source: str,
    *,
    from_order: bool,
    active: bool,
    confirmed: bool,
    onset: date | None = None,
    clinical_status: str | None = None,
) -> Diagnosis:
    cs, text, indications, qualified, code, kinds, hedged, possible = _condition_concept(concept)
    return Diagnosis(
        indications=indications,
        code=code,
        source=source,
        from_order=from_order,
        active=active,
        confirmed=confirmed,
        onset=onset,
        text=text,
        kinds=kinds,
        qualified=qualified,
        codes=cs,
        clinical_status=clinical_status,
        hedged_kinds=hedged,
        possible=possible,
    )


def condition_diagnosis(cond: dict[str, Any], from_order: bool = False) -> Diagnosis | None:
    clinical = status_code(cond.get("clinicalStatus"))
    verification = status_code(cond.get("verificationStatus"))
    if verification in ("refuted", "entered-in-error"):
        return None
    onset = parse_date(cond.get("onsetDateTime")) or parse_date(
        (cond.get("onsetPeriod") or {}).get("start") if isinstance(cond.get("onsetPeriod"), dict) else None
    )
    return _diagnosis(
        cond.get("code"),
        ref_of(cond),
        from_order=from_order,
        active=(clinical is None or clinical in _ACTIVE),
        confirmed=verification not in _UNCONFIRMED,
        onset=onset,
        clinical_status=clinical,
    )


def order_reasons(order: dict[str, Any], lookup: ReferenceLookup) -> tuple[Diagnosis, ...]:
    out: list[Diagnosis] = []
    oid = rid if isinstance(rid := order.get("id"), str) else "draft"
    for i, rc in enumerate(dicts(order.get("reasonCode"))):
        out.append(
            _diagnosis(rc, f"MedicationRequest/{oid}.reasonCode[{i}]", from_order=True, active=True, confirmed=True)
        )
    for i, rr in enumerate(as_list(order.get("reasonReference"))):
        if not isinstance(rr, dict):
            continue
        ref = reference(rr)
        cond = None
        if ref and ref.startswith("#"):
            for c in dicts(order.get("contained")):
                if c.get("id") == ref[1:]:
                    cond = c
        elif ref:
            cond = lookup(ref)
        if cond is not None and cond.get("resourceType") == "Condition":
            d = condition_diagnosis(cond, from_order=True)
            if d:
                out.append(d)
        elif isinstance(rr.get("display"), str):
            # The order's own text names the reason. When the referenced record is not in the chart, the evidence
            # cites that text (the order), not a record the chart does not hold.
            source = ref if cond is not None and ref else f"MedicationRequest/{oid}.reasonReference[{i}]"
            out.append(_diagnosis({"text": rr["display"]}, source, from_order=True, active=True, confirmed=True))
    return tuple(out)


def problem_list(conditions: list[dict[str, Any]]) -> tuple[tuple[Diagnosis, ...], tuple[str, ...]]:
    diags: list[Diagnosis] = []
    texts: list[str] = []
    for cond in conditions:
        try:
            d = condition_diagnosis(cond)
        except (TypeError, ValueError, AttributeError):
            d = None
        if d is None:
            continue
        diags.append(d)
        if d.active and d.text:
            texts.append(d.text)
    return tuple(diags), tuple(texts)


def condition_notes(conditions: Sequence[Any]) -> tuple[ChartNote, ...]:
    """The notes written on the chart's Conditions (Condition.note), each read as text evidence: the statements
    it makes (terminology `chart_statements`: "refractory to IVIG and glucocorticoids", "at risk of progressing
    to severe respiratory failure"), the measurements it states ("suPAR 7.8 ng/mL"), and the condition kinds it
    names (affirmed, or negated / hedged). Only explicit, unnegated, unqualified sentences count
    (facts/text_evidence.py); refuted and entered-in-error conditions are not read."""
    out: list[ChartNote] = []
    for cond in conditions:
        if not isinstance(cond, dict):
            continue
        verification = status_code(cond.get("verificationStatus"))
        if verification in ("refuted", "entered-in-error"):
            continue
        clinical = status_code(cond.get("clinicalStatus"))
        active = clinical is None or clinical in _ACTIVE
        base = ref_of(cond)
        recorded = parse_date(cond.get("recordedDate")) or parse_date(cond.get("onsetDateTime"))
        for i, note in enumerate(dicts(cond.get("note"))):
            text = text_or_empty(note.get("text"))
            if not text.strip():
                continue
            written = parse_date(note.get("time")) or recorded
            source = f"{base}.note[{i}]"
            mentions = chart_statement_mentions(text)
            statements = tuple((k, m.sentence) for k, m in mentions if m.affirmed)
            unstated = tuple((k, m.status, m.sentence) for k, m in mentions if not m.affirmed)
            out.append(
                ChartNote(
                    text=text,
                    source=source,
                    written=written,
                    active=active,
                    statements=statements,
                    unstated=unstated,
                    values=stated_values(text, source, written),
                    kinds=condition_kinds((), text),
                    hedged_kinds=condition_kinds_hedged((), text),
                )
            )
    return tuple(out)
