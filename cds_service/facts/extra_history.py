"""Encounters (hospitalisation), immunizations (live vaccines), procedures and the plan's prior
authorizations as recorded in the chart (ClaimResponse, use preauthorization)."""

from __future__ import annotations

from datetime import date

from .fhir_reading import codings, concept_text, dicts, parse_date, ref_of, reference
from .model import EncounterFact, ImmunizationFact, PriorAuthorization, ProcedureFact
from .terminology import valuesets as vs


def encounters(resources: list[dict], as_of: date) -> tuple[EncounterFact, ...]:
    out = []
    for enc in resources:
        cls = enc.get("class")
        codes = [c.get("code") for c in dicts(cls) if isinstance(c.get("code"), str)]
        kinds = {vs.encounter_class_kind(c) for c in codes}
        status = enc.get("status") if isinstance(enc.get("status"), str) else None
        if status in ("cancelled", "entered-in-error"):
            continue
        period = enc.get("period") if isinstance(enc.get("period"), dict) else {}
        start = parse_date(period.get("start"))
        end = parse_date(period.get("end"))
        active = status in ("in-progress", "arrived", "onleave") or (
            status not in ("finished", "planned") and start is not None and start <= as_of
            and (end is None or end >= as_of))
        out.append(EncounterFact(ref_of(enc), inpatient="inpatient" in kinds, active=active,
                                 start=start, text=concept_text(enc.get("type")),
                                 class_code=codes[0] if codes else None, end=end, review="review" in kinds))
    return tuple(out)


def immunizations(resources: list[dict], drafts=()) -> tuple[ImmunizationFact, ...]:
    """Vaccines given (Immunization) and vaccines being ordered in the same session (other draft orders)."""
    out = []
    for imm in resources:
        if imm.get("status") not in ("completed", None):
            continue
        text = concept_text(imm.get("vaccineCode"))
        live = any(c.system == vs.system("cvx") and vs.is_live_vaccine_cvx(c.code)
                   for c in codings(imm.get("vaccineCode"))) or vs.is_live_vaccine_name(text)
        out.append(ImmunizationFact(ref_of(imm), text or "vaccine", live,
                                    parse_date(imm.get("occurrenceDateTime"))))
    for draft in drafts:
        res = getattr(draft, "resource", draft)
        if not isinstance(res, dict):
            continue
        info = getattr(draft, "medication", None)
        if info is not None and getattr(info, "is_anakinra", False):
            continue
        concept = res.get("medicationCodeableConcept")
        text = concept_text(concept) or (getattr(info, "text", "") if info is not None else "")
        cvx = [c for c in codings(concept) if c.system == vs.system("cvx")]
        cvx_live = any(vs.is_live_vaccine_cvx(c.code) for c in cvx)
        if cvx_live or vs.is_live_vaccine_name(text):
            out.append(ImmunizationFact(ref_of(res), text or "vaccine", True,
                                        parse_date(res.get("authoredOn")), kind="ordered"))
    return tuple(out)


def procedures(resources: list[dict]) -> tuple[ProcedureFact, ...]:
    out = []
    for p in resources:
        status = p.get("status") if isinstance(p.get("status"), str) else None
        if status in ("entered-in-error", "not-done"):
            continue
        d = parse_date(p.get("performedDateTime"))
        if d is None and isinstance(p.get("performedPeriod"), dict):
            d = parse_date(p["performedPeriod"].get("start"))
        codes = tuple(codings(p.get("code")))
        label = concept_text(p.get("code"))
        out.append(ProcedureFact(label or "procedure", ref_of(p), d, status == "in-progress",
                                 vs.procedure_kinds(codes, label), codes))
    return tuple(out)


def prior_authorizations(resources: list[dict], lookup) -> tuple[PriorAuthorization, ...]:
    out = []
    for cr in resources:
        if cr.get("use") != "preauthorization" or cr.get("status") in ("cancelled", "entered-in-error"):
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
        named = sorted(vs.indications_for_text(text))
        out.append(PriorAuthorization(ref_of(cr), "anakinra", status, parse_date(period.get("start")),
                                      parse_date(period.get("end"), end_of_period=True),
                                      cr.get("preAuthRef") if isinstance(cr.get("preAuthRef"), str) else None,
                                      named[0] if len(named) == 1 else None))
    return tuple(out)
