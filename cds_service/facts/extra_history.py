"""Encounters (hospitalisation), immunizations (live vaccines), procedures and the plan's prior
authorizations as recorded in the chart (ClaimResponse, use preauthorization)."""

from __future__ import annotations

from datetime import date

from .fhir_reading import codings, concept_text, dicts, parse_date, ref_of, reference
from .model import EncounterFact, ImmunizationFact, PriorAuthorization
from .terminology import valuesets as vs

_INPATIENT_CLASSES = {"IMP", "ACUTE", "NONAC", "EMER", "OBSENC", "inpatient"}


def encounters(resources: list[dict], as_of: date) -> tuple[EncounterFact, ...]:
    out = []
    for enc in resources:
        cls = enc.get("class")
        codes = {c.get("code") for c in dicts(cls) if isinstance(c.get("code"), str)}
        status = enc.get("status") if isinstance(enc.get("status"), str) else None
        period = enc.get("period") if isinstance(enc.get("period"), dict) else {}
        start = parse_date(period.get("start"))
        end = parse_date(period.get("end"))
        active = status in ("in-progress", "arrived", "onleave") or (
            status not in ("finished", "cancelled", "entered-in-error") and start is not None and start <= as_of
            and (end is None or end >= as_of))
        out.append(EncounterFact(ref_of(enc), inpatient=bool(codes & _INPATIENT_CLASSES), active=active,
                                 start=start, text=concept_text(enc.get("type"))))
    return tuple(out)


def immunizations(resources: list[dict], drafts) -> tuple[ImmunizationFact, ...]:
    out = []
    for imm in resources:
        if imm.get("status") not in ("completed", None):
            continue
        live = any(c.system == vs.system("cvx") and vs.is_live_vaccine_cvx(c.code)
                   for c in codings(imm.get("vaccineCode")))
        out.append(ImmunizationFact(ref_of(imm), concept_text(imm.get("vaccineCode")) or "vaccine", live,
                                    parse_date(imm.get("occurrenceDateTime"))))
    return tuple(out)


def procedures(resources: list[dict]) -> tuple[tuple[str, str, date | None], ...]:
    out = []
    for p in resources:
        if p.get("status") in ("entered-in-error", "not-done"):
            continue
        d = parse_date(p.get("performedDateTime"))
        if d is None and isinstance(p.get("performedPeriod"), dict):
            d = parse_date(p["performedPeriod"].get("start"))
        out.append((concept_text(p.get("code")), ref_of(p), d))
    return tuple(out)


def prior_authorizations(resources: list[dict], lookup) -> tuple[PriorAuthorization, ...]:
    out = []
    for cr in resources:
        if cr.get("use") != "preauthorization":
            continue
        outcome = cr.get("outcome") if isinstance(cr.get("outcome"), str) else None
        text = concept_text([a.get("productOrService") for item in dicts(cr.get("addItem")) for a in [item]])
        for item in dicts(cr.get("item")):
            for adj in dicts(item.get("adjudication")):
                text += " " + concept_text(adj.get("category"))
        text += " " + (cr.get("disposition") if isinstance(cr.get("disposition"), str) else "")
        request = lookup(reference(cr.get("request")) or "") if reference(cr.get("request")) else None
        if request:
            for it in dicts(request.get("item")):
                text += " " + concept_text(it.get("productOrService"))
        is_anakinra = vs.is_anakinra_name(text) or any(
            vs.is_anakinra_code(c.system, c.code) for item in dicts(cr.get("addItem"))
            for c in codings(item.get("productOrService")))
        if not is_anakinra:
            continue
        period = cr.get("preAuthPeriod") if isinstance(cr.get("preAuthPeriod"), dict) else {}
        status = "approved" if outcome in ("complete", "partial") and "denied" not in text.lower() else (
            outcome or "unknown")
        out.append(PriorAuthorization(ref_of(cr), "anakinra", status, parse_date(period.get("start")),
                                      parse_date(period.get("end"), end_of_period=True),
                                      cr.get("preAuthRef") if isinstance(cr.get("preAuthRef"), str) else None))
    return tuple(out)
