"""Evaluate one anakinra order against the guideline: the clause tree, the determination, the findings."""

from __future__ import annotations

from ..facts.model import CaseFacts
from .clauses import combination, dose, initiation, site_of_care
from .clauses.indication import choose_indication
from .data_loader import Policy, load_policy
from .findings import findings_for
from .logic import all_of, leaf
from .model import ClauseResult, Decision, Determination, Outcome

# Clauses whose NOT_MET makes the order not covered outright (no documentation can fix them).
HARD_EXCLUSIONS = ("position.site-of-care", "initiation.3", "initiation.4")


def initiation_tree(case: CaseFacts, policy: Policy, indication: str | None, diagnoses) -> ClauseResult:
    return all_of("initiation", (
        initiation.treatment_history(case, policy, indication, diagnoses),
        initiation.specialist(case, policy, indication),
        initiation.no_contraindication(case, policy),
        combination.evaluate(case, policy, "initiation.4"),
        dose.dose_route(case, policy, indication),
    ), "ALL of 1 to 5.")


def evaluate(case: CaseFacts, policy: Policy | None = None) -> Decision:
    policy = policy or load_policy()
    indication, diagnoses = choose_indication(case, policy)
    site = site_of_care.evaluate(case, policy, indication)
    pathway = "initiation"
    criteria = initiation_tree(case, policy, indication, diagnoses)
    dosing = all_of("dosage", (dose.weight_based(case, policy, indication),), "Dosage within labeling.")
    precautions = all_of("precautions", (
        combination.evaluate_tnf(case, policy),
    ), "Precautions that bear on coverage.")
    advisories = all_of("advisories", (dose.ra_dose(case, policy, indication),), "Reminders (do not affect coverage).")
    tree = (site, criteria, dosing, precautions, advisories)

    program_key = case.patient.coverage.program
    program = policy.data["programs"].get(program_key or "", None)
    reasons: list[str] = []

    def not_met(cid: str) -> bool:
        for top in tree:
            node = top.find(cid)
            if node is not None:
                return node.outcome is Outcome.NOT_MET
        return False

    if not case.patient.coverage.present:
        if "coverage" in case.patient.unavailable:
            determination = Determination.INDETERMINATE
            reasons.append("The member's coverage could not be read from the EHR.")
        else:
            determination = Determination.NOT_COVERED
            reasons.append("No active coverage for this member was found.")
    elif any(not_met(cid) for cid in HARD_EXCLUSIONS):
        determination = Determination.NOT_COVERED
        for cid in HARD_EXCLUSIONS:
            if not_met(cid):
                node = next(t.find(cid) for t in tree if t.find(cid) is not None)
                reasons.append(f"{cid}: {node.note}")
    elif all(t.outcome in (Outcome.MET, Outcome.NOT_APPLICABLE) for t in (site, criteria, dosing, precautions)):
        determination = Determination.COVERED
    else:
        determination = Determination.CONDITIONAL
    if program is not None and not program.get("decides", True) and determination is Determination.COVERED:
        # This guideline does not decide for the program: never answer covered.
        determination = Determination.CONDITIONAL
    if program is not None and not program.get("decides", True):
        reasons.append(f"{program['label']}: {program['process']}")

    approval_months = None
    if indication is not None:
        approval_months = policy.limit("approval_months_short") if policy.indication(indication).get(
            "approval") == "short" else policy.limit("approval_months")
    if determination is Determination.COVERED:
        pa_needed = "auth-needed"
    elif determination is Determination.NOT_COVERED:
        pa_needed = None
    elif determination is Determination.INDETERMINATE:
        pa_needed = "indeterminate"
    else:
        pa_needed = "auth-needed"
    decision = Decision(
        order_id=case.order.id, order_label=case.order.label, determination=determination, pa_needed=pa_needed,
        tree=tree, findings=(), policy_id=policy.id, policy_revision=policy.revision, pathway=pathway,
        indication=indication, reasons=tuple(reasons), program=program_key, approval_months=approval_months,
        as_of=case.patient.as_of,
    )
    return _with_findings(decision, case, policy)


def _with_findings(decision: Decision, case: CaseFacts, policy: Policy) -> Decision:
    from dataclasses import replace
    return replace(decision, findings=tuple(findings_for(decision, case, policy)))


__all__ = ["evaluate", "HARD_EXCLUSIONS", "leaf"]
