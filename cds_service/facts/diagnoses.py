"""Diagnoses: the order's stated reason and the active, confirmed problem list, as indication keys."""

from __future__ import annotations

from .fhir_reading import codings, concept_text, dicts, parse_date, ref_of, reference, status_code
from .model import Code, Diagnosis
from .terminology import valuesets as vs

_ACTIVE = {"active", "recurrence", "relapse"}
_UNCONFIRMED = {"provisional", "differential", "unconfirmed"}


def indications_of(concept) -> tuple[frozenset[str], Code | None]:
    found: set[str] = set()
    first: Code | None = None
    for c in codings(concept):
        hit = frozenset()
        if c.system == vs.system("icd10cm") or (c.system or "").endswith("icd-10-cm"):
            hit = vs.indications_for_icd10(c.code)
        elif c.system == vs.system("snomed"):
            hit = vs.indications_for_snomed(c.code)
        if hit and first is None:
            first = c
        found |= hit
    if not found:
        found |= vs.indications_for_text(concept_text(concept))
    if first is None:
        cs = codings(concept)
        first = cs[0] if cs else Code(None, None, concept_text(concept) or None)
    return frozenset(found), first


def condition_diagnosis(cond: dict, from_order: bool = False) -> Diagnosis | None:
    clinical = status_code(cond.get("clinicalStatus"))
    verification = status_code(cond.get("verificationStatus"))
    if verification in ("refuted", "entered-in-error"):
        return None
    indications, code = indications_of(cond.get("code"))
    return Diagnosis(
        indications=indications, code=code or Code(None, None), source=ref_of(cond), from_order=from_order,
        active=(clinical is None or clinical in _ACTIVE) or from_order and clinical is None,
        confirmed=verification not in _UNCONFIRMED,
        onset=parse_date(cond.get("onsetDateTime")) or parse_date(
            (cond.get("onsetPeriod") or {}).get("start") if isinstance(cond.get("onsetPeriod"), dict) else None),
        text=concept_text(cond.get("code")),
    )


def order_reasons(order: dict, lookup) -> tuple[Diagnosis, ...]:
    out: list[Diagnosis] = []
    oid = order.get("id") if isinstance(order.get("id"), str) else "draft"
    for i, rc in enumerate(dicts(order.get("reasonCode"))):
        indications, code = indications_of(rc)
        out.append(Diagnosis(indications, code or Code(None, None), f"MedicationRequest/{oid}.reasonCode[{i}]",
                             True, True, True, None, concept_text(rc)))
    for rr in dicts(order.get("reasonReference")):
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
            ind = vs.indications_for_text(rr["display"])
            out.append(Diagnosis(ind, Code(None, None, rr["display"]), ref or f"MedicationRequest/{oid}.reasonReference",
                                 True, True, True, None, rr["display"]))
    return tuple(out)


def problem_list(conditions: list[dict]) -> tuple[tuple[Diagnosis, ...], tuple[str, ...]]:
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
