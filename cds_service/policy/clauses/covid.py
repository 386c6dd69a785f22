"""table1.covid-19: COVID-19 treatment under the FDA emergency use authorization, ALL of 1 to 6."""

from __future__ import annotations

from datetime import timedelta

from ...facts.model import CaseFacts
from ..data_loader import Policy
from ..logic import all_of, leaf
from ..model import ClauseResult, Evidence, Missing, Need, Outcome
from .common import diagnosis_evidence, fmt, lab_evidence, span_evidence, statement_evidence
from .dose import dose_evidence
from .hospital import hospitalised


def positive_test(case: CaseFacts, policy: Policy) -> ClauseResult:
    cid = "table1.covid-19.2"
    max_days = policy.limit("covid_test_max_age_days")
    since = case.patient.as_of - timedelta(days=max_days)
    tests = case.patient.labs_of(policy.section("covid_19")["test_lab"])
    recent = [t for t in tests if t.observed_on is not None and t.observed_on >= since]
    ev = [lab_evidence(t, "SARS-CoV-2 direct viral test") for t in tests[:5]]
    if any(t.positive for t in recent):
        return leaf(cid, Outcome.MET, f"Positive direct SARS-CoV-2 viral test within {max_days} days.", ev)
    if recent and all(t.positive is False for t in recent):
        return leaf(cid, Outcome.NOT_MET, f"The direct SARS-CoV-2 viral tests of the past {max_days} days are "
                                          "negative.", ev)
    note = (f"No positive direct SARS-CoV-2 viral test within {max_days} days of the order."
            if tests else "No direct SARS-CoV-2 viral test (LOINC) in the chart.")
    return leaf(cid, Outcome.UNKNOWN, note, ev,
                [Missing(f"A positive direct SARS-CoV-2 viral test result (within {max_days} days)", Need.CLINICAL_DOC)])


_HEDGES = {"negated": "denies or excludes it", "uncertain": "states it only as a possibility",
           "historical": "states it as past history", "family": "states it of a relative"}


def hedged_evidence(d, kind: str, what: str) -> Evidence | None:
    """Evidence for a record whose text names `kind` without affirming it ("Pneumonia, no supplemental oxygen
    requirement"): shown so that the card says what the chart says instead, never counted."""
    state = d.hedged(kind)
    if state is None:
        return None
    base = diagnosis_evidence(d)
    return Evidence(f"{base.description}: the text {_HEDGES.get(state, state)} ({what}, not counted)", base.reference,
                    base.value, base.date)


def _oxygen_lab_counts(lab, room_air_percent: float) -> bool:
    """An inhaled-oxygen result shows supplemental oxygen only when it is above room air: a flow above 0 (L/min),
    a concentration above room air (21 %)."""
    if lab.value is None:
        return False
    if "%" in (lab.unit or ""):
        return lab.value > room_air_percent
    return lab.value > 0


def pneumonia_on_oxygen(case: CaseFacts, policy: Policy) -> ClauseResult:
    """table1.covid-19.3: "pneumonia requiring supplemental oxygen (low- or high-flow oxygen)".

    Coded data first (a pneumonia code, an oxygen procedure, an inhaled-oxygen flow or concentration above room
    air, an active oxygen medication); problem-list and reason text only as an explicit, unnegated statement
    ("Pneumonia, no supplemental oxygen requirement (SpO2 95% on room air)" states no oxygen; "? pneumonia" no
    pneumonia). Text that names them without affirming them leaves the clause unknown, never met."""
    cid = "table1.covid-19.3"
    cfg = policy.section("covid_19")
    recent_days = policy.limit("covid_oxygen_recent_days")
    as_of = case.patient.as_of
    since = as_of - timedelta(days=recent_days)
    room_air = cfg["oxygen_room_air_percent"]
    diags = (*case.order.reasons, *case.patient.diagnoses)
    pneumonia = [d for d in diags if cfg["pneumonia_kind"] in d.kinds and d.active]
    oxygen_ev: list[Evidence] = []
    not_counted: list[Evidence] = []
    denials = 0          # room-air results and texts stating no oxygen, within the window
    for p in case.patient.procedures:
        if cfg["oxygen_kind"] in p.kinds and (p.active or (p.performed is not None and p.performed >= since)):
            oxygen_ev.append(Evidence(f"procedure: {p.label}" + (" (in progress)" if p.active else ""), p.source,
                                      None, p.performed.isoformat() if p.performed else None))
    for lab in case.patient.labs_of(cfg["oxygen_lab"]):
        if lab.observed_on is not None and lab.observed_on >= since:
            if _oxygen_lab_counts(lab, room_air):
                oxygen_ev.append(lab_evidence(lab, "inhaled oxygen"))
            else:
                e = lab_evidence(lab, "inhaled oxygen")
                not_counted.append(Evidence(e.description + " (room air: not supplemental oxygen)", e.reference,
                                            e.value, e.date))
                denials += 1
    for s in case.patient.medications:
        if cfg["oxygen_drug_class"] in s.classes and s.active:
            oxygen_ev.append(span_evidence(s))
    coded_oxygen = len(oxygen_ev)
    for d in diags:
        if cfg["oxygen_kind"] in d.kinds and d.active:
            oxygen_ev.append(diagnosis_evidence(d))
    for d in diags:
        if not d.active:
            continue
        for kind, what in ((cfg["pneumonia_kind"], "pneumonia"), (cfg["oxygen_kind"], "supplemental oxygen")):
            if kind not in d.kinds:
                e = hedged_evidence(d, kind, what)
                if e is not None:
                    not_counted.append(e)
                    denials += kind == cfg["oxygen_kind"] and d.hedged(kind) == "negated"
    ev = [diagnosis_evidence(d) for d in pneumonia] + oxygen_ev + not_counted
    if pneumonia and oxygen_ev and not coded_oxygen and denials:
        # Only text says oxygen ("COVID-19 pneumonia requiring supplemental oxygen" as the order's reason) while
        # the chart also says room air or no oxygen: the records conflict, neither side is taken.
        return leaf(cid, Outcome.UNKNOWN, "The chart conflicts: text states supplemental oxygen, while a room-air "
                    "result or another record states no oxygen.", ev,
                    [Missing("Chart notes showing pneumonia requiring supplemental oxygen (low- or high-flow) now",
                             Need.CLINICAL_DOC)])
    if pneumonia and oxygen_ev:
        return leaf(cid, Outcome.MET, "Pneumonia with supplemental oxygen.", ev)
    lacking = " and ".join(x for x, have in (("pneumonia", pneumonia), ("supplemental oxygen", oxygen_ev)) if not have)
    note = f"The chart does not show {lacking}."
    if not_counted:
        note += (" Text that mentions it without stating it (negated, possible or past) is not evidence: "
                 "an explicit statement or coded data is needed.")
    return leaf(cid, Outcome.UNKNOWN, note, ev,
                [Missing("Chart notes showing pneumonia requiring supplemental oxygen (low- or high-flow)",
                         Need.CLINICAL_DOC)])


def respiratory_failure_risk(case: CaseFacts, policy: Policy) -> ClauseResult:
    cid = "table1.covid-19.4"
    stated = case.order.prescriber_statement.get("respiratory_failure_risk")
    if stated is not None:
        return leaf(cid, Outcome.MET, "The prescriber states the risk of progressing to severe respiratory failure.",
                    [statement_evidence(stated)])
    return leaf(cid, Outcome.UNKNOWN, "The risk of progressing to severe respiratory failure is not documented.", (),
                [Missing("Chart notes documenting that the member is at risk of progressing to severe respiratory "
                         "failure", Need.CLINICAL_DOC)])


def elevated_supar(case: CaseFacts, policy: Policy) -> ClauseResult:
    cid = "table1.covid-19.5"
    cfg = policy.section("covid_19")
    threshold = policy.limit("supar_elevated_ng_ml")
    labs = case.patient.labs_of(cfg["supar_lab"])
    if labs:
        lab = labs[0]
        ev = [lab_evidence(lab, "suPAR")]
        if lab.value is None or (lab.unit or "") not in cfg["supar_units"]:
            return leaf(cid, Outcome.UNKNOWN, "A suPAR result is recorded in a unit that cannot be compared.", ev,
                        [Missing(f"The plasma suPAR result in ng/mL (elevated: {threshold} ng/mL or more)",
                                 Need.CLINICAL_DOC)])
        if lab.value >= threshold:
            return leaf(cid, Outcome.MET, f"suPAR {fmt(lab.value)} ng/mL is at least {threshold} ng/mL.", ev)
        return leaf(cid, Outcome.NOT_MET, f"suPAR {fmt(lab.value)} ng/mL is below {threshold} ng/mL.", ev)
    stated = case.order.prescriber_statement.get("elevated_supar")
    if stated is not None:
        return leaf(cid, Outcome.MET, "The prescriber states a likely elevated suPAR.", [statement_evidence(stated)])
    return leaf(cid, Outcome.UNKNOWN, "No suPAR result (it has no LOINC code) and no statement of a likely elevated "
                                      "suPAR.", (),
                [Missing("Documentation that the member is likely to have an elevated plasma suPAR (a result, or the "
                         "clinical criteria used to identify it)", Need.CLINICAL_DOC)])


def course(case: CaseFacts, policy: Policy) -> ClauseResult:
    cid = "table1.covid-19.6"
    d = case.order.dose
    max_mg = policy.limit("covid_max_mg_per_day")
    max_days = policy.limit("covid_max_days")
    ev = dose_evidence(case)
    days = d.duration_days if d.duration_days is not None else d.supply_days
    how = ("course length from the order's timing bounds" if d.duration_days is not None
           else "course length from the days supply" if d.supply_days is not None else "")
    if days is not None:
        ev.append(Evidence(f"{how}: {fmt(days, 'days')}", case.order.reference, fmt(days, "days")))
    problems, unknown = [], []
    if d.mg_per_day is None:
        unknown.append("the daily dose")
    elif d.mg_per_day > max_mg + 1e-9:
        problems.append(f"{fmt(d.mg_per_day, 'mg')} daily exceeds {max_mg} mg")
    if days is None:
        unknown.append(f"the length of the course (at most {max_days} days)")
    elif days > max_days + 1e-9:
        problems.append(f"a course of {fmt(days, 'days')} exceeds {max_days} days")
    if problems:
        return leaf(cid, Outcome.NOT_MET, "; ".join(problems) + ".", ev)
    if unknown:
        return leaf(cid, Outcome.UNKNOWN, "The order does not state " + " or ".join(unknown) + ".", ev,
                    [Missing(u[0].upper() + u[1:] + " on the order", Need.INFO, "OTH") for u in unknown])
    return leaf(cid, Outcome.MET, f"At most {max_mg} mg daily for at most {max_days} days.", ev)


def evaluate(case: CaseFacts, policy: Policy, indication: str) -> ClauseResult:
    return all_of(policy.indication(indication)["clause"], (
        hospitalised(case, policy, "table1.covid-19.1", "Hospitalized"),
        positive_test(case, policy),
        pneumonia_on_oxygen(case, policy),
        respiratory_failure_risk(case, policy),
        elevated_supar(case, policy),
        course(case, policy),
    ), "ALL of 1 to 6.")
