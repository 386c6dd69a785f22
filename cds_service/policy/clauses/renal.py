"""dosage.renal (advice): CrCl below 30 mL/min -> consider the prescribed dose every other day.

Advisory only: the result never changes the determination (it lives in the `advisories` group).
NOT_MET means "the order is daily and CrCl is below the threshold": the renal card suggests every other day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from ...facts.model import CaseFacts, LabValue
from ..data_loader import Policy
from ..logic import leaf
from ..model import ClauseResult, Evidence, Outcome
from .common import fmt, lab_evidence, weight_evidence

CLAUSE = "dosage.renal"


@dataclass(frozen=True)
class Clearance:
    ml_min: float | None                 # None: cannot be computed (sex unknown and the two answers differ)
    method: str                          # "measured" | "Cockcroft-Gault"
    evidence: tuple[Evidence, ...]
    below: bool | None                   # below the threshold (decided even when sex is unknown, if both agree)


def cockcroft_gault(creatinine_mg_dl: float, age: int, weight_kg: float, female: bool, constants: dict) -> float:
    """(age_constant - age) x weight / (creatinine_factor x creatinine), x female_factor for women."""
    value = (constants["age_constant"] - age) * weight_kg / (constants["creatinine_factor"] * creatinine_mg_dl)
    return value * constants["female_factor"] if female else value


def _recent(labs: tuple[LabValue, ...], case: CaseFacts, max_days: int) -> LabValue | None:
    since = case.patient.as_of - timedelta(days=max_days)
    for lab in labs:                      # newest first
        if lab.value is not None and lab.observed_on is not None and lab.observed_on >= since:
            return lab
    return None


def clearance(case: CaseFacts, policy: Policy) -> tuple[Clearance | None, list[Evidence], str]:
    """The creatinine clearance, measured or estimated, with the evidence; else (None, evidence, why)."""
    threshold = policy.limit("renal_crcl_threshold_ml_min")
    max_days = policy.limit("renal_lab_max_age_days")
    cg = policy.section("renal")["cockcroft_gault"]
    p = case.patient
    context: list[Evidence] = []
    egfr = _recent(p.labs_of("egfr"), case, max_days)
    if egfr is not None:
        context.append(lab_evidence(egfr, "eGFR (shown for context; eGFR is not creatinine clearance)"))
    measured = _recent(p.labs_of("crcl"), case, max_days)
    if measured is not None:
        ev = (lab_evidence(measured, "measured creatinine clearance"), *context)
        return Clearance(measured.value, "measured", ev, measured.value < threshold), list(ev), ""
    creat = _recent(p.labs_of("creatinine"), case, max_days)
    age = p.age_years
    if creat is None:
        return None, context, f"no creatinine clearance or serum creatinine within {max_days} days"
    ev = [lab_evidence(creat, "serum creatinine")]
    if age is None:
        return None, ev + context, "the date of birth is unknown"
    if age < cg["min_age_years"]:
        return None, ev + context, (f"Cockcroft-Gault is not used below age {cg['min_age_years']} and no measured "
                                    "creatinine clearance is on file")
    if p.weight is None:
        return None, ev + context, "no body weight on file for Cockcroft-Gault"
    if creat.value is None or creat.value <= 0:
        return None, ev + context, "the serum creatinine is not a usable number"
    w = p.weight
    ev.append(weight_evidence(w))
    ev.append(Evidence(f"age {age}, sex {p.sex or 'unknown'}", p.reference, str(age)))
    values = {female: cockcroft_gault(creat.value, age, w.kg, female, cg) for female in (False, True)}
    if p.sex in ("female", "male"):
        value = values[p.sex == "female"]
        formula = (f"Cockcroft-Gault: ({cg['age_constant']} - {age}) x {fmt(w.kg)} / ({cg['creatinine_factor']} x "
                   f"{fmt(creat.value)})" + (f" x {cg['female_factor']}" if p.sex == "female" else "")
                   + f" = {fmt(value, 'mL/min')}")
        ev.insert(0, Evidence(formula, None, fmt(value, "mL/min")))
        return Clearance(round(value, 1), "Cockcroft-Gault", tuple(ev + context), value < threshold), ev + context, ""
    low, high = sorted(values.values())
    ev.insert(0, Evidence(f"Cockcroft-Gault with sex unknown: {fmt(low, 'mL/min')} (female) to {fmt(high, 'mL/min')} "
                          "(male)", None))
    if (high < threshold) or (low >= threshold):
        return Clearance(None, "Cockcroft-Gault", tuple(ev + context), high < threshold), ev + context, ""
    return None, ev + context, "sex is unknown and the estimate straddles the threshold"


def evaluate(case: CaseFacts, policy: Policy) -> ClauseResult:
    threshold = policy.limit("renal_crcl_threshold_ml_min")
    every_other = policy.section("renal")["every_other_day_doses_per_day"]
    crcl, ev, why = clearance(case, policy)
    if crcl is None:
        return leaf(CLAUSE, Outcome.UNKNOWN, f"Creatinine clearance not known: {why}.", ev)
    shown = fmt(crcl.ml_min, "mL/min") if crcl.ml_min is not None else "estimate"
    if not crcl.below:
        return leaf(CLAUSE, Outcome.MET, f"Creatinine clearance ({crcl.method}) {shown} is not below {threshold} "
                                         "mL/min: no renal adjustment.", crcl.evidence)
    d = case.order.dose
    if d.doses_per_day is not None and d.doses_per_day <= every_other + 1e-9:
        return leaf(CLAUSE, Outcome.MET, f"Creatinine clearance ({crcl.method}) {shown} is below {threshold} mL/min "
                                         "and the order is already every other day.", crcl.evidence)
    return leaf(CLAUSE, Outcome.NOT_MET,
                f"Creatinine clearance ({crcl.method}) {shown} is below {threshold} mL/min (severe renal insufficiency "
                "or end-stage renal disease): consider giving the prescribed dose every other day.", crcl.evidence)
