"""initiation.4 / continuation.5 and precautions.tnf: no combination with other immunomodulators."""

from __future__ import annotations

from ...facts.model import CaseFacts, TherapySpan
from ..data_loader import Policy
from ..logic import leaf
from ..model import ClauseResult, Evidence, Missing, Need, Outcome
from .common import records_read, span_evidence


def conflicting(case: CaseFacts, policy: Policy) -> list[TherapySpan]:
    prohibited = set(policy.data["combination"]["prohibited_classes"])
    out = []
    seen: set[tuple[str, str]] = set()
    for span in tuple(case.other_drafts) + tuple(case.patient.medications):
        if span.drug == "anakinra" or not span.active:
            continue
        if span.classes & prohibited:
            key = (span.drug, span.source)
            if key not in seen:
                seen.add(key)
                out.append(span)
    return out


def evaluate(case: CaseFacts, policy: Policy, clause_id: str = "initiation.4") -> ClauseResult:
    found = conflicting(case, policy)
    labels = policy.data["combination"]["class_labels"]
    if found:
        names = sorted({f"{s.drug} ({', '.join(labels[c] for c in sorted(s.classes & set(labels)))})" for s in found})
        return leaf(clause_id, Outcome.NOT_MET, "Active use with " + "; ".join(names) + ".",
                    [span_evidence(s) for s in found])
    unreadable = _medications_unreadable(case, clause_id) or _medications_unidentified(case, clause_id)
    if unreadable is not None:
        return unreadable
    return leaf(clause_id, Outcome.MET, "No active biologic immunomodulator, JAK inhibitor, apremilast, "
                                        "deucravacitinib or S1P modulator in the medication list or draft orders.",
                [_medications_read(case, "none is an active biologic, JAK inhibitor, apremilast, deucravacitinib "
                                         "or S1P modulator")])


def evaluate_tnf(case: CaseFacts, policy: Policy) -> ClauseResult:
    found = [s for s in conflicting(case, policy) if "tnf" in s.classes]
    if found:
        return leaf("precautions.tnf", Outcome.NOT_MET, "Concomitant TNF antagonist therapy.",
                    [span_evidence(s) for s in found])
    unreadable = (_medications_unreadable(case, "precautions.tnf")
                  or _medications_unidentified(case, "precautions.tnf"))
    if unreadable is not None:
        return unreadable
    return leaf("precautions.tnf", Outcome.MET, "No active TNF antagonist.",
                [_medications_read(case, "none is an active TNF antagonist")])


def _medications_unreadable(case: CaseFacts, clause_id: str) -> ClauseResult | None:
    """UNKNOWN when the current medication lists could not be read: no conflict found is then no evidence."""
    if not {"medicationStatements", "medicationRequests"} & set(case.patient.unavailable):
        return None
    return leaf(clause_id, Outcome.UNKNOWN, "Current medications could not be read.",
                missing=[Missing("current medication list (to rule out other biologics, JAK inhibitors, "
                                 "apremilast, deucravacitinib, S1P modulators)", Need.CLINICAL_DOC)])


def _medications_unidentified(case: CaseFacts, clause_id: str) -> ClauseResult | None:
    """UNKNOWN when an active medication record names no medication the service can identify (no
    known code, no name): it could be the very drug the clause rules out, so none found proves nothing."""
    refs = case.patient.unidentified_medications
    if not refs:
        return None
    shown = ", ".join(refs[:5]) + (f" and {len(refs) - 5} more" if len(refs) > 5 else "")
    return leaf(clause_id, Outcome.UNKNOWN,
                f"{len(refs)} active medication record(s) name no medication that could be identified "
                "(no known code, no name): they could be a drug this clause rules out.",
                [Evidence("active medication record without an identifiable medication", ref) for ref in refs[:5]],
                [Missing(f"the medication (name, or RxNorm or NDC code) of {shown}", Need.INFO)])


def _medications_read(case: CaseFacts, finding: str):
    return records_read("medication history and other draft orders",
                        len(case.patient.medications) + len(case.other_drafts), finding)
