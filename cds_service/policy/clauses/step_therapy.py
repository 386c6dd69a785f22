"""table1.ra: RA step therapy (conventional agents, then preferred products)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from ...facts.model import AllergyFact, CaseFacts, TherapySpan
from ..data_loader import Policy
from ..logic import all_of, any_of, leaf, one_of
from ..model import ClauseResult, Evidence, Missing, Need, Outcome
from .common import answered, denial, denial_evidence, lasted_months, span_evidence, statement_evidence


def _intolerances(
    case: CaseFacts, match: Callable[[AllergyFact | TherapySpan], str | None]
) -> list[tuple[str, Evidence]]:
    """Intolerance or hypersensitivity: an AllergyIntolerance, or a medication stopped for an adverse reaction.
    An intolerance of the route only (needles, injections) does not count (table1.ra.2.d), nor does an unconfirmed
    entry (verification unconfirmed / presumed): weak evidence never makes a step-therapy option met."""
    out = []
    for a in case.patient.allergies:
        if a.refuted or not a.active or a.route_only or a.unconfirmed:
            continue
        key = match(a)
        if key:
            out.append(
                (
                    key,
                    Evidence(
                        f"{a.kind} to {a.label}" + (f" ({', '.join(a.reactions)})" if a.reactions else ""), a.source
                    ),
                )
            )
    for s in case.patient.medications:
        if s.stopped_reason == "adverse":
            key = match(s)
            if key:
                out.append((key, span_evidence(s, "stopped for an adverse reaction")))
    return out


@dataclass
class TrialSummary:
    key: str
    adequate_trial: bool | None  # >= 3 months (None: dates do not say)
    inadequate_response: bool | None  # stopped as ineffective (None: not documented)
    evidence: list[Evidence]


def _trials(
    spans: list[TherapySpan],
    key_of: Callable[[TherapySpan], str | None],
    months: int,
    as_of: date,
    evidence: bool = True,
) -> dict[str, TrialSummary]:
    """Trials per product or agent; `evidence=False` when only the summary is read (no Evidence built)."""
    out: dict[str, TrialSummary] = {}
    for s in spans:
        if s.is_sample:
            continue
        key = key_of(s)
        if not key:
            continue
        t = out.get(key)
        if t is None:
            t = out[key] = TrialSummary(key, None, None, [])
        lasted = lasted_months(s, months, as_of)
        if lasted:
            t.adequate_trial = True
        elif lasted is False and t.adequate_trial is None:
            t.adequate_trial = False
        if s.stopped_reason == "ineffective" or s.response == "no-benefit":
            t.inadequate_response = True
        if evidence:
            t.evidence.append(span_evidence(s))
    return out


def ra_conventional(case: CaseFacts, policy: Policy) -> ClauseResult:
    months = policy.limit("min_trial_months")
    meds = list(case.patient.medications)
    as_of = case.patient.as_of
    conventional = policy.data["ra_conventional_agents"]
    trials = _trials(meds, lambda s: s.drug if s.drug in conventional else None, months, as_of)

    def trial_clause(cid: str, agents: list[str], what: str) -> ClauseResult:
        found = [trials[a] for a in agents if a in trials]
        ev = [e for t in found for e in t.evidence]
        if any(t.adequate_trial and t.inadequate_response for t in found):
            return leaf(cid, Outcome.MET, f"{what}: at least {months} months with inadequate response.", ev)
        if any(t.adequate_trial and t.inadequate_response is None for t in found):
            return leaf(
                cid,
                Outcome.UNKNOWN,
                f"{what} for at least {months} months, but the response is not documented.",
                ev,
                [Missing(f"Chart notes documenting inadequate response to {what}", Need.CLINICAL_DOC)],
            )
        if any(t.adequate_trial is None for t in found):
            return leaf(
                cid,
                Outcome.UNKNOWN,
                f"{what} was used, but its duration is not documented.",
                ev,
                [Missing(f"Start and stop dates of {what} (at least {months} months)", Need.CLINICAL_DOC)],
            )
        if found:
            return leaf(cid, Outcome.NOT_MET, f"{what} was used for less than {months} months.", ev)
        return leaf(cid, Outcome.NOT_MET, f"No {what} in the medication history.")

    intol = _intolerances(
        case,
        lambda x: (
            x.substance
            if isinstance(x, AllergyFact) and x.substance in conventional
            else (x.drug if isinstance(x, TherapySpan) and x.drug in conventional else None)
        ),
    )
    a = trial_clause("table1.ra.1.a", ["methotrexate"], "methotrexate")
    if a.outcome is Outcome.MET:
        a = _maximally_tolerated(a, meds, [e for k, e in intol if k == "methotrexate"], policy)
    b = trial_clause(
        "table1.ra.1.b",
        ["hydroxychloroquine", "leflunomide", "sulfasalazine"],
        "hydroxychloroquine, leflunomide or sulfasalazine",
    )
    c = leaf(
        "table1.ra.1.c",
        Outcome.MET if intol else Outcome.NOT_MET,
        "Intolerance or hypersensitivity to a conventional agent."
        if intol
        else "No intolerance or hypersensitivity to methotrexate, hydroxychloroquine, leflunomide or sulfasalazine "
        "recorded.",
        [e for _, e in intol],
    )
    # Table 1 RA 1.d: "an FDA labeled contraindication to ALL conventional agents (i.e., methotrexate,
    # hydroxychloroquine, leflunomide, sulfasalazine)": the prescriber's explicit statement (all four, or the four
    # named, contraindicated: `conventional_all_contraindicated`); otherwise the documentation is asked for.
    stated = case.order.prescriber_statement.get("conventional_all_contraindicated")
    if stated is not None:
        d = leaf(
            "table1.ra.1.d",
            Outcome.MET,
            "The prescriber states an FDA-labeled contraindication to all four conventional agents.",
            [statement_evidence(stated)],
        )
    elif (no := denial(case, "conventional_all_contraindicated")) is not None:
        d = leaf(
            "table1.ra.1.d",
            Outcome.NOT_MET,
            "The prescriber answers that the member has no FDA-labeled "
            "contraindication to all four conventional agents.",
            [denial_evidence(no)],
        )
    else:
        d = leaf(
            "table1.ra.1.d",
            Outcome.UNKNOWN,
            "A contraindication to all four conventional agents is not recorded.",
            missing=[
                Missing(
                    "Documentation of an FDA-labeled contraindication to methotrexate, hydroxychloroquine, "
                    "leflunomide and sulfasalazine (only if none was tried)",
                    Need.CLINICAL_DOC,
                )
            ],
        )
    ra_bio = policy.section("ra_biologic")
    bio = [
        s
        for s in meds
        if s.drug != "anakinra"
        and not s.is_sample
        and s.kind != "draft"
        and (s.classes & set(ra_bio["classes"]) or s.drug in ra_bio["drugs"])
    ]
    e = leaf(
        "table1.ra.1.e",
        Outcome.MET if bio else Outcome.NOT_MET,
        "Medication history shows another biologic or targeted agent labeled for RA."
        if bio
        else "No other biologic immunomodulator labeled for RA in the medication history.",
        [span_evidence(s) for s in bio[:5]],
    )
    if any(ch.outcome is Outcome.MET for ch in (a, b, c, e)):
        d = leaf("table1.ra.1.d", Outcome.NOT_APPLICABLE, "Not needed: another option is met.")
    return one_of("table1.ra.1", (a, b, c, d, e), "ONE of a to e.")


def _maximally_tolerated(
    a: ClauseResult, meds: list[TherapySpan], intolerances: list[Evidence], policy: Policy
) -> ClauseResult:
    """Table 1 RA 1.a: "inadequate response to maximally tolerated methotrexate (e.g., titrated to 25 mg weekly)
    after at least a 3-month duration of therapy" (the description: "The MTX target dose is 25 mg weekly, or the
    highest tolerable dose").

    `a` is the trial (3 months, inadequate response) already met. At or above the target dose it stays MET. Below
    it, the chart must show why the dose was the highest tolerable one: a methotrexate record stating a maximum
    tolerated dose, intolerance or toxicity at a higher dose, or a renal or hepatic limit (`TherapySpan.dose_limit`),
    or an intolerance of methotrexate on record. Without that the dose is not shown to be maximally tolerated:
    UNKNOWN, asking for that documentation (never MET on a low dose held without a reason). A dose that no record
    states leaves the clause as the trial shows it."""
    target = policy.limit("mtx_target_mg_per_week")
    mtx = [s for s in meds if s.drug == "methotrexate" and not s.is_sample]
    doses = [s.mg_per_week for s in mtx if s.mg_per_week]
    if not doses:
        return a
    top = max(doses)
    if top >= target:
        return leaf(a.clause_id, a.outcome, a.note + f" Highest documented dose {top:g} mg weekly.", a.evidence)
    limited = [s for s in mtx if s.dose_limit]
    if limited or intolerances:
        why = [f'"{s.dose_limit}" ({s.source})' for s in limited] + [e.description for e in intolerances]
        ev = (
            list(a.evidence)
            + [
                span_evidence(s, f"dose limit: {s.dose_limit}")
                for s in limited
                if not any(e.reference == s.source for e in a.evidence)
            ]
            + intolerances
        )
        return leaf(
            a.clause_id,
            Outcome.MET,
            a.note + f" Highest documented dose {top:g} mg weekly, below the {target} mg target; the chart "
            "documents why it was the highest tolerable dose: " + "; ".join(why) + ".",
            ev,
        )
    return leaf(
        a.clause_id,
        Outcome.UNKNOWN,
        f"Methotrexate for at least {policy.limit('min_trial_months')} months with inadequate response, but at "
        f"most {top:g} mg weekly, below the {target} mg target, and nothing in the chart says it was the "
        "maximally tolerated dose (intolerance, a stated maximum tolerated dose, a renal or hepatic limit).",
        a.evidence,
        [
            Missing(
                f"Documentation that methotrexate {top:g} mg weekly was the maximally tolerated dose (the "
                f"guideline's example is titration to {target} mg weekly): intolerance or toxicity at a higher "
                "dose, a stated maximum tolerated dose, or a renal or hepatic limit",
                Need.CLINICAL_DOC,
            )
        ],
    )


def preferred_list(case: CaseFacts, policy: Policy) -> ClauseResult:
    """table1.ra.preferred: the list of preferred products (a definition), with what the chart shows for each.

    Always MET: it is the list ra.2 counts against, shown so the explanation names every product once."""
    status = preferred_status(case, policy)
    ev = [Evidence(f"{label}: {how}", None, how) for label, how in status.values()]
    return leaf(
        "table1.ra.preferred",
        Outcome.MET,
        "The preferred RA products (each counted once, however many orders or records): "
        + ", ".join(label for label, _ in status.values())
        + ".",
        ev,
    )


def ra_preferred(case: CaseFacts, policy: Policy) -> ClauseResult:
    months = policy.limit("min_trial_months")
    labels = policy.data["ra_preferred_products"]
    meds = list(case.patient.medications)
    trials = _trials(meds, lambda s: s.preferred_product, months, case.patient.as_of)
    failed = sorted(k for k, t in trials.items() if t.adequate_trial and t.inadequate_response)
    undocumented = sorted(k for k, t in trials.items() if not (t.adequate_trial and t.inadequate_response))
    intol = _intolerances(case, lambda x: x.preferred_product)
    intolerant = sorted({k for k, _ in intol} - set(failed))
    ev_failed = [e for k in failed for e in trials[k].evidence]
    ev_intol = [e for _, e in intol]
    nf, ni = len(failed), len(intolerant)

    def name(keys: Iterable[str]) -> str:
        return ", ".join(labels[k] for k in keys) or "none"

    summary = (
        f"Inadequate response (>= {months} months): {name(failed)}. "
        f"Intolerance or hypersensitivity: {name(intolerant)}."
    )
    options = []
    for cid, need in policy.section("ra_preferred_counts").items():  # keyed by clause id, table1.ra.2.a to d
        if cid.startswith("_"):
            continue
        want_f, want_i = need.get("inadequate_response", 0), need.get("intolerance", 0)
        ok = nf >= want_f and ni >= want_i
        parts = [f"{nf} with inadequate response ({want_f} needed)"] if want_f else []
        parts += (
            [f"{ni} {'other ' if want_f else ''}with intolerance or hypersensitivity ({want_i} needed)"]
            if want_i
            else []
        )
        ev = (ev_failed if want_f else []) + (ev_intol if want_i else [])
        options.append(
            leaf(cid, Outcome.MET if ok else Outcome.NOT_MET, "Preferred products: " + " and ".join(parts) + ".", ev)
        )
    doc_needed = []
    for k in undocumented:
        t = trials[k]
        if t.adequate_trial and t.inadequate_response is None:
            doc_needed.append(Missing(f"Chart notes documenting the response to {labels[k]}", Need.CLINICAL_DOC))
        elif t.adequate_trial is None:
            doc_needed.append(
                Missing(f"Start and stop dates of {labels[k]} (at least {months} months)", Need.CLINICAL_DOC)
            )
    e = leaf(
        "table1.ra.2.e",
        Outcome.UNKNOWN,
        "A contraindication to every preferred product is not recorded.",
        missing=[
            Missing("Documentation of an FDA-labeled contraindication to all preferred products", Need.CLINICAL_DOC)
        ],
    )
    f = all_inappropriate(case, policy, doc_needed)
    if f.outcome is Outcome.NOT_MET and doc_needed:
        # the prescriber answered no to 2.f: the trials' documentation is still what 2.a to 2.d need
        e = leaf("table1.ra.2.e", e.outcome, e.note, e.evidence, (*e.missing, *doc_needed))
    if any(x.outcome is Outcome.MET for x in options):
        na = "Not needed: another option is met."
        e = leaf("table1.ra.2.e", Outcome.NOT_APPLICABLE, na)
        f = leaf("table1.ra.2.f", Outcome.NOT_APPLICABLE, na)
    return any_of("table1.ra.2", (*options, e, f), summary)


@answered("preferred_inappropriate")
def all_inappropriate(case: CaseFacts, policy: Policy, doc_needed: Sequence[Missing] = ()) -> ClauseResult:
    """table1.ra.2.f: "ALL preferred products are not clinically appropriate for the member, AND the prescriber has
    provided a complete list of previously tried preferred products for the requested indication".

    Both halves are the prescriber's statements on the order (recognised by meaning: `preferred_inappropriate`,
    `preferred_tried_list`; "none" is a complete list when nothing was tried). The list is complete only if it names
    every preferred product the chart shows tried: one it leaves out makes the clause UNKNOWN (the complete list is
    asked for), never MET."""
    cid = "table1.ra.2.f"
    labels = policy.data["ra_preferred_products"]
    stated = case.order.prescriber_statement
    inappropriate = stated.get("preferred_inappropriate")
    listed = stated.get("preferred_tried_list")
    ev = [statement_evidence(s) for s in (inappropriate, listed) if s is not None]
    tried = sorted(k for k, (_, how) in preferred_status(case, policy).items() if how != "not tried")
    ask = Missing(
        "Prescriber statement that all preferred products are clinically inappropriate, with the complete "
        "list of preferred products tried",
        Need.ADMIN_DOC,
    )
    if inappropriate is not None and listed is not None and listed.items is not None:
        left_out = [k for k in tried if k not in listed.items]
        named = ", ".join(labels[k] for k in sorted(listed.items)) or "none"
        if not left_out:
            return leaf(
                cid,
                Outcome.MET,
                "The prescriber states that all preferred products are clinically "
                f"inappropriate and lists the preferred products tried ({named}).",
                ev,
            )
        return leaf(
            cid,
            Outcome.UNKNOWN,
            f"The prescriber states that all preferred products are clinically inappropriate, but the list of "
            f"those tried ({named}) leaves out {', '.join(labels[k] for k in left_out)}, which the chart shows "
            "tried: the list is not complete.",
            ev,
            [
                Missing(
                    "The complete list of preferred products tried (the chart also shows "
                    + ", ".join(labels[k] for k in left_out)
                    + ")",
                    Need.ADMIN_DOC,
                ),
                *doc_needed,
            ],
        )
    lacking = [
        what
        for what, s in (
            ("all preferred products are clinically inappropriate", inappropriate),
            ("the complete list of preferred products tried", listed),
        )
        if s is None
    ]
    return leaf(cid, Outcome.UNKNOWN, "Not recorded: " + " and ".join(lacking) + ".", ev, [ask, *doc_needed])


def ra_activity(case: CaseFacts, policy: Policy) -> ClauseResult:
    """table1.ra.activity: Table 1's indication is "Moderately to severely active rheumatoid arthritis (RA)" (Table 3
    grades RA severity: mild, moderate, severe).

    Reading `ra_disease_activity`: where the chart states the activity (RA Condition severity, activity scores,
    the Condition's words: `PatientFacts.disease_activity`), the newest statement decides. Mild severity, low
    activity or remission is NOT_MET (conditional, not a denial: a current assessment can be submitted); statements
    of that date that disagree are UNKNOWN. A chart that states nothing is read, as before, from the diagnosis and
    the step-therapy history (MET): so MET never rests on a cited record, and the statements of moderate or severe
    activity are described, not cited."""
    cid = "table1.ra.activity"
    found = case.patient.disease_activity
    if not found:
        return leaf(
            cid,
            Outcome.MET,
            "The chart does not state the disease activity: read from the RA diagnosis and "
            "the step-therapy history as moderately to severely active.",
            [
                Evidence(
                    "RA disease activity: not stated (RA condition severity, notes and activity scores read)",
                    None,
                    "not stated",
                )
            ],
        )
    newest = max((a.observed_on for a in found if a.observed_on), default=None)
    latest = [a for a in found if a.observed_on == newest] if newest else list(found)
    levels = {a.level for a in latest}
    when = f" ({newest.isoformat()})" if newest else ""
    said = "; ".join(f"{a.what} ({a.source})" for a in latest)
    if levels == {"active"}:
        # described, not cited: the clause would be met without these records too (a silent chart)
        return leaf(
            cid,
            Outcome.MET,
            f"The newest statement of disease activity{when} is moderate or severe: {said}.",
            [
                Evidence(
                    f"{a.what} ({a.source}): moderate or severe",
                    None,
                    a.level,
                    a.observed_on.isoformat() if a.observed_on else None,
                )
                for a in latest
            ],
        )
    ev = [
        Evidence(
            f"{a.what}: {'mild, low activity or remission' if a.level == 'low' else 'moderate or severe'}",
            a.source,
            a.level,
            a.observed_on.isoformat() if a.observed_on else None,
        )
        for a in latest
    ]
    if levels == {"low"}:
        return leaf(
            cid,
            Outcome.NOT_MET,
            f"The newest statement of disease activity{when} is mild, low activity or remission, not "
            "moderately to severely active RA (Table 1; Table 3 grades severity). A current assessment showing "
            "moderate or high activity can be submitted.",
            ev,
        )
    return leaf(
        cid,
        Outcome.UNKNOWN,
        f"The statements of disease activity{when} disagree (mild or low and moderate or severe).",
        ev,
        [
            Missing(
                "A current assessment of RA disease activity (e.g. CDAI, SDAI or DAS28) showing moderately to "
                "severely active disease",
                Need.CLINICAL_DOC,
            )
        ],
    )


def ra(case: CaseFacts, policy: Policy) -> ClauseResult:
    return all_of(
        "table1.ra",
        (
            ra_activity(case, policy),
            ra_conventional(case, policy),
            ra_preferred(case, policy),
            preferred_list(case, policy),
        ),
        "Moderately to severely active RA, and BOTH ra.1 and ra.2 (against the preferred list).",
    )


def preferred_status(case: CaseFacts, policy: Policy) -> dict[str, tuple[str, str]]:
    """For the step-therapy card: which preferred products are documented and how."""
    months = policy.limit("min_trial_months")
    trials = _trials(
        list(case.patient.medications), lambda s: s.preferred_product, months, case.patient.as_of, evidence=False
    )
    intol = {k for k, _ in _intolerances(case, lambda x: x.preferred_product)}
    out: dict[str, tuple[str, str]] = {}
    for key, label in policy.data["ra_preferred_products"].items():
        t = trials.get(key)
        if t and t.adequate_trial and t.inadequate_response:
            out[key] = (label, "inadequate response")
        elif key in intol:
            out[key] = (label, "intolerance or hypersensitivity")
        elif t:
            out[key] = (label, "tried, response or duration not documented")
        else:
            out[key] = (label, "not tried")
    return out
