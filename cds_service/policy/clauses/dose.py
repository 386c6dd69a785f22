"""Dose clauses: initiation.5 (a to d) / continuation.6, dosage.nomid-dira, dosage.ra, and the safe dose a
suggestion may propose."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from ...facts.model import CaseFacts, Diagnosis
from ..data_loader import Policy
from ..logic import any_of, leaf
from ..model import ClauseResult, Evidence, Missing, Need, Outcome
from .common import diagnosis_evidence, fmt, weight_evidence
from .renal import clearance


def dose_evidence(case: CaseFacts) -> list[Evidence]:
    d = case.order.dose
    ref = case.order.reference
    lines = f" ({d.lines} dosage lines)" if d.lines > 1 else ""
    ev = [
        Evidence(
            f"dose {fmt(d.mg_per_dose, 'mg')} x {fmt(d.doses_per_day)} per day{lines}: at most "
            f"{fmt(d.mg_per_day, 'mg')} on one day",
            ref,
            fmt(d.mg_per_day, "mg/day"),
        ),
        Evidence(
            f"{fmt(d.syringes_per_28_days)} syringes per 28 days", ref, fmt(d.syringes_per_28_days, "syringes/28 d")
        ),
    ]
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
        over.append(
            f"{fmt(d.syringes_per_28_days)} syringes per {lim['quantity_period_days']} days exceeds the "
            f"quantity limit of {lim['max_syringes_per_28_days']} syringes "
            f"({lim['quantity_limit_ml_per_28_days']} mL)"
        )
    if over:
        return leaf(clause_id, Outcome.NOT_MET, "; ".join(over) + ".", ev)
    if unknown:
        return leaf(
            clause_id,
            Outcome.UNKNOWN,
            "The order does not state " + " and ".join(unknown) + ".",
            ev,
            [Missing(u[0].upper() + u[1:] + " on the order", Need.INFO, "OTH") for u in unknown],
        )
    return leaf(
        clause_id,
        Outcome.MET,
        f"At most {lim['max_mg_per_day']} mg once daily and at most "
        f"{lim['max_syringes_per_28_days']} syringes per {lim['quantity_period_days']} "
        "days.",
        ev,
    )


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
    """mg/kg given on one day ("to a maximum of 8 mg/kg daily"): every other day, the day's dose counts whole."""
    d = case.order.dose
    w = case.patient.weight
    if d.per_kg_per_day is not None:
        return d.per_kg_per_day
    if d.per_kg is not None and d.doses_per_day is not None:
        return d.per_kg * max(1, math.ceil(d.doses_per_day - 1e-9))
    if d.mg_per_day is not None and w is not None and w.kg > 0:
        return d.mg_per_day / w.kg
    return None


def weight_based_indication(
    case: CaseFacts, policy: Policy, indication: str | None
) -> tuple[str | None, tuple[Diagnosis, ...]]:
    """The weight-based indication (NOMID, DIRA) whose maximum applies, and the diagnoses that support it.

    The order's indication when it is one; otherwise any order reason or active diagnosis that names NOMID or
    DIRA, or whose code may be one of them (M04.2 alone may be NOMID, M04.8 alone DIRA: `Diagnosis.possible`).
    Reading `most_specific_indication`: whenever the chart supports NOMID or DIRA at all, 8 mg/kg daily is
    checked, so a chart that also says CAPS (or an autoinflammatory syndrome) cannot skip the check."""
    weighted = [k for k in policy.data["indication_priority"] if policy.indications.get(k, {}).get("weight_based")]
    if indication in weighted:
        return indication, ()
    diags = tuple(
        d
        for d in (*case.order.reasons, *case.patient.diagnoses)
        if d.active and (d.indications | d.possible) & set(weighted)
    )
    for key in weighted:
        if any(key in (d.indications | d.possible) for d in diags):
            return key, tuple(d for d in diags if key in (d.indications | d.possible))
    return None, ()


def weight_based(case: CaseFacts, policy: Policy, indication: str | None) -> ClauseResult:
    """dosage.nomid-dira: "The dose can be individually adjusted to a maximum of 8 mg/kg daily", against a
    current body weight, whenever the chart supports NOMID or DIRA (`weight_based_indication`)."""
    cid = "dosage.nomid-dira"
    key, support = weight_based_indication(case, policy, indication)
    if key is None:
        return leaf(cid, Outcome.NOT_APPLICABLE, "Not NOMID or DIRA.")
    max_kg = policy.limit("nomid_dira_max_mg_per_kg_day")
    current, why = weight_is_current(case, policy)
    ev = dose_evidence(case)
    why_applies = ""
    if support:
        ev = [diagnosis_evidence(d) for d in support] + ev
        label = policy.indication(key)["label"]
        why_applies = (
            f"The chart supports {label} ({', '.join(sorted({d.code.code or 'text' for d in support}))}), "
            "so its weight-based maximum is checked. "
        )
    w = case.patient.weight
    if w is not None:
        ev.append(weight_evidence(w))
    if not current:
        return leaf(
            cid,
            Outcome.UNKNOWN,
            f"{why_applies}Weight-based dosing cannot be checked: {why}.",
            ev,
            [
                Missing(
                    f"A current body weight (kg or lb) to check the dose against {max_kg} mg/kg/day", Need.INFO, "OTH"
                )
            ],
        )
    per_kg = mg_per_kg_day(case)
    if per_kg is None:
        return leaf(
            cid,
            Outcome.UNKNOWN,
            f"{why_applies}The daily dose is not stated on the order.",
            ev,
            [Missing("The daily dose on the order", Need.INFO, "OTH")],
        )
    ev.append(
        Evidence(
            f"{fmt(per_kg, 'mg/kg/day')} against the labeled maximum of {max_kg} mg/kg/day",
            case.order.reference,
            fmt(per_kg, "mg/kg/day"),
        )
    )
    if per_kg > max_kg + 1e-9:
        return leaf(
            cid,
            Outcome.NOT_MET,
            f"{why_applies}{fmt(per_kg, 'mg/kg/day')} exceeds the maximum of {max_kg} mg/kg daily.",
            ev,
        )
    return leaf(cid, Outcome.MET, f"{why_applies}{fmt(per_kg, 'mg/kg/day')} is within {max_kg} mg/kg daily.", ev)


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
        return leaf(
            cid, Outcome.MET, f"{label}; every other day is the renal adjustment (dosage.renal).", dose_evidence(case)
        )
    ok = (
        abs(d.mg_per_dose - ra["mg_per_day"]) < 1e-6
        and abs(d.doses_per_day - ra["doses_per_day"]) < 1e-6
        and d.route in (None, ra["route"])
    )
    return leaf(cid, Outcome.MET if ok else Outcome.NOT_MET, label + ".", dose_evidence(case))


def _quantity_beyond_dose(case: CaseFacts, policy: Policy) -> ClauseResult | None:
    """The requested quantity is part of the "requested quantity (dose)": more syringes than the dose needs
    (a new syringe for each dose) exceeds what the labeled dose supports."""
    d = case.order.dose
    if d.syringes_per_28_days is None or d.mg_per_dose is None or d.doses_per_day is None:
        return None
    per_dose = max(1, -(-d.mg_per_dose // policy.limit("syringe_mg")))
    needed = per_dose * d.doses_per_day * policy.limit("quantity_period_days")
    if d.syringes_needed_per_28_days is not None:  # every line's own doses (a new syringe for each)
        needed = d.syringes_needed_per_28_days
    if d.syringes_per_28_days > needed + 1e-9:
        return leaf(
            "fda-max",
            Outcome.NOT_MET,
            f"{fmt(d.syringes_per_28_days)} syringes per 28 days is more than the {fmt(needed)} "
            "the ordered dose needs.",
            dose_evidence(case),
        )
    return None


def _fda_max(case: CaseFacts, policy: Policy, indication: str) -> ClauseResult:
    """5.b.i "does NOT exceed the maximum FDA labeled dose for the requested indication", each indication by its
    own labeled maximum (RA: "100 mg/day"; NOMID and DIRA: "a maximum of 8 mg/kg daily"), quantity included."""
    excess = _quantity_beyond_dose(case, policy)
    if excess is not None:
        return excess
    if policy.indications[indication].get("weight_based"):
        return weight_based(case, policy, indication)
    d = case.order.dose
    if d.mg_per_day is None:
        return leaf(
            "fda-max",
            Outcome.UNKNOWN,
            "Daily dose not stated.",
            missing=[Missing("The daily dose on the order", Need.INFO, "OTH")],
        )
    return leaf(
        "fda-max",
        Outcome.MET if d.mg_per_day <= policy.limit("max_mg_per_day") else Outcome.NOT_MET,
        f"{fmt(d.mg_per_day, 'mg/day')} against the FDA maximum of {policy.limit('max_mg_per_day')} mg/day.",
        dose_evidence(case),
    )


# The routes a to d of each dosage criterion, by the criterion's clause id.
DOSE_ROUTE_CLAUSES = {
    "initiation.5": ("initiation.5.a", "initiation.5.b", "initiation.5.c", "initiation.5.d"),
    "continuation.6": ("continuation.6.a", "continuation.6.b", "continuation.6.c", "continuation.6.d"),
}


def dose_route(case: CaseFacts, policy: Policy, indication: str | None, prefix: str = "initiation.5") -> ClauseResult:
    """initiation.5 (or continuation.6, the clause id `prefix`): ANY of a to d."""
    a_id, b_id, c_id, d_id = DOSE_ROUTE_CLAUSES[prefix]
    a = quantity_limit(case, policy, a_id)
    ind = policy.indications.get(indication or "", {})
    higher_strength = (
        f"no higher strength exists (only the {fmt(policy.limit('syringe_mg'))} mg/"
        f"{fmt(policy.limit('syringe_ml'))} mL single-use syringe), so fewer units cannot give the dose"
    )
    evidence_doc = Missing(
        "Submitted clinical trials, phase III studies or guidelines supporting the higher dose or shorter interval",
        Need.CLINICAL_DOC,
    )
    # b: FDA-labeled indication
    if indication is None:
        b = leaf(
            b_id,
            Outcome.UNKNOWN,
            "The indication is not established.",
            missing=[Missing("The diagnosis for this order", Need.CLINICAL_DOC)],
        )
    elif not ind.get("fda_labeled"):
        b = leaf(b_id, Outcome.NOT_MET, f"{ind.get('label', indication)} is not an FDA-labeled indication.")
    else:
        fda = _fda_max(case, policy, indication)
        if fda.outcome is Outcome.MET:
            b = leaf(
                b_id,
                Outcome.MET,
                f"Within the FDA-labeled maximum for {ind['label']}; {higher_strength}.",
                fda.evidence,
            )
        elif fda.outcome is Outcome.UNKNOWN:
            b = leaf(b_id, Outcome.UNKNOWN, fda.note, fda.evidence, fda.missing)
        else:
            b = leaf(
                b_id,
                Outcome.UNKNOWN,
                "Above the FDA-labeled maximum: needs records of a 3-month trial of the maximum labeled dose with "
                "inadequate response, and a dose within the compendia maximum or submitted evidence.",
                fda.evidence,
                [
                    Missing(
                        "Medical records of a 3-month trial of the maximum FDA-labeled dose with inadequate response",
                        Need.CLINICAL_DOC,
                    ),
                    evidence_doc,
                ],
            )
    # c: compendia-supported indication
    if indication is None:
        c = leaf(c_id, Outcome.UNKNOWN, "The indication is not established.")
    elif not ind.get("compendia"):
        c = leaf(c_id, Outcome.NOT_MET, f"{ind.get('label', indication)} is not a compendia-only indication.")
    else:
        c = leaf(
            c_id,
            Outcome.UNKNOWN,
            "The compendia maximum dose for this indication must be confirmed (AHFS, DrugDex 1/2a, NCCN 1/2a), "
            "or evidence submitted for a higher dose.",
            missing=[
                Missing(
                    "The compendia-supported dose for the indication (AHFS, DrugDex 1/2a, NCCN 1/2a), or "
                    "submitted evidence for a higher dose",
                    Need.CLINICAL_DOC,
                )
            ],
        )
    # d: neither
    if indication is not None and (ind.get("fda_labeled") or ind.get("compendia") or ind.get("eua")):
        d = leaf(d_id, Outcome.NOT_MET, "The indication is FDA-labeled or compendia-supported (5.b/5.c apply).")
    else:
        d = leaf(
            d_id, Outcome.UNKNOWN, f"Needs submitted evidence for the dose; {higher_strength}.", missing=[evidence_doc]
        )
    if a.outcome is Outcome.MET:
        # 5.a met: the other routes are not needed; show them as not applicable to keep the trace short.
        na = (
            f"Not needed: the dose is within {policy.limit('max_mg_per_day')} mg once daily and the quantity limit "
            f"({a_id})."
        )
        b, c, d = (leaf(x.clause_id, Outcome.NOT_APPLICABLE, na) for x in (b, c, d))
    return any_of(prefix, (a, b, c, d), "ANY of a to d.")


@dataclass(frozen=True)
class SafeDose:
    """A dose a suggestion may propose: within every limit that applies to the member (reading
    `dose_safe_suggestion`)."""

    mg: float  # per administration
    ml: float | None  # the measured volume when less than a whole syringe, else None
    interval_days: int  # 1: once daily; 2: every other day (dosage.renal)
    syringes: int  # per quantity period: a new syringe for each dose
    days: int  # the quantity period (28)
    limits: tuple[str, ...]  # the limits that shaped it, for the card
    timing: str = "once daily"

    def amount(self) -> str:
        return f"{fmt(self.ml)} mL ({fmt(self.mg)} mg)" if self.ml is not None else f"{fmt(self.mg)} mg"

    def label(self) -> str:
        return f"{self.amount()} subcutaneously {self.timing}, {self.syringes} syringes per {self.days} days"

    def to_data(self) -> dict[str, Any]:
        return {
            "mg": self.mg,
            "ml": self.ml,
            "interval_days": self.interval_days,
            "syringes": self.syringes,
            "days": self.days,
            "label": self.label(),
            "limits": list(self.limits),
        }


def safe_dose(case: CaseFacts, policy: Policy, indication: str | None) -> tuple[SafeDose | None, str]:
    """(the dose a suggestion may propose, or None and why not).

    Every limit that applies to the member: "100 mg once daily" with the QL of 28 syringes per 28 days
    (initiation.5.a); for NOMID/DIRA "a maximum of 8 mg/kg daily" by the current weight (dosage.nomid-dira,
    whenever the chart supports NOMID or DIRA); "the prescribed dose every other day" when the creatinine
    clearance is below 30 mL/min (dosage.renal). Never more than the order gives on one day. A partial
    syringe (100 mg/0.67 mL) is rounded DOWN to 0.01 mL, what a syringe's volume can be measured to; a whole
    syringe is 100 mg. Without a current weight where a weight-based limit applies, no dose is proposed."""
    lim = policy.limits
    syringe_mg, syringe_ml = lim["syringe_mg"], lim["syringe_ml"]
    period = lim["quantity_period_days"]
    cap = float(lim["max_mg_per_day"])
    shaped = [
        f"{fmt(cap)} mg once daily and {lim['max_syringes_per_28_days']} syringes per {period} days (initiation.5.a)"
    ]
    key, _ = weight_based_indication(case, policy, indication)
    if key is not None:
        current, why = weight_is_current(case, policy)
        label = policy.indication(key)["label"]
        w = case.patient.weight
        if not current or w is None:  # (a current weight is a weight)
            return None, (
                f"the {label} maximum of {fmt(lim['nomid_dira_max_mg_per_kg_day'])} mg/kg daily needs a "
                f"current body weight ({why})"
            )
        by_weight = lim["nomid_dira_max_mg_per_kg_day"] * w.kg
        shaped.append(
            f"{fmt(lim['nomid_dira_max_mg_per_kg_day'])} mg/kg daily x {fmt(w.kg, 'kg')} = "
            f"{fmt(by_weight, 'mg')} (dosage.nomid-dira)"
        )
        cap = min(cap, by_weight)
    ordered = case.order.dose.mg_per_day
    if ordered is not None and ordered < cap:
        cap = ordered
        shaped.append(f"not more than the {fmt(ordered, 'mg')} the order gives on one day")
    interval, timing = 1, "once daily"
    crcl, _, _ = clearance(case, policy)
    if crcl is not None and crcl.below:
        interval = round(1 / policy.section("renal")["every_other_day_doses_per_day"])
        timing = "every other day"
        shaped.append(
            f"every other day: creatinine clearance below {fmt(lim['renal_crcl_threshold_ml_min'])} "
            "mL/min (dosage.renal)"
        )
    step = lim["measurable_ml"]
    if cap >= syringe_mg - 1e-9:
        mg, ml = float(syringe_mg), None
    else:
        steps = math.floor(cap * syringe_ml / syringe_mg / step + 1e-6)
        while steps > 0 and steps * step * syringe_mg / syringe_ml > cap + 1e-9:  # never above the cap
            steps -= 1
        if steps <= 0:
            return None, f"the highest dose within the limits ({fmt(cap, 'mg')}) is below a measurable {step} mL"
        ml = float(Decimal(str(step)) * steps)  # exact hundredths, no float noise
        mg = ml * syringe_mg / syringe_ml
        shaped.append(
            f"rounded down to {fmt(ml)} mL ({fmt(mg, 'mg')}) of the {fmt(syringe_mg)} mg/"
            f"{fmt(syringe_ml)} mL syringe, measurable to {step} mL"
        )
    syringes = math.ceil(period / interval)
    return SafeDose(mg, ml, interval, syringes, period, tuple(shaped), timing), ""


def dose_suggestion_data(case: CaseFacts, policy: Policy, indication: str | None) -> dict[str, Any]:
    """What a dose card's suggestion rests on (Finding.data): the safe dose, or why none can be proposed."""
    safe, why = safe_dose(case, policy, indication)
    if safe is None:
        return {"suggested_dose": None, "no_suggestion": why}
    return {"suggested_dose": safe.to_data()}
