"""table1.covid-19: COVID-19 treatment under the FDA emergency use authorization, ALL of 1 to 6."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date, timedelta

from ...facts.model import CaseFacts, ChartNote, Diagnosis, LabValue
from ..data_loader import Policy
from ..logic import all_of, leaf
from ..model import ClauseResult, Evidence, Missing, Need, Outcome
from .common import answered, diagnosis_evidence, fmt, lab_evidence, span_evidence, statement_evidence
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
        return leaf(
            cid, Outcome.NOT_MET, f"The direct SARS-CoV-2 viral tests of the past {max_days} days are negative.", ev
        )
    note = (
        f"No positive direct SARS-CoV-2 viral test within {max_days} days of the order."
        if tests
        else "No direct SARS-CoV-2 viral test (LOINC) in the chart."
    )
    return leaf(
        cid,
        Outcome.UNKNOWN,
        note,
        ev,
        [Missing(f"A positive direct SARS-CoV-2 viral test result (within {max_days} days)", Need.CLINICAL_DOC)],
    )


_HEDGES = {
    "negated": "denies or excludes it",
    "uncertain": "states it only as a possibility",
    "historical": "states it as past history",
    "family": "states it of a relative",
}


def hedged_evidence(d: Diagnosis, kind: str, what: str) -> Evidence | None:
    """Evidence for a record whose text names `kind` without affirming it ("Pneumonia, no supplemental oxygen
    requirement"): shown so that the card says what the chart says instead, never counted."""
    state = d.hedged(kind)
    if state is None:
        return None
    base = diagnosis_evidence(d)
    return Evidence(
        f"{base.description}: the text {_HEDGES.get(state, state)} ({what}, not counted)",
        base.reference,
        base.value,
        base.date,
    )


def _oxygen_lab_counts(lab: LabValue, room_air_percent: float) -> bool:
    """An inhaled-oxygen result shows supplemental oxygen only when it is above room air: a flow above 0 (L/min),
    a concentration above room air (21 %)."""
    if lab.value is None:
        return False
    if "%" in (lab.unit or ""):
        return lab.value > room_air_percent
    return lab.value > 0


def note_evidence(note: ChartNote, sentence: str, what: str = "chart note") -> Evidence:
    return Evidence(f'{what}: "{sentence}"', note.source, None, note.written.isoformat() if note.written else None)


def respiratory_support_beyond_oxygen(case: CaseFacts, policy: Policy) -> list[Evidence]:
    """Current respiratory support beyond low- or high-flow oxygen (reading `covid_respiratory_support`): invasive
    mechanical ventilation, ECMO or non-invasive ventilation, from a procedure in progress (or started in the recent
    window with no end), or stated (affirmed, not "at risk of intubation") in an active condition's text or a
    recent note about it."""
    cfg = policy.section("covid_19")
    kind = cfg["ventilation_kind"]
    as_of = case.patient.as_of
    since = as_of - timedelta(days=policy.limit("covid_oxygen_recent_days"))
    out: list[Evidence] = []
    for p in case.patient.procedures:
        if kind not in p.kinds:
            continue
        ended = p.ended is not None and p.ended < as_of
        if p.active or (not ended and p.performed is not None and since <= p.performed <= as_of):
            out.append(
                Evidence(
                    f"procedure: {p.label}" + (" (in progress)" if p.active else ""),
                    p.source,
                    None,
                    p.performed.isoformat() if p.performed else None,
                )
            )
    for d in (*case.order.reasons, *case.patient.diagnoses):
        if d.active and kind in d.kinds:
            out.append(diagnosis_evidence(d))
    for n in case.patient.chart_notes:
        if n.active and kind in n.kinds and (n.written is None or since <= n.written <= as_of):
            out.append(
                Evidence(f'chart note: "{n.text}"', n.source, None, n.written.isoformat() if n.written else None)
            )
    return out


def pneumonia_on_oxygen(case: CaseFacts, policy: Policy) -> ClauseResult:
    """table1.covid-19.3: "pneumonia requiring supplemental oxygen (low- or high-flow oxygen)".

    Coded data first (a pneumonia code, an oxygen procedure, an inhaled-oxygen flow or concentration above room
    air, an active oxygen medication); problem-list and reason text only as an explicit, unnegated statement
    ("Pneumonia, no supplemental oxygen requirement (SpO2 95% on room air)" states no oxygen; "? pneumonia" no
    pneumonia). Text that names them without affirming them leaves the clause unknown, never met.

    Reading `covid_respiratory_support`: mechanical or non-invasive ventilation (or ECMO) is beyond "low- or
    high-flow oxygen": not met. Reading `covid_supplemental_oxygen`: when the chart also says the member is on
    room air or needs no oxygen (an inhaled-oxygen result at room air, a negated statement), only coded oxygen
    newer than every such record meets the clause; otherwise it is unknown (the chart contradicts itself)."""
    cid = "table1.covid-19.3"
    cfg = policy.section("covid_19")
    recent_days = policy.limit("covid_oxygen_recent_days")
    as_of = case.patient.as_of
    since = as_of - timedelta(days=recent_days)
    room_air = cfg["oxygen_room_air_percent"]
    diags = (*case.order.reasons, *case.patient.diagnoses)
    pneumonia = [d for d in diags if cfg["pneumonia_kind"] in d.kinds and d.active]
    beyond = respiratory_support_beyond_oxygen(case, policy)
    if beyond:
        return leaf(
            cid,
            Outcome.NOT_MET,
            "The member is on respiratory support beyond low- or high-flow oxygen "
            "(mechanical or non-invasive ventilation, ECMO). " + policy.reading("covid_respiratory_support"),
            [diagnosis_evidence(d) for d in pneumonia] + beyond,
        )
    coded: list[tuple[date | None, Evidence]] = []  # (date, evidence) of coded supplemental oxygen
    stated: list[Evidence] = []  # oxygen affirmed in condition / reason text
    against: list[tuple[date | None, Evidence]] = []  # (date, evidence) of room air / "no oxygen"
    not_counted: list[Evidence] = []
    for p in case.patient.procedures:
        if cfg["oxygen_kind"] in p.kinds and (p.active or (p.performed is not None and p.performed >= since)):
            coded.append(
                (
                    as_of if p.active else p.performed,
                    Evidence(
                        f"procedure: {p.label}" + (" (in progress)" if p.active else ""),
                        p.source,
                        None,
                        p.performed.isoformat() if p.performed else None,
                    ),
                )
            )
    for lab in case.patient.labs_of(cfg["oxygen_lab"]):
        if lab.observed_on is not None and lab.observed_on >= since:
            e = lab_evidence(lab, "inhaled oxygen")
            if _oxygen_lab_counts(lab, room_air):
                coded.append((lab.observed_on, e))
            else:
                against.append(
                    (
                        lab.observed_on,
                        Evidence(e.description + " (room air: not supplemental oxygen)", e.reference, e.value, e.date),
                    )
                )
    for s in case.patient.medications:
        if cfg["oxygen_drug_class"] in s.classes and s.active:
            coded.append((as_of, span_evidence(s)))
    for d in diags:
        if cfg["oxygen_kind"] in d.kinds and d.active:
            stated.append(diagnosis_evidence(d))
    for d in diags:
        if not d.active:
            continue
        for kind, what in ((cfg["pneumonia_kind"], "pneumonia"), (cfg["oxygen_kind"], "supplemental oxygen")):
            if kind not in d.kinds:
                hedge = hedged_evidence(d, kind, what)
                if hedge is not None:
                    not_counted.append(hedge)
                    if kind == cfg["oxygen_kind"] and d.hedged(kind) == "negated":
                        against.append((d.onset, hedge))
    for n in case.patient.chart_notes:
        if n.active and cfg["oxygen_kind"] not in n.kinds and dict(n.hedged_kinds).get(cfg["oxygen_kind"]) == "negated":
            e = Evidence(
                f'chart note: "{n.text}": the text denies supplemental oxygen (not counted)',
                n.source,
                None,
                n.written.isoformat() if n.written else None,
            )
            against.append((n.written, e))
            not_counted.append(e)
    oxygen_ev = [e for _, e in coded] + stated
    ev = (
        [diagnosis_evidence(d) for d in pneumonia]
        + oxygen_ev
        + not_counted
        + [e for _, e in against if e not in not_counted]
    )
    if pneumonia and oxygen_ev and not against:
        return leaf(cid, Outcome.MET, "Pneumonia with supplemental oxygen.", ev)
    if pneumonia and coded and against:
        newest_for = max((d for d, _ in coded if d is not None), default=None)
        if newest_for is not None and all(d is not None and d < newest_for for d, _ in against):
            return leaf(
                cid,
                Outcome.MET,
                "Pneumonia with supplemental oxygen: the newest coded record shows oxygen "
                "above room air, after the records of room air or no oxygen. "
                + policy.reading("covid_supplemental_oxygen"),
                ev,
            )
    if against and oxygen_ev:
        note = (
            "The chart contradicts itself about supplemental oxygen: it records oxygen, and also room air or no "
            "oxygen requirement, with no newer coded record to settle it. "
            + policy.reading("covid_supplemental_oxygen")
        )
        return leaf(
            cid,
            Outcome.UNKNOWN,
            note,
            ev,
            [
                Missing(
                    "Chart notes showing the member's current supplemental oxygen (low- or high-flow) for "
                    "the pneumonia",
                    Need.CLINICAL_DOC,
                )
            ],
        )
    lacking = " and ".join(x for x, have in (("pneumonia", pneumonia), ("supplemental oxygen", oxygen_ev)) if not have)
    note = f"The chart does not show {lacking}."
    if not_counted or against:
        note += (
            " Text that mentions it without stating it (negated, possible or past) is not evidence, nor is an "
            "inhaled-oxygen result at room air: an explicit statement or coded data is needed."
        )
    return leaf(
        cid,
        Outcome.UNKNOWN,
        note,
        ev,
        [Missing("Chart notes showing pneumonia requiring supplemental oxygen (low- or high-flow)", Need.CLINICAL_DOC)],
    )


@answered("respiratory_failure_risk")
def respiratory_failure_risk(case: CaseFacts, policy: Policy) -> ClauseResult:
    """table1.covid-19.4: "Member is at risk of progressing to severe respiratory failure".

    Met on the prescriber's statement on the order, or a chart note (Condition.note) that states the risk of
    respiratory failure without negation or hedging (terminology `chart_statements.respiratory_failure_risk`:
    "high risk of progression to severe respiratory failure"; "at risk of progression" alone names no respiratory
    failure, "low risk of respiratory failure" states none). Not met when the member is already on mechanical or
    non-invasive ventilation or ECMO (reading `covid_respiratory_support`): that is respiratory failure reached,
    not a risk of progressing to it."""
    cid = "table1.covid-19.4"
    key = "respiratory_failure_risk"
    beyond = respiratory_support_beyond_oxygen(case, policy)
    if beyond:
        return leaf(
            cid,
            Outcome.NOT_MET,
            "The member is already on respiratory support beyond low- or high-flow "
            "oxygen: progressed to respiratory failure, not at risk of progressing to "
            "it. " + policy.reading("covid_respiratory_support"),
            beyond,
        )
    stated = case.order.prescriber_statement.get(key)
    if stated is not None:
        return leaf(
            cid,
            Outcome.MET,
            "The prescriber states the risk of progressing to severe respiratory failure.",
            [statement_evidence(stated)],
        )
    notes = [(n, sentence) for n in case.patient.chart_notes if n.active and (sentence := n.states(key))]
    if notes:
        return leaf(
            cid,
            Outcome.MET,
            "A chart note states the risk of progressing to severe respiratory failure.",
            [note_evidence(n, s) for n, s in notes],
        )
    hedged = [
        Evidence(
            f'chart note: "{sentence}": {_HEDGES.get(status, status)} (not counted)',
            n.source,
            None,
            n.written.isoformat() if n.written else None,
        )
        for n in case.patient.chart_notes
        for k, status, sentence in n.unstated
        if k == key
    ]
    return leaf(
        cid,
        Outcome.UNKNOWN,
        "The risk of progressing to severe respiratory failure is not documented.",
        hedged,
        [
            Missing(
                "Chart notes documenting that the member is at risk of progressing to severe respiratory failure",
                Need.CLINICAL_DOC,
            )
        ],
    )


def _supar_from_values(
    cid: str, values: Sequence[LabValue], threshold: float, units: Collection[str], what: str, policy: Policy
) -> ClauseResult | None:
    """The newest suPAR result decides (results of one day that disagree leave it unknown)."""
    if not values:
        return None
    newest = values[0].observed_on
    same_day = [v for v in values if v.observed_on == newest]
    ev = [lab_evidence(v, what) for v in values[:5]]
    usable = [v.value for v in same_day if v.value is not None and (v.unit or "") in units]
    missing = [Missing(f"The plasma suPAR result in ng/mL (elevated: {threshold} ng/mL or more)", Need.CLINICAL_DOC)]
    if not usable:
        return leaf(cid, Outcome.UNKNOWN, "A suPAR result is recorded in a unit that cannot be compared.", ev, missing)
    high = [value for value in usable if value >= threshold]
    if len(high) == len(usable):
        return leaf(
            cid,
            Outcome.MET,
            f"suPAR {fmt(high[0])} ng/mL is at least {threshold} ng/mL. " + policy.reading("covid_supar"),
            ev,
        )
    if not high:
        return leaf(
            cid,
            Outcome.NOT_MET,
            f"suPAR {fmt(usable[0])} ng/mL is below {threshold} ng/mL: measured, "
            "not elevated. " + policy.reading("covid_supar"),
            ev,
        )
    return leaf(cid, Outcome.UNKNOWN, "suPAR results of the same day disagree about the threshold.", ev, missing)


@answered("elevated_supar")
def elevated_supar(case: CaseFacts, policy: Policy) -> ClauseResult:
    """table1.covid-19.5: "Member is likely to have an elevated plasma soluble urokinase plasminogen activator
    receptor (suPAR)" (reading `covid_supar`).

    A measured suPAR decides, coded Observations first (suPAR has no verified LOINC number: matched by name), then
    a value a chart note states in an unnegated sentence ("suPAR 7.8 ng/mL"): at least the EUA's cut-off is met,
    below it is not met. Without a result: the prescriber's statement, or a chart note stating that suPAR is
    (likely) elevated."""
    cid = "table1.covid-19.5"
    cfg = policy.section("covid_19")
    threshold = policy.limit("supar_elevated_ng_ml")
    units = cfg["supar_units"]
    coded = _supar_from_values(cid, case.patient.labs_of(cfg["supar_lab"]), threshold, units, "suPAR", policy)
    if coded is not None:
        return coded
    stated_values = [v for n in case.patient.chart_notes for v in n.values if v.kind == cfg["supar_lab"]]
    stated_values.sort(key=lambda v: v.observed_on or date.min, reverse=True)
    from_notes = _supar_from_values(cid, stated_values, threshold, units, "suPAR stated in a chart note", policy)
    if from_notes is not None:
        return from_notes
    stated = case.order.prescriber_statement.get("elevated_supar")
    if stated is not None:
        return leaf(cid, Outcome.MET, "The prescriber states a likely elevated suPAR.", [statement_evidence(stated)])
    notes = [(n, sentence) for n in case.patient.chart_notes if n.active and (sentence := n.states("elevated_supar"))]
    if notes:
        return leaf(cid, Outcome.MET, "A chart note states an elevated suPAR.", [note_evidence(n, s) for n, s in notes])
    return leaf(
        cid,
        Outcome.UNKNOWN,
        "No suPAR result (it has no LOINC code) and no statement of a likely elevated suPAR.",
        (),
        [
            Missing(
                "Documentation that the member is likely to have an elevated plasma suPAR (a result, or the "
                "clinical criteria used to identify it)",
                Need.CLINICAL_DOC,
            )
        ],
    )


def course(case: CaseFacts, policy: Policy) -> ClauseResult:
    cid = "table1.covid-19.6"
    d = case.order.dose
    max_mg = policy.limit("covid_max_mg_per_day")
    max_days = policy.limit("covid_max_days")
    ev = dose_evidence(case)
    days = d.duration_days if d.duration_days is not None else d.supply_days
    how = (
        "course length from the order's timing bounds"
        if d.duration_days is not None
        else "course length from the days supply"
        if d.supply_days is not None
        else ""
    )
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
        return leaf(
            cid,
            Outcome.UNKNOWN,
            "The order does not state " + " or ".join(unknown) + ".",
            ev,
            [Missing(u[0].upper() + u[1:] + " on the order", Need.INFO, "OTH") for u in unknown],
        )
    return leaf(cid, Outcome.MET, f"At most {max_mg} mg daily for at most {max_days} days.", ev)


def evaluate(case: CaseFacts, policy: Policy, indication: str) -> ClauseResult:
    return all_of(
        policy.indication(indication)["clause"],
        (
            hospitalised(case, policy, "table1.covid-19.1", "Hospitalized"),
            positive_test(case, policy),
            pneumonia_on_oxygen(case, policy),
            respiratory_failure_risk(case, policy),
            elevated_supar(case, policy),
            course(case, policy),
        ),
        "ALL of 1 to 6.",
    )
