"""Initiation criteria 1 to 3 (4 and 5 live in combination.py and dose.py)."""

from __future__ import annotations

from datetime import timedelta

from ...facts.model import CaseFacts, Diagnosis
from ..data_loader import Policy
from ..logic import all_of, any_of, leaf, one_of
from ..model import ClauseResult, Evidence, Missing, Need, Outcome
from .common import span_evidence
from .indication import table1


def recent_anakinra(case: CaseFacts, policy: Policy) -> ClauseResult:
    cid = "initiation.1.a"
    days = policy.limit("recent_anakinra_days")
    since = case.patient.as_of - timedelta(days=days)
    spans = [s for s in case.patient.medications if s.drug == "anakinra"]
    counted = [s for s in spans if s.kind in ("dispense", "administration") and not s.is_sample
               and ((s.end or s.start) is not None and (s.end or s.start) >= since)]
    samples = [s for s in spans if s.is_sample]
    if counted:
        return leaf(cid, Outcome.MET, f"Anakinra dispensed or administered within the past {days} days.",
                    [span_evidence(s) for s in counted])
    other = [span_evidence(s, "not a dispense or administration record" if not s.is_sample else "samples do not count")
             for s in spans]
    if {"medicationDispenses", "medicationAdministrations"} & set(case.patient.unavailable):
        return leaf(cid, Outcome.UNKNOWN, "Dispensing and administration history could not be read.", other,
                    [Missing(f"Anakinra dispensing history for the past {days} days", Need.CLINICAL_DOC)])
    note = f"No anakinra dispensed or administered within the past {days} days"
    if samples:
        note += " (samples do not count)"
    return leaf(cid, Outcome.NOT_MET, note + ".", other)


def prescriber_statement(case: CaseFacts, policy: Policy) -> ClauseResult:
    days = policy.limit("recent_anakinra_days")
    return leaf("initiation.1.b", Outcome.UNKNOWN,
                f"No prescriber statement of anakinra treatment in the past {days} days with risk if therapy changes.",
                missing=[Missing(f"Prescriber statement that the member was treated with anakinra (not samples) in the past "
                                 f"{days} days and is at risk if therapy is changed", Need.ADMIN_DOC)])


def age_rule(case: CaseFacts, policy: Policy, indication: str | None) -> ClauseResult:
    cid = "initiation.1.c.ii"
    if indication is None:
        return leaf(cid, Outcome.UNKNOWN, "The indication is not established.")
    spec = policy.indication(indication)
    if not spec.get("fda_labeled"):
        return leaf(cid, Outcome.NOT_APPLICABLE, f"{spec['label']} is not an FDA-approved indication.")
    min_age = spec.get("min_age_years")
    age = case.patient.age_years
    birth = case.patient.birth_date
    ev = [Evidence(f"age {age} at {case.patient.as_of.isoformat()}", case.patient.reference,
                   str(age), birth.isoformat() if birth else None)] if age is not None else []
    if min_age is None:
        first = leaf(cid + ".I", Outcome.MET, f"FDA labeling for {spec['label']} has no age limit.", ev)
    elif age is None:
        first = leaf(cid + ".I", Outcome.UNKNOWN, "Date of birth unknown.", missing=[
            Missing("The member's date of birth", Need.INFO, "OTH")])
    elif age >= min_age:
        first = leaf(cid + ".I", Outcome.MET, f"Age {age} is within FDA labeling ({min_age} or older).", ev)
    else:
        first = leaf(cid + ".I", Outcome.NOT_MET, f"Age {age} is below the FDA-labeled {min_age} years.", ev)
    if first.outcome is Outcome.MET:
        second = leaf(cid + ".II", Outcome.NOT_APPLICABLE, "Not needed: age within labeling.")
    else:
        second = leaf(cid + ".II", Outcome.UNKNOWN, "No prescriber information supporting use at this age.",
                      missing=[Missing(f"Prescriber information supporting anakinra for {spec['label']} at age "
                                       f"{age if age is not None else 'unknown'}", Need.ADMIN_DOC)])
    return any_of(cid, (first, second), "EITHER I or II (FDA-approved indication).")


def treatment_history(case: CaseFacts, policy: Policy, indication: str | None,
                      diagnoses: list[Diagnosis]) -> ClauseResult:
    a = recent_anakinra(case, policy)
    c = all_of("initiation.1.c", (table1(case, policy, indication, diagnoses), age_rule(case, policy, indication)),
               "BOTH i and ii.")
    b = prescriber_statement(case, policy)
    if a.outcome is Outcome.MET or c.outcome is Outcome.MET:
        b = leaf("initiation.1.b", Outcome.NOT_APPLICABLE, "Not needed: 1.a or 1.c is met.")
    return one_of("initiation.1", (a, b, c), "ONE of a, b, c.")


def specialist(case: CaseFacts, policy: Policy, indication: str | None, clause_id: str = "initiation.2") -> ClauseResult:
    p = case.patient.prescriber
    ev = [Evidence("prescriber specialties: " + (", ".join(sorted(p.specialties)) or "none recorded"), p.source)]
    if indication is None:
        return leaf(clause_id, Outcome.UNKNOWN, "The indication (and so the specialty needed) is not established.", ev,
                    [Missing("The diagnosis for this order", Need.CLINICAL_DOC)])
    wanted = set(policy.indication(indication).get("specialties", ()))
    label = policy.indication(indication)["label"]
    if p.specialties & wanted:
        return leaf(clause_id, Outcome.MET, f"Prescriber specialty matches {label}.", ev)
    return leaf(clause_id, Outcome.UNKNOWN,
                f"The prescriber is not recorded as a specialist for {label}"
                + ("" if p.known else " (no PractitionerRole found for the prescriber)") + "; a consultation may apply.",
                ev, [Missing(f"Documentation that the prescriber is, or consulted, a specialist for {label} "
                             f"({', '.join(sorted(wanted))})", Need.CLINICAL_DOC)])


def contraindication(case: CaseFacts, policy: Policy) -> ClauseResult:
    hits = [a for a in case.patient.allergies
            if a.substance in ("anakinra", "ecoli-protein") and a.active and not a.refuted]
    if hits:
        return leaf("precautions.contraindication", Outcome.NOT_MET,
                    "Known hypersensitivity to anakinra or E. coli-derived proteins.",
                    [Evidence(f"{a.kind}: {a.label}" + (f" ({', '.join(a.reactions)})" if a.reactions else ""), a.source,
                              a.criticality) for a in hits])
    if "allergies" in case.patient.unavailable:
        return leaf("precautions.contraindication", Outcome.UNKNOWN, "The allergy list could not be read.",
                    missing=[Missing("The member's allergy list", Need.CLINICAL_DOC)])
    return leaf("precautions.contraindication", Outcome.MET,
                "No hypersensitivity to anakinra, its inactive ingredients or E. coli-derived proteins recorded.")


def no_contraindication(case: CaseFacts, policy: Policy, clause_id: str = "initiation.3") -> ClauseResult:
    inner = contraindication(case, policy)
    return ClauseResult(clause_id, inner.outcome, inner.evidence, (), inner.note, "ALL", (inner,))
