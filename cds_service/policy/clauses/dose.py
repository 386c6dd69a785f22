"""Dose clauses: initiation.5 (a to d) / continuation.6, dosage.nomid-dira, dosage.ra."""

from __future__ import annotations

from datetime import timedelta

from ...facts.model import CaseFacts
from ..data_loader import Policy
from ..logic import any_of, leaf
from ..model import ClauseResult, Evidence, Missing, Need, Outcome
from .common import fmt, weight_evidence


def dose_evidence(case: CaseFacts) -> list[Evidence]:
    d = case.order.dose
    ref = case.order.reference
    ev = [Evidence(f"dose {fmt(d.mg_per_dose, 'mg')} x {fmt(d.doses_per_day)} per day = {fmt(d.mg_per_day, 'mg/day')}",
                   ref, fmt(d.mg_per_day, "mg/day")),
          Evidence(f"{fmt(d.syringes_per_28_days)} syringes per 28 days", ref, fmt(d.syringes_per_28_days, "syringes/28 d"))]
    for note in d.notes:
        ev.append(Evidence(note, ref))
    return ev


def quantity_limit(case: CaseFacts, policy: Policy, clause_id: str = "initiation.5.a") -> ClauseResult:
    d = case.order.dose
    lim = policy.limits
    ev = dose_evidence(case)
    over = []
    unknown = []
    if d.mg_per_day is None:
        unknown.append("the daily dose (mg per dose and how often)")
    elif d.mg_per_day > lim["max_mg_per_day"] + 1e-9:
        over.append(f"{fmt(d.mg_per_day, 'mg')} per day exceeds {lim['max_mg_per_day']} mg")
    if d.doses_per_day is not None and d.doses_per_day > lim["max_doses_per_day"] + 1e-9:
        over.append(f"{fmt(d.doses_per_day)} doses per day exceeds once daily")
    if d.syringes_per_28_days is None:
        unknown.append("the quantity (syringes) and days supply")
    elif d.syringes_per_28_days > lim["max_syringes_per_28_days"] + 1e-9:
        over.append(f"{fmt(d.syringes_per_28_days)} syringes per {lim['quantity_period_days']} days exceeds the "
                    f"quantity limit of {lim['max_syringes_per_28_days']} syringes "
                    f"({lim['quantity_limit_ml_per_28_days']} mL)")
    if over:
        return leaf(clause_id, Outcome.NOT_MET, "; ".join(over) + ".", ev)
    if unknown:
        return leaf(clause_id, Outcome.UNKNOWN, "The order does not state " + " and ".join(unknown) + ".", ev,
                    [Missing(u[0].upper() + u[1:] + " on the order", Need.INFO, "OTH") for u in unknown])
    return leaf(clause_id, Outcome.MET, f"At most {lim['max_mg_per_day']} mg once daily and at most "
                                        f"{lim['max_syringes_per_28_days']} syringes per {lim['quantity_period_days']} "
                                        "days.", ev)


def weight_is_current(case: CaseFacts, policy: Policy) -> tuple[bool, str]:
    w = case.patient.weight
    if w is None:
        return False, "no body weight on file"
    if w.observed_on is None:
        return False, f"the latest weight ({w.original}) has no date"
    age_days = case.patient.age_days
    young = age_days is not None and age_days < policy.limit("weight_under_2_years_age_days")
    max_days = policy.limit("weight_max_age_days_under_2_years") if young else policy.limit("weight_max_age_days")
    if case.patient.as_of - w.observed_on > timedelta(days=max_days):
        return False, f"the latest weight ({w.original}, {w.observed_on.isoformat()}) is older than {max_days} days"
    return True, ""


def mg_per_kg_day(case: CaseFacts) -> float | None:
    d = case.order.dose
    w = case.patient.weight
    if d.per_kg is not None and d.doses_per_day is not None:
        return d.per_kg * d.doses_per_day
    if d.mg_per_day is not None and w is not None and w.kg > 0:
        return d.mg_per_day / w.kg
    return None


def weight_based(case: CaseFacts, policy: Policy, indication: str | None) -> ClauseResult:
    """dosage.nomid-dira: at most 8 mg/kg daily, against a current body weight."""
    cid = "dosage.nomid-dira"
    if not indication or not policy.indications.get(indication, {}).get("weight_based"):
        return leaf(cid, Outcome.NOT_APPLICABLE, "Not NOMID or DIRA.")
    max_kg = policy.limit("nomid_dira_max_mg_per_kg_day")
    current, why = weight_is_current(case, policy)
    ev = dose_evidence(case)
    w = case.patient.weight
    if w is not None:
        ev.append(weight_evidence(w))
    if not current:
        return leaf(cid, Outcome.UNKNOWN, f"Weight-based dosing cannot be checked: {why}.", ev,
                    [Missing(f"A current body weight (kg or lb) to check the dose against {max_kg} mg/kg/day",
                             Need.INFO, "OTH")])
    per_kg = mg_per_kg_day(case)
    if per_kg is None:
        return leaf(cid, Outcome.UNKNOWN, "The daily dose is not stated on the order.", ev,
                    [Missing("The daily dose on the order", Need.INFO, "OTH")])
    ev.append(Evidence(f"{fmt(per_kg, 'mg/kg/day')} against the labeled maximum of {max_kg} mg/kg/day",
                       case.order.reference, fmt(per_kg, "mg/kg/day")))
    if per_kg > max_kg + 1e-9:
        return leaf(cid, Outcome.NOT_MET, f"{fmt(per_kg, 'mg/kg/day')} exceeds the maximum of {max_kg} mg/kg daily.", ev)
    return leaf(cid, Outcome.MET, f"{fmt(per_kg, 'mg/kg/day')} is within {max_kg} mg/kg daily.", ev)


def ra_dose(case: CaseFacts, policy: Policy, indication: str | None) -> ClauseResult:
    """dosage.ra (advice): 100 mg/day subcutaneously at about the same time every day."""
    cid = "dosage.ra"
    if not indication or policy.indication(indication).get("dosage_clause") != cid:
        return leaf(cid, Outcome.NOT_APPLICABLE, "Not RA.")
    ra = policy.section("ra_dose")
    d = case.order.dose
    label = f"RA dosing is {ra['mg_per_day']} mg/day {ra['route']}ly at about the same time every day"
    if d.mg_per_dose is None or d.doses_per_day is None:
        return leaf(cid, Outcome.UNKNOWN, "Dose or timing not stated.", dose_evidence(case))
    every_other = policy.section("renal")["every_other_day_doses_per_day"]
    if abs(d.mg_per_dose - ra["mg_per_day"]) < 1e-6 and abs(d.doses_per_day - every_other) < 1e-6:
        return leaf(cid, Outcome.MET, f"{label}; every other day is the renal adjustment (dosage.renal).",
                    dose_evidence(case))
    ok = (abs(d.mg_per_dose - ra["mg_per_day"]) < 1e-6 and abs(d.doses_per_day - ra["doses_per_day"]) < 1e-6
          and d.route in (None, ra["route"]))
    return leaf(cid, Outcome.MET if ok else Outcome.NOT_MET, label + ".", dose_evidence(case))


def _quantity_beyond_dose(case: CaseFacts, policy: Policy) -> ClauseResult | None:
    """The requested quantity is part of the "requested quantity (dose)": more syringes than the dose needs
    (a new syringe for each dose) exceeds what the labeled dose supports."""
    d = case.order.dose
    if d.syringes_per_28_days is None or d.mg_per_dose is None or d.doses_per_day is None:
        return None
    per_dose = max(1, -(-d.mg_per_dose // policy.limit("syringe_mg")))
    needed = per_dose * d.doses_per_day * policy.limit("quantity_period_days")
    if d.syringes_per_28_days > needed + 1e-9:
        return leaf("fda-max", Outcome.NOT_MET,
                    f"{fmt(d.syringes_per_28_days)} syringes per 28 days is more than the {fmt(needed)} the ordered dose needs.",
                    dose_evidence(case))
    return None


def _fda_max(case: CaseFacts, policy: Policy, indication: str) -> ClauseResult:
    """Within the FDA maximum for the indication (RA: 100 mg/day; NOMID/DIRA: 8 mg/kg/day), quantity included."""
    excess = _quantity_beyond_dose(case, policy)
    if excess is not None:
        return excess
    if policy.indications[indication].get("weight_based"):
        return weight_based(case, policy, indication)
    d = case.order.dose
    if d.mg_per_day is None:
        return leaf("fda-max", Outcome.UNKNOWN, "Daily dose not stated.",
                    missing=[Missing("The daily dose on the order", Need.INFO, "OTH")])
    return leaf("fda-max", Outcome.MET if d.mg_per_day <= policy.limit("max_mg_per_day") else Outcome.NOT_MET,
                f"{fmt(d.mg_per_day, 'mg/day')} against the FDA maximum of {policy.limit('max_mg_per_day')} mg/day.",
                dose_evidence(case))


def dose_route(case: CaseFacts, policy: Policy, indication: str | None, prefix: str = "initiation.5") -> ClauseResult:
    """initiation.5 (or continuation.6): ANY of a to d."""
    a = quantity_limit(case, policy, f"{prefix}.a")
    ind = policy.indications.get(indication or "", {})
    higher_strength = (f"no higher strength exists (only the {fmt(policy.limit('syringe_mg'))} mg/"
                       f"{fmt(policy.limit('syringe_ml'))} mL single-use syringe), so fewer units cannot give the dose")
    evidence_doc = Missing("Submitted clinical trials, phase III studies or guidelines supporting the higher dose or "
                           "shorter interval", Need.CLINICAL_DOC)
    # b: FDA-labeled indication
    if indication is None:
        b = leaf(f"{prefix}.b", Outcome.UNKNOWN, "The indication is not established.",
                 missing=[Missing("The diagnosis for this order", Need.CLINICAL_DOC)])
    elif not ind.get("fda_labeled"):
        b = leaf(f"{prefix}.b", Outcome.NOT_MET, f"{ind.get('label', indication)} is not an FDA-labeled indication.")
    else:
        fda = _fda_max(case, policy, indication)
        if fda.outcome is Outcome.MET:
            b = leaf(f"{prefix}.b", Outcome.MET, f"Within the FDA-labeled maximum for {ind['label']}; {higher_strength}.",
                     fda.evidence)
        elif fda.outcome is Outcome.UNKNOWN:
            b = leaf(f"{prefix}.b", Outcome.UNKNOWN, fda.note, fda.evidence, fda.missing)
        else:
            b = leaf(f"{prefix}.b", Outcome.UNKNOWN,
                     "Above the FDA-labeled maximum: needs records of a 3-month trial of the maximum labeled dose with "
                     "inadequate response, and a dose within the compendia maximum or submitted evidence.",
                     fda.evidence,
                     [Missing("Medical records of a 3-month trial of the maximum FDA-labeled dose with inadequate "
                              "response", Need.CLINICAL_DOC), evidence_doc])
    # c: compendia-supported indication
    if indication is None:
        c = leaf(f"{prefix}.c", Outcome.UNKNOWN, "The indication is not established.")
    elif not ind.get("compendia"):
        c = leaf(f"{prefix}.c", Outcome.NOT_MET, f"{ind.get('label', indication)} is not a compendia-only indication.")
    else:
        c = leaf(f"{prefix}.c", Outcome.UNKNOWN,
                 "The compendia maximum dose for this indication must be confirmed (AHFS, DrugDex 1/2a, NCCN 1/2a), "
                 "or evidence submitted for a higher dose.",
                 missing=[Missing("The compendia-supported dose for the indication (AHFS, DrugDex 1/2a, NCCN 1/2a), or "
                                  "submitted evidence for a higher dose", Need.CLINICAL_DOC)])
    # d: neither
    if indication is not None and (ind.get("fda_labeled") or ind.get("compendia") or ind.get("eua")):
        d = leaf(f"{prefix}.d", Outcome.NOT_MET, "The indication is FDA-labeled or compendia-supported (5.b/5.c apply).")
    else:
        d = leaf(f"{prefix}.d", Outcome.UNKNOWN, f"Needs submitted evidence for the dose; {higher_strength}.",
                 missing=[evidence_doc])
    if a.outcome is Outcome.MET:
        # 5.a met: the other routes are not needed; show them as not applicable to keep the trace short.
        na = (f"Not needed: the dose is within {policy.limit('max_mg_per_day')} mg once daily and the quantity limit "
              f"({prefix}.a).")
        b, c, d = (leaf(x.clause_id, Outcome.NOT_APPLICABLE, na) for x in (b, c, d))
    return any_of(prefix, (a, b, c, d), "ANY of a to d.")
