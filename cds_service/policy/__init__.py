"""The coverage guideline as code: data (`data/`, loaded by `data_loader`), one evaluator per clause
(`clauses/`), and the decision for one order. Reads only facts (`cds_service.facts`), never FHIR or the store.

- `evaluate(case, policy=None, plan_authorizations=(), *, alternative_pathway=True, record_unread=None)`
  -> `Decision`: the clause tree, the determination and the findings (`engine`); `when_record_unread`: the
  decision when the record could not be read in full (indeterminate).
- `apply_plan_approvals(decision, approvals, policy, *, as_of, ...)` -> `PlanApprovalResult`: the decision under
  the member's approvals on file, and the approval to issue (`plan_approvals`); `order_within_approval`.
- `load_policy()` -> `Policy` (id, revision, limits, texts ...), `PolicyDataError` (`data_loader`).
- `Decision`, `Determination`, `Finding`, `Outcome`, `ClauseResult`, `Evidence`, `Need` (`model`).
"""

from .data_loader import Policy, PolicyDataError, load_policy
from .engine import evaluate, when_record_unread
from .model import ClauseResult, Decision, Determination, Evidence, Finding, Need, Outcome
from .plan_approvals import (
    ApprovalOnFile,
    ApprovalToIssue,
    PlanApprovalResult,
    apply_plan_approvals,
    order_within_approval,
)

__all__ = [
    "ApprovalOnFile",
    "ApprovalToIssue",
    "ClauseResult",
    "Decision",
    "Determination",
    "Evidence",
    "Finding",
    "Need",
    "Outcome",
    "PlanApprovalResult",
    "Policy",
    "PolicyDataError",
    "apply_plan_approvals",
    "evaluate",
    "load_policy",
    "order_within_approval",
    "when_record_unread",
]
