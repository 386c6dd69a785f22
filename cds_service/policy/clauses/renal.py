"""dosage.renal (advice): CrCl below 30 mL/min -> consider the prescribed dose every other day.

Advisory only: the result never changes the determination (it lives in the `advisories` group).
NOT_MET means "the order is daily and CrCl is below the threshold": the renal card suggests every other day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from ...facts.model import CaseFacts, LabValue
from ..data_loader import Policy
from ..logic import leaf
from ..model import ClauseResult, Evidence, Outcome
from .common import fmt, lab_evidence, weight_evidence

CLAUSE = "dosage.renal"


@dataclass(frozen=True)
class Clearance:
    ml_min: float | None  # None: cannot be computed (sex unknown and the two answers differ)
    method: str  # "measured" | "Cockcroft-Gault"
    evidence: tuple[Evidence, ...]
    below: bool | None  # below the threshold (decided even when sex is unknown, if both agree)


def cockcroft_gault(
    creatinine_mg_dl: float, age: int, weight_kg: float, female: bool, constants: dict[str, float]
) -> float:
    """(age_constant - age) x weight / (creatinine_factor x creatinine), x female_factor for women."""
    value = (constants["age_constant"] - age) * weight_kg / (constants["creatinine_factor"] * creatinine_mg_dl)
    return value * constants["female_factor"] if female else value


def _recent(labs: tuple[LabValue, ...], case: CaseFacts, max_days: int) -> LabValue | None:
    since = case.patient.as_of - timedelta(days=max_days)
    for lab in labs:  # newest first
        if lab.value is not None and lab.observed_on is not None and lab.observed_on >= since:
            return lab
    return None


def _on(lab: LabValue) -> date:
    """The date of a lab that `_recent` returned (it returns dated labs only)."""
    if lab.observed_on is None:
        raise ValueError(f"{lab.source}: a lab without a date where a dated one was read")
    return lab.observed_on


def clearance(case: CaseFacts, policy: Policy) -> tuple[Clearance | None, list[Evidence], str]:
    """The creatinine clearance, measured or estimated, with the evidence; else (None, evidence, why).

    Dosage and administration: "Creatinine clearance below 30 mL/min (severe renal insufficiency or end-stage
    renal disease): consider the prescribed dose every other day". The newest renal evidence decides: a
    measured creatinine clearance when it is at least as recent as the newest serum creatinine (a direct
    measurement beats an estimate of the same day), else Cockcroft-Gault from that newer creatinine with the
    latest weight, the age and the sex. A newer creatinine supersedes an older measured clearance even when
    no estimate can be computed from it: the clearance is then unknown (the old measurement no longer
    describes the kidneys), and the evidence says which record was used, which was set aside and why."""
    threshold = policy.limit("renal_crcl_threshold_ml_min")
    max_days = policy.limit("renal_lab_max_age_days")
    p = case.patient
    context: list[Evidence] = []
    egfr = _recent(p.labs_of("egfr"), case, max_days)
    if egfr is not None:
        context.append(lab_evidence(egfr, "eGFR (shown for context; eGFR is not creatinine clearance)"))
    measured = _recent(p.labs_of("crcl"), case, max_days)
    creat = _recent(p.labs_of("creatinine"), case, max_days)
    if measured is not None and (creat is None or _on(measured) >= _on(creat)):
        ev = [lab_evidence(measured, "measured creatinine clearance")]
        if creat is not None:
            ev.append(
                lab_evidence(
                    creat,
                    f"serum creatinine (not used: the measured creatinine clearance of "
                    f"{_on(measured).isoformat()} is as recent or newer)",
                )
            )
        ev += context
        return Clearance(measured.value, "measured", tuple(ev), measured.value < threshold), ev, ""
    if creat is None:
        return None, context, f"no creatinine clearance or serum creatinine within {max_days} days"
    superseded: list[Evidence] = []
    if measured is not None:
        superseded.append(
            lab_evidence(
                measured,
                f"measured creatinine clearance (not used: older than the serum creatinine of "
                f"{_on(creat).isoformat()}; the newest evidence is used)",
            )
        )
    crcl, ev, why = _estimate(case, policy, creat, threshold)
    ev = ev + superseded + context
    if (
        crcl is None
        and measured is None
        and p.age_years is not None
        and p.age_years < policy.section("renal")["cockcroft_gault"]["min_age_years"]
    ):
        why += " and no measured creatinine clearance is on file"
    if crcl is None and measured is not None:
        why = (
            f"the serum creatinine of {_on(creat).isoformat()} is newer than the measured creatinine "
            f"clearance of {_on(measured).isoformat()} ({fmt(measured.value, 'mL/min')}), which no longer "
            f"describes the kidneys, and no estimate can be made from it: {why}"
        )
    if crcl is not None:
        crcl = Clearance(crcl.ml_min, crcl.method, tuple(ev), crcl.below)
    return crcl, ev, why


def _estimate(
    case: CaseFacts, policy: Policy, creat: LabValue, threshold: float
) -> tuple[Clearance | None, list[Evidence], str]:
    """Cockcroft-Gault from `creat` with the latest weight, the age and the sex."""
    cg = policy.section("renal")["cockcroft_gault"]
    p = case.patient
    age = p.age_years
    ev = [lab_evidence(creat, "serum creatinine")]
    if age is None:
        return None, ev, "the date of birth is unknown"
    if age < cg["min_age_years"]:
        return None, ev, f"Cockcroft-Gault is not used below age {cg['min_age_years']}"
    if p.weight is None:
        return None, ev, "no body weight on file for Cockcroft-Gault"
    if creat.value is None or creat.value <= 0:
        return None, ev, "the serum creatinine is not a usable number"
    w = p.weight
    ev.append(weight_evidence(w))
    ev.append(Evidence(f"age {age}, sex {p.sex or 'unknown'}", p.reference, str(age)))
    values = {female: cockcroft_gault(creat.value, age, w.kg, female, cg) for female in (False, True)}
    if p.sex in ("female", "male"):
        value = values[p.sex == "female"]
        formula = (
            f"Cockcroft-Gault: ({cg['age_constant']} - {age}) x {fmt(w.kg)} / ({cg['creatinine_factor']} x "
            f"{fmt(creat.value)})"
            + (f" x {cg['female_factor']}" if p.sex == "female" else "")
            + f" = {fmt(value, 'mL/min')}"
        )
        ev.insert(0, Evidence(formula, None, fmt(value, "mL/min")))
        return Clearance(round(value, 1), "Cockcroft-Gault", tuple(ev), value < threshold), ev, ""
    low, high = sorted(values.values())
    ev.insert(
        0,
        Evidence(
            f"Cockcroft-Gault with sex unknown: {fmt(low, 'mL/min')} (female) to {fmt(high, 'mL/min')} (male)", None
        ),
    )
    if (high < threshold) or (low >= threshold):
        return Clearance(None, "Cockcroft-Gault", tuple(ev), high < threshold), ev, ""
    return None, ev, "sex is unknown and the estimate straddles the threshold"


def evaluate(case: CaseFacts, policy: Policy) -> ClauseResult:
    threshold = policy.limit("renal_crcl_threshold_ml_min")
    every_other = policy.section("renal")["every_other_day_doses_per_day"]
    crcl, ev, why = clearance(case, policy)
    if crcl is None:
        return leaf(CLAUSE, Outcome.UNKNOWN, f"Creatinine clearance not known: {why}.", ev)
    shown = fmt(crcl.ml_min, "mL/min") if crcl.ml_min is not None else "estimate"
    if not crcl.below:
        return leaf(
            CLAUSE,
            Outcome.MET,
            f"Creatinine clearance ({crcl.method}) {shown} is not below {threshold} mL/min: no renal adjustment.",
            crcl.evidence,
        )
    d = case.order.dose
    if d.doses_per_day is not None and d.doses_per_day <= every_other + 1e-9:
        return leaf(
            CLAUSE,
            Outcome.MET,
            f"Creatinine clearance ({crcl.method}) {shown} is below {threshold} mL/min "
            "and the order is already every other day.",
            crcl.evidence,
        )
    return leaf(
        CLAUSE,
        Outcome.NOT_MET,
        f"Creatinine clearance ({crcl.method}) {shown} is below {threshold} mL/min (severe renal insufficiency "
        "or end-stage renal disease): consider giving the prescribed dose every other day.",
        crcl.evidence,
    )
