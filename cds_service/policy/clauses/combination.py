"""initiation.4 / continuation.5 and precautions.tnf: no combination with other immunomodulators.

Guideline 09-J0000-45, initiation 4 (and continuation 5): "Member will NOT be using anakinra in combination
with another biologic immunomodulator agent (full list in "Other" section); Janus kinase (JAK) inhibitor
[Cibinquo (abrocitinib), Leqselvi (deuruxolitinib), Litfulo (ritlecitinib), Olumiant (baricitinib), Opzelura
(ruxolitinib), ..., Rinvoq/Rinvoq LQ (upadacitinib), and Xeljanz/Xeljanz XR (tofacitinib)]; Otezla/Otezla XR
(apremilast); Sotyktu (deucravacitinib); or sphingosine-1-phosphate (S1P) modulator [Velsipity (etrasimod) and
Zeposia (ozanimod)]". Precautions: "do not use in combination with TNF-antagonist therapy".

- "will NOT be using": current use (active, on-hold) and planned use (a statement `intended`, a plan) count.
- A record whose current use is in doubt (an active order that can no longer be filled, or a later record
  saying the drug was stopped) is not a conflict found: the clause is UNKNOWN and asks to confirm.
- Every list the clause reads (statements, orders, dispenses, administrations) must have been read in full:
  one that was not (failed, refused, cut short, over the time budget) makes the clause UNKNOWN, naming it.
"""

from __future__ import annotations

from collections.abc import Iterable

from ...facts.model import CaseFacts, TherapySpan
from ..data_loader import Policy
from ..logic import leaf
from ..model import ClauseResult, Evidence, Missing, Need, Outcome
from .common import records_read, span_evidence

#: The data needs (prefetch keys) the combination clauses read, and how an answer names them.
MEDICATION_LISTS = {
    "medicationStatements": "medication statements (MedicationStatement)",
    "medicationRequests": "medication orders (MedicationRequest)",
    "medicationDispenses": "dispensing records (MedicationDispense)",
    "medicationAdministrations": "administration records (MedicationAdministration)",
}


def _candidates(case: CaseFacts, policy: Policy, classes: set[str] | None = None) -> list[TherapySpan]:
    """Prohibited drugs in current or planned use: other draft orders, active records, planned records."""
    prohibited = set(policy.data["combination"]["prohibited_classes"]) if classes is None else classes
    out = []
    seen: set[tuple[str, str]] = set()
    current = tuple(case.other_drafts) + tuple(s for s in case.patient.medications if s.active)
    for span in current + tuple(case.patient.planned_medications):
        if span.drug == "anakinra" or not span.classes & prohibited:
            continue
        key = (span.drug, span.source)
        if key not in seen:
            seen.add(key)
            out.append(span)
    return out


def conflicting(case: CaseFacts, policy: Policy) -> list[TherapySpan]:
    """Prohibited drugs the member uses or will use, on records that leave no doubt about it."""
    return [s for s in _candidates(case, policy) if not s.doubt]


def in_doubt(case: CaseFacts, policy: Policy, classes: set[str] | None = None) -> list[TherapySpan]:
    """Prohibited drugs whose current use the records leave in doubt (and that no clear record shows)."""
    spans = _candidates(case, policy, classes)
    clear = {s.drug for s in spans if not s.doubt}
    return [s for s in spans if s.doubt and s.drug not in clear]


def _planned(span: TherapySpan, case: CaseFacts) -> bool:
    return span.kind != "draft" and any(p is span for p in case.patient.planned_medications)


def _evidence(span: TherapySpan, case: CaseFacts) -> Evidence:
    if _planned(span, case):
        extra = f"planned use ({span.status or 'status not given'}" + (
            f", from {span.start.isoformat()})" if span.start else ")"
        )
    elif span.doubt:
        extra = f"in doubt: {span.doubt}"
    else:
        extra = ""
    return span_evidence(span, extra)


def _class_reading(spans: list[TherapySpan], policy: Policy) -> str:
    """The reading applied when a drug the guideline's brackets do not name counts by its class."""
    named = set(policy.data["combination"]["named_drugs"])
    out = ""
    for cls, key in (("jak", "jak_inhibitor_class"), ("s1p", "s1p_modulator_class")):
        if any(cls in s.classes and s.drug not in named for s in spans):
            out += " How the guideline was read: " + policy.reading(key)
    return out


def _names(spans: list[TherapySpan], labels: dict[str, str]) -> str:
    return "; ".join(
        sorted({f"{s.drug} ({', '.join(labels[c] for c in sorted(s.classes & set(labels)))})" for s in spans})
    )


def evaluate(case: CaseFacts, policy: Policy, clause_id: str = "initiation.4") -> ClauseResult:
    found = conflicting(case, policy)
    labels = policy.data["combination"]["class_labels"]
    if found:
        planned = all(_planned(s, case) for s in found)
        return leaf(
            clause_id,
            Outcome.NOT_MET,
            ("Planned use with " if planned else "Active use with ")
            + _names(found, labels)
            + "."
            + _class_reading(found, policy),
            [_evidence(s, case) for s in found],
        )
    unknown = _unknown(case, clause_id, in_doubt(case, policy), labels, policy)
    if unknown is not None:
        return unknown
    return leaf(
        clause_id,
        Outcome.MET,
        "No active or planned biologic immunomodulator, JAK inhibitor, apremilast, "
        "deucravacitinib or S1P modulator in the medication records or draft orders.",
        [
            _medications_read(
                case,
                "none is an active or planned biologic, JAK inhibitor, apremilast, deucravacitinib or S1P modulator",
            )
        ],
    )


def evaluate_tnf(case: CaseFacts, policy: Policy) -> ClauseResult:
    found = [s for s in conflicting(case, policy) if "tnf" in s.classes]
    if found:
        return leaf(
            "precautions.tnf",
            Outcome.NOT_MET,
            "Concomitant TNF antagonist therapy.",
            [_evidence(s, case) for s in found],
        )
    labels = policy.data["combination"]["class_labels"]
    unknown = _unknown(case, "precautions.tnf", in_doubt(case, policy, {"tnf"}), labels, policy)
    if unknown is not None:
        return unknown
    return leaf(
        "precautions.tnf",
        Outcome.MET,
        "No active or planned TNF antagonist.",
        [_medications_read(case, "none is an active or planned TNF antagonist")],
    )


def unread_lists(case: CaseFacts, keys: Iterable[str] = tuple(MEDICATION_LISTS)) -> list[str]:
    """The names of the medication lists among `keys` that could not be read in full for this call."""
    return [MEDICATION_LISTS[k] for k in keys if k in case.patient.unavailable]


def _unknown(
    case: CaseFacts, clause_id: str, doubtful: list[TherapySpan], labels: dict[str, str], policy: Policy
) -> ClauseResult | None:
    """UNKNOWN, with every reason at once, when no conflict was found but none found proves nothing: a list
    the clause reads was not read in full, an active record names no identifiable medication, or records
    conflict about the current use of a drug the clause rules out."""
    notes: list[str] = []
    evidence: list[Evidence] = []
    missing: list[Missing] = []
    unread = unread_lists(case)
    if unread:
        notes.append(
            "These medication lists could not be read from the EHR (failed, refused, cut short or over "
            "the time budget): " + ", ".join(unread) + "; a drug this clause rules out may be in them."
        )
        missing.append(
            Missing(
                "The member's current medication list (the EHR's "
                + " and ".join(unread)
                + " could not be read), to rule out other biologics, JAK inhibitors, apremilast, "
                "deucravacitinib and S1P modulators",
                Need.CLINICAL_DOC,
            )
        )
    refs = case.patient.unidentified_medications
    if refs:
        shown = ", ".join(refs[:5]) + (f" and {len(refs) - 5} more" if len(refs) > 5 else "")
        notes.append(
            f"{len(refs)} active medication record(s) name no medication that could be identified "
            "(no known code, no name): they could be a drug this clause rules out."
        )
        evidence.extend(
            Evidence("active medication record without an identifiable medication", ref) for ref in refs[:5]
        )
        missing.append(Missing(f"the medication (name, or RxNorm or NDC code) of {shown}", Need.INFO))
    if doubtful:
        names = _names(doubtful, labels)
        notes.append(
            f"The records conflict about current use of {names}: confirm whether the member still uses it. "
            "How the guideline was read: " + policy.reading("conflicting_records")
        )
        evidence.extend(_evidence(s, case) for s in doubtful)
        missing.append(
            Missing(
                f"Confirmation whether the member still uses {names} (the records conflict: "
                + "; ".join(f"{s.source}: {s.doubt}" for s in doubtful[:5])
                + ")",
                Need.CLINICAL_DOC,
            )
        )
    if not notes:
        return None
    return leaf(clause_id, Outcome.UNKNOWN, " ".join(notes), evidence, missing)


def _medications_read(case: CaseFacts, finding: str) -> Evidence:
    return records_read(
        "medication history, planned medications and other draft orders",
        len(case.patient.medications) + len(case.patient.planned_medications) + len(case.other_drafts),
        finding,
    )
