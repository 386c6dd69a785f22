"""The plan's approvals and a decision: what an approval on file vouches for, and what approving an order
does to its decision. Pure functions: the store's reads and writes are the caller's (`core.approvals_on_file`).

An approval vouches for the pathway's criteria as they were assessed (diagnosis, step therapy,
previous approval, response, specialist) for the indication it was given for, never for the
member's current state or the order in hand. So:
- the order must be for that same indication (a COVID-19 course approved for a week says nothing of
  rheumatoid arthritis), and an approval that names no indication vouches for none;
- every coverage group other than the pathway's criteria (site of care, dosage, precautions such as
  an active serious infection, the program) must be met or not applicable, and so must the
  order-level clauses within the criteria: contraindications, combinations, the dose and quantity.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Protocol

from .clauses.common import add_months
from .clauses.programs import duration
from .data_loader import Policy
from .findings import under_approval
from .model import Decision, Determination, Outcome

ORDER_CLAUSES = (
    "initiation.3",
    "initiation.4",
    "initiation.5",
    "continuation.4",
    "continuation.5",
    "continuation.6",
    "table1.covid-19.6",
)
_SETTLED = (Outcome.MET, Outcome.NOT_APPLICABLE)


def order_within_approval(decision: Decision, approved_indication: str | None) -> bool:
    """True when a current approval given for `approved_indication` can answer for this order
    (see the module doc)."""
    if approved_indication is None or approved_indication != decision.indication:
        return False
    for top in decision.coverage_tree():
        if top.clause_id != decision.pathway:
            if top.outcome not in _SETTLED:
                return False
            continue
        for cid in ORDER_CLAUSES:
            node = top.find(cid)
            if node is not None and node.outcome not in _SETTLED:
                return False
    return True


class ApprovalOnFile(Protocol):
    """What this module reads of one of the plan's approval records (the store's `Authorization`, a frozen
    dataclass: read-only)."""

    @property
    def pa_id(self) -> str: ...
    @property
    def indication(self) -> str | None: ...
    @property
    def start(self) -> date: ...
    @property
    def end(self) -> date: ...

    def covers(self, as_of: date) -> bool: ...


@dataclass(frozen=True)
class ApprovalToIssue:
    """An approval the caller is to record: its period (inclusive) and the decision to answer with once it is."""

    indication: str | None
    start: date
    end: date
    months: int
    decision: Decision


@dataclass(frozen=True)
class PlanApprovalResult:
    """`decision`: the answer when nothing is issued (or issuing fails); `satisfied_pa_id` / `expiry`: the approval
    on file that covers the order; `to_issue`: the approval to record, if any."""

    decision: Decision
    satisfied_pa_id: str | None = None
    expiry: date | None = None
    to_issue: ApprovalToIssue | None = None


def apply_plan_approvals(
    decision: Decision,
    approvals: Sequence[ApprovalOnFile],
    policy: Policy,
    *,
    as_of: date,
    at_order_sign: bool,
    unsolicited_determinations: bool,
    explain: bool = False,
) -> PlanApprovalResult:
    """The decision once the member's approvals on file (`approvals`, newest first or in any order) are applied.

    - not covered or indeterminate: unchanged (an approval never overrides an unmet or unknown clause);
    - a current approval (its period holds `as_of`) within which the order stays (`order_within_approval`):
      covered, `pa-needed` satisfied, the findings those of an order under approval;
    - otherwise a covered order at order-sign, with unsolicited determinations on, is to be approved for the
      duration the guideline gives (`initiation.duration` / `continuation.duration` in the policy data); an
      explanation (`explain`) records none but says what the call would have done;
    - anything else: unchanged.
    """
    if decision.determination in (Determination.NOT_COVERED, Determination.INDETERMINATE):
        return PlanApprovalResult(decision)
    current = next(
        (
            a
            for a in sorted(approvals, key=lambda a: a.start, reverse=True)
            if a.covers(as_of) and order_within_approval(decision, a.indication)
        ),
        None,
    )
    if current is not None:
        reasons = (
            *decision.reasons,
            f"A current plan approval ({current.pa_id}, {current.start.isoformat()} to {current.end.isoformat()}) "
            "covers this order.",
        )
        findings = under_approval(decision.findings, current.pa_id, current.start, current.end)
        return PlanApprovalResult(
            replace(
                decision,
                determination=Determination.COVERED,
                pa_needed="satisfied",
                existing_authorization=current.pa_id,
                reasons=reasons,
                findings=findings,
            ),
            current.pa_id,
            current.end,
        )
    if decision.determination is not Determination.COVERED or not at_order_sign or not unsolicited_determinations:
        return PlanApprovalResult(decision)
    _, months = duration(policy, decision.indication, decision.pathway)
    if months is None:  # no indication, no duration: nothing to approve
        return PlanApprovalResult(decision)
    end = add_months(as_of, months) - timedelta(days=1)
    if explain:
        # An explanation changes nothing, but says what the call it explains would have done.
        reasons = (
            *decision.reasons,
            f"At order-sign the service would record a plan approval for this order ({months} months, "
            f"{as_of.isoformat()} to {end.isoformat()}) and answer pa-needed satisfied; "
            "an explanation records none.",
        )
        return PlanApprovalResult(replace(decision, reasons=reasons))
    return PlanApprovalResult(
        decision,
        to_issue=ApprovalToIssue(decision.indication, as_of, end, months, replace(decision, pa_needed="satisfied")),
    )


__all__ = [
    "ORDER_CLAUSES",
    "ApprovalOnFile",
    "ApprovalToIssue",
    "PlanApprovalResult",
    "apply_plan_approvals",
    "order_within_approval",
]
