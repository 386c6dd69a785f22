"""Initiation criteria 1 to 3 (4 and 5 live in combination.py and dose.py); 2 and 3 are reused by continuation."""

from __future__ import annotations

from datetime import timedelta

from ...facts.model import AllergyFact, CaseFacts, TherapySpan
from ..data_loader import Policy
from ..logic import all_of, any_of, leaf, one_of
from ..model import ClauseResult, Evidence, Missing, Need, Outcome
from .combination import unread_lists
from .common import answered, denial, denial_evidence, records_read, span_evidence, statement_evidence
from .indication import IndicationChoice, table1


def continuing_therapy(case: CaseFacts, policy: Policy) -> list[TherapySpan]:
    """Anakinra use within the past 90 days that statements or orders show but that cannot rule out samples:
    a MedicationStatement or MedicationRequest (not a sample by its own words) that is active, or was in use
    within the window. Such records say the member is on anakinra, not that it was dispensed rather than
    given as samples ("starting on samples is not approvable"), so initiation.1.a is UNKNOWN for them."""
    days = policy.limit("recent_anakinra_days")
    since = case.patient.as_of - timedelta(days=days)
    out: list[TherapySpan] = []
    for s in case.patient.medications:
        if s.drug != "anakinra" or s.kind not in ("statement", "request") or s.is_sample:
            continue
        if s.start is not None and s.start > case.patient.as_of:
            continue
        last = s.end or s.start
        if s.active or (last is not None and last >= since):
            out.append(s)
    return out


def recent_anakinra(case: CaseFacts, policy: Policy) -> ClauseResult:
    """initiation.1.a: "The member has been treated with anakinra (starting on samples is not approvable) within
    the past 90 days".

    MET on a dispense or administration within the window that is not a sample, trial or free supply (its
    `type` code, or its words: `TherapySpan.supply`). A MedicationDispense without a type is a pharmacy fill
    (readings.untyped_dispense). Statements or orders of anakinra in the window without such a dispense
    cannot rule out samples: UNKNOWN, asking to confirm the continuing therapy (1.a or 1.b). Any medication
    list not read in full makes a clause that would otherwise be NOT_MET UNKNOWN, naming the list."""
    cid = "initiation.1.a"
    days = policy.limit("recent_anakinra_days")
    kinds = policy.data["recent_anakinra_kinds"]
    since = case.patient.as_of - timedelta(days=days)
    spans = [s for s in case.patient.medications if s.drug == "anakinra"]

    def recent(s: TherapySpan) -> bool:
        last = s.end or s.start
        return last is not None and since <= last and (s.start is None or s.start <= case.patient.as_of)

    counted = [s for s in spans if s.kind in kinds and not s.is_sample and recent(s)]
    samples = [s for s in spans if s.is_sample]
    if counted:
        return leaf(
            cid,
            Outcome.MET,
            f"Anakinra {' or '.join(kinds)} within the past {days} days (not a sample).",
            [span_evidence(s) for s in counted],
        )
    continuing = continuing_therapy(case, policy)

    def why(s: TherapySpan) -> str:
        if s.is_sample:
            return f"a sample, trial or free supply ({s.supply}): samples do not count"
        if any(c is s for c in continuing):
            return "shows anakinra use, but no dispensing record shows it was not samples"
        return f"not a {' or '.join(kinds)} record" if s.kind not in kinds else f"not within {days} days"

    other = [span_evidence(s, why(s)) for s in spans]
    unread = unread_lists(case)
    if unread:
        return leaf(
            cid,
            Outcome.UNKNOWN,
            "The medication history could not be read in full: "
            + ", ".join(unread)
            + " could not be read from the EHR.",
            other,
            [
                Missing(
                    f"Anakinra dispensing history for the past {days} days (the EHR's "
                    + " and ".join(unread)
                    + " could not be read)",
                    Need.CLINICAL_DOC,
                )
            ],
        )
    if continuing:
        return leaf(
            cid,
            Outcome.UNKNOWN,
            f"Anakinra use within the past {days} days is recorded ({len(continuing)} statement or order "
            "record(s)), but no dispensing record shows it was not started on samples.",
            other,
            [
                Missing(
                    f"Pharmacy dispensing records (or claims) showing anakinra, not samples, within the "
                    f"past {days} days, to confirm the continuing therapy",
                    Need.CLINICAL_DOC,
                )
            ],
        )
    note = f"No anakinra {' or '.join(kinds)} within the past {days} days"
    if samples:
        note += " (samples do not count)"
    return leaf(cid, Outcome.NOT_MET, note + ".", other)


@answered("recent_anakinra", "at_risk_if_changed")
def prescriber_statement(case: CaseFacts, policy: Policy) -> ClauseResult:
    """initiation.1.b: "The prescriber states the member has been treated with anakinra (starting on samples is not
    approvable) within the past 90 days AND is at risk if therapy is changed".

    The first half is stated in words ("treated with Kineret within the past 90 days") or by the note's own dates
    (`anakinra_use`: "has been treated with Kineret continuously since 10/06/2025" reaches the order date). When the
    prescriber's own dates put the last anakinra treatment more than 90 days before the order date ("treated from
    February to mid-July 2025"), the statement of recent treatment is contradicted by them: NOT_MET, whatever else
    the note says. Dates that could fall on either side of the window decide nothing (UNKNOWN)."""
    cid = "initiation.1.b"
    days = policy.limit("recent_anakinra_days")
    as_of = case.patient.as_of
    since = as_of - timedelta(days=days)
    stated = case.order.prescriber_statement
    treated = stated.get("recent_anakinra")
    use = stated.get("anakinra_use")
    at_risk = stated.get("at_risk_if_changed")
    when = use.when if use is not None else None
    when_text = use.when_text if use is not None else ""
    ev = [statement_evidence(s) for s in (treated, use if when else None, at_risk) if s is not None]
    if when is not None and when[1] < since:
        return leaf(
            cid,
            Outcome.NOT_MET,
            f'The prescriber\'s own dates ("{when_text}") put the last anakinra treatment on or before '
            f"{when[1].isoformat()}, more than {days} days before the order date ({as_of.isoformat()}): the "
            f"treatment is not within the past {days} days"
            + (", whatever else the note says." if treated is not None else "."),
            ev,
        )
    recent_by_dates = when is not None and since <= when[0] <= as_of
    if (treated is not None or recent_by_dates) and at_risk is not None:
        how = ('by its dates ("' + when_text + '")') if treated is None else "in words"
        return leaf(
            cid,
            Outcome.MET,
            f"The prescriber states anakinra treatment within the past {days} days ({how}) "
            "and a risk if therapy is changed.",
            ev,
        )
    lacking = [
        what
        for what, ok in (
            (f"anakinra treatment (not samples) in the past {days} days", treated is not None or recent_by_dates),
            ("the member is at risk if therapy is changed", at_risk is not None),
        )
        if not ok
    ]
    note = "No prescriber statement that " + " and that ".join(lacking) + "."
    if when is not None and not recent_by_dates:
        note += (
            f' The note\'s dates ("{when_text}") place the last treatment between {when[0].isoformat()} '
            f"and {when[1].isoformat()}: they do not show it was within the past {days} days."
        )
    return leaf(
        cid,
        Outcome.UNKNOWN,
        note,
        ev,
        [
            Missing(
                f"Prescriber statement that the member was treated with anakinra (not samples) in the past "
                f"{days} days and is at risk if therapy is changed",
                Need.ADMIN_DOC,
            )
        ],
    )


def age_rule(case: CaseFacts, policy: Policy, indication: str | None) -> ClauseResult:
    """initiation.1.c.ii: for an FDA-approved indication, the age within labeling (I) or the prescriber's support (II).

    COVID-19 (EUA): the authorization's adult age is checked the same way (readings.eua_age)."""
    cid, first_id, second_id = "initiation.1.c.ii", "initiation.1.c.ii.I", "initiation.1.c.ii.II"
    if indication is None:
        return leaf(cid, Outcome.UNKNOWN, "The indication is not established.")
    spec = policy.indication(indication)
    if not (spec.get("fda_labeled") or spec.get("eua")):
        return leaf(cid, Outcome.NOT_APPLICABLE, f"{spec['label']} is not an FDA-approved indication.")
    min_age = spec.get("min_age_years")
    basis = spec.get("age_basis", "FDA labeling")
    age = case.patient.age_years
    birth = case.patient.birth_date
    ev = (
        [
            Evidence(
                f"age {age} on {case.patient.as_of.isoformat()} (the order date)",
                case.patient.reference,
                str(age),
                birth.isoformat() if birth else None,
            )
        ]
        if age is not None
        else []
    )
    if min_age is None:  # met whatever the age: the evidence is the labeling's missing age limit (and the age)
        first = leaf(
            first_id,
            Outcome.MET,
            f"{spec['label']}: {basis}.",
            [Evidence(f"{spec['label']}: {basis}", None, "no minimum age"), *ev],
        )
    elif age is None:
        first = leaf(
            first_id,
            Outcome.UNKNOWN,
            "Date of birth unknown.",
            missing=[Missing("The member's date of birth", Need.INFO, "OTH")],
        )
    elif age >= min_age:
        first = leaf(first_id, Outcome.MET, f"Age {age}: within {basis}.", ev)
    else:
        first = leaf(first_id, Outcome.NOT_MET, f"Age {age}: below {min_age} years, outside {basis}.", ev)
    stated = case.order.prescriber_statement.get("age_support")
    if first.outcome is Outcome.MET:
        second = leaf(second_id, Outcome.NOT_APPLICABLE, "Not needed: age within labeling.")
    elif stated is not None:
        second = leaf(second_id, Outcome.MET, "The prescriber supports use at this age.", [statement_evidence(stated)])
    elif (no := denial(case, "age_support")) is not None:
        second = leaf(
            second_id, Outcome.NOT_MET, "The prescriber does not support use at this age.", [denial_evidence(no)]
        )
    else:
        second = leaf(
            second_id,
            Outcome.UNKNOWN,
            "No prescriber information supporting use at this age.",
            missing=[
                Missing(
                    f"Prescriber information supporting anakinra for {spec['label']} at age "
                    f"{age if age is not None else 'unknown'}",
                    Need.ADMIN_DOC,
                )
            ],
        )
    note = "EITHER I or II (FDA-approved indication)."
    if spec.get("eua") and not spec.get("fda_labeled"):
        note = "EITHER I or II. " + policy.reading("eua_age")
    return any_of(cid, (first, second), note)


def treatment_history(case: CaseFacts, policy: Policy, choice: IndicationChoice) -> ClauseResult:
    """initiation.1: ONE of a (recent anakinra), b (prescriber statement), c (Table 1 and age)."""
    a = recent_anakinra(case, policy)
    c = all_of("initiation.1.c", (table1(case, policy, choice), age_rule(case, policy, choice.key)), "BOTH i and ii.")
    b = prescriber_statement(case, policy)
    if b.outcome is not Outcome.MET and (a.outcome is Outcome.MET or c.outcome is Outcome.MET):
        b = leaf("initiation.1.b", Outcome.NOT_APPLICABLE, "Not needed: 1.a or 1.c is met.", b.evidence)
    elif (
        b.outcome is Outcome.UNKNOWN
        and c.outcome is Outcome.UNKNOWN
        and not b.evidence
        and not any(s.drug == "anakinra" for s in case.patient.medications)
    ):
        # Ask for the documentation of 1.c, not for a statement about anakinra use the chart never shows.
        b = leaf(
            "initiation.1.b",
            Outcome.UNKNOWN,
            b.note + " Not requested: no anakinra use is recorded, and the documentation for 1.c is requested instead.",
            b.evidence,
        )
    return one_of("initiation.1", (a, b, c), "ONE of a, b, c.")


@answered("specialist_consult")
def specialist(
    case: CaseFacts, policy: Policy, indication: str | None, clause_id: str = "initiation.2"
) -> ClauseResult:
    """initiation.2 / continuation.3: "The prescriber is a specialist in the area of the member's diagnosis (e.g.,
    rheumatologist for RA) or the prescriber has consulted with a specialist in the area of the member's diagnosis".

    MET cites only the records that establish it: the prescriber's PractitionerRole when its specialty matches,
    else the prescriber's statement of the consultation. When the consultation is what meets it, the prescriber's
    own (non-specialist) role is described in the note, not cited as supporting evidence: negating or removing
    it changes nothing. UNKNOWN cites what was looked at (the role, as context)."""
    p = case.patient.prescriber
    specialties = ", ".join(sorted(p.specialties)) or "none recorded"
    role = Evidence(
        "prescriber specialties: " + specialties, p.source, ", ".join(c.code for c in p.codes if c.code) or None
    )
    consult = case.order.prescriber_statement.get("specialist_consult")
    consult_ev = [statement_evidence(consult)] if consult is not None else []
    if indication is None:
        return leaf(
            clause_id,
            Outcome.UNKNOWN,
            "The indication (and so the specialty needed) is not established.",
            [role, *consult_ev],
            [Missing("The diagnosis for this order", Need.CLINICAL_DOC)],
        )
    wanted = set(policy.indication(indication).get("specialties", ()))
    label = policy.indication(indication)["label"]
    if p.specialties & wanted:
        return leaf(clause_id, Outcome.MET, f"Prescriber specialty matches {label}.", [role])
    if consult is not None:
        who = (
            f"the prescriber's own role ({p.source}) records {specialties}"
            if p.known
            else "no PractitionerRole was found for the prescriber"
        )
        return leaf(
            clause_id,
            Outcome.MET,
            f"The prescriber states a specialist consultation for {label} ({who}: "
            "not a specialty for this diagnosis, so the consultation is what meets "
            "this criterion).",
            consult_ev,
        )
    return leaf(
        clause_id,
        Outcome.UNKNOWN,
        f"The prescriber is not recorded as a specialist for {label}"
        + ("" if p.known else " (no PractitionerRole found for the prescriber)")
        + "; a consultation may apply.",
        [role],
        [
            Missing(
                f"Documentation that the prescriber is, or consulted, a specialist for {label} "
                f"({', '.join(sorted(wanted))})",
                Need.CLINICAL_DOC,
            )
        ],
    )


def contraindication(case: CaseFacts, policy: Policy) -> ClauseResult:
    """precautions.contraindication: known hypersensitivity to E. coli-derived proteins, anakinra or an inactive
    ingredient (coded or named allergens). An unconfirmed entry asks for clarification instead of denying."""
    cid = "precautions.contraindication"
    substances = set(policy.data["contraindication_substances"])
    relevant = [a for a in case.patient.allergies if a.substance in substances and a.active and not a.refuted]

    def ev(a: AllergyFact) -> Evidence:
        status = " (unconfirmed)" if a.unconfirmed else ""
        return Evidence(
            f"{a.kind} to {a.label}{status}" + (f": {', '.join(a.reactions)}" if a.reactions else ""),
            a.source,
            a.criticality,
        )

    confirmed = [a for a in relevant if not a.unconfirmed]
    if confirmed:
        return leaf(
            cid,
            Outcome.NOT_MET,
            "Known hypersensitivity to anakinra, an inactive ingredient or E. coli-derived proteins.",
            [ev(a) for a in relevant],
        )
    if relevant:
        return leaf(
            cid,
            Outcome.UNKNOWN,
            "An unconfirmed hypersensitivity to anakinra, an inactive ingredient or "
            "E. coli-derived proteins is recorded.",
            [ev(a) for a in relevant],
            [
                Missing(
                    "Clarification of the unconfirmed hypersensitivity entry (anakinra, inactive ingredients, "
                    "E. coli-derived proteins)",
                    Need.CLINICAL_DOC,
                )
            ],
        )
    if "allergies" in case.patient.unavailable:
        return leaf(
            cid,
            Outcome.UNKNOWN,
            "The allergy list could not be read.",
            missing=[Missing("The member's allergy list", Need.CLINICAL_DOC)],
        )
    return leaf(
        cid,
        Outcome.MET,
        "No hypersensitivity to anakinra, its inactive ingredients or E. coli-derived proteins recorded.",
        [
            records_read(
                "allergy list",
                len(case.patient.allergies),
                "none to anakinra, its inactive ingredients or E. coli-derived proteins",
            )
        ],
    )


def no_contraindication(case: CaseFacts, policy: Policy, clause_id: str = "initiation.3") -> ClauseResult:
    """initiation.3 / continuation.4: no FDA-labeled contraindication (precautions.contraindication)."""
    inner = contraindication(case, policy)
    return ClauseResult(clause_id, inner.outcome, inner.evidence, (), inner.note, "ALL", (inner,))
