"""The plan's approvals in the store, for one hook call: read once per member, applied to each decision by the
policy layer (`policy.plan_approvals.apply_plan_approvals`), and issued when it says so.

Only the database calls are here. The store may be down: then the answer is still given (without an approval on
file, and without issuing one) and the failure is logged. An approval is stored first and only then answered
(`Store.issue_authorization` commits before returning).
"""

from __future__ import annotations

import logging
from datetime import date

from ..facts.model import CaseFacts, PriorAuthorization
from ..policy.data_loader import load_policy
from ..policy.model import Decision
from ..policy.plan_approvals import apply_plan_approvals
from ..protocol.request import HookRequest
from ..store import Authorization, Store, StoreUnavailable

log = logging.getLogger(__name__)
DRUG = "anakinra"


class PlanAuthorizations:
    """The plan's authorization records for one hook call (from the store)."""

    def __init__(self, store: Store, req: HookRequest):
        self.store = store
        self.req = req
        self.unsolicited = req.crd_configuration.get("unsolicited-determ", True) is not False
        self._records: dict[str, list[Authorization]] = {}  # member_ref -> the store's records (one read each)

    def _read(self, member: str) -> list[Authorization]:
        if member not in self._records:
            self._records[member] = self.store.previous_authorizations(member, DRUG)
        return self._records[member]

    def previous(self, case: CaseFacts) -> tuple[PriorAuthorization, ...]:
        """The member's anakinra approvals, as facts for continuation.1."""
        member = case.patient.coverage.member_ref
        if member is None:
            return ()
        try:
            found = self._read(member)
        except (StoreUnavailable, ValueError) as exc:
            log.error("authorizations not readable: %s", exc)
            return ()
        return tuple(
            PriorAuthorization(
                source=f"plan-authorization/{a.pa_id}",
                drug=a.drug,
                status=a.status,
                start=a.start,
                end=a.end,
                pa_id=a.pa_id,
                indication=a.indication,
            )
            for a in found
        )

    def apply(
        self, case: CaseFacts, decision: Decision, issue: bool = True, assertion_id: str | None = None
    ) -> tuple[Decision, str | None, date | None]:
        """The decision after the member's approvals on file (see `apply_plan_approvals`), issuing the approval
        it calls for unless `issue` is False (an explanation reports what is on file and changes nothing).
        Returns (decision, satisfied_pa_id, expiry)."""
        member = case.patient.coverage.member_ref
        if member is None:  # no member id: no approval to read or to issue
            return decision, None, None
        try:
            on_file = self._read(member)
        except (StoreUnavailable, ValueError) as exc:
            log.error("authorizations not readable: %s", exc)
            return decision, None, None
        result = apply_plan_approvals(
            decision,
            on_file,
            load_policy(),
            as_of=case.patient.as_of,
            at_order_sign=self.req.hook == "order-sign",
            unsolicited_determinations=self.unsolicited,
            explain=not issue,
        )
        if result.to_issue is None:
            return result.decision, result.satisfied_pa_id, result.expiry
        approval = result.to_issue
        try:
            issued = self.store.issue_authorization(
                member, DRUG, approval.indication, approval.start, approval.end, assertion_id
            )
        except (StoreUnavailable, ValueError) as exc:
            log.error("approval not issued: %s", exc)
            return result.decision, None, None
        self._records.setdefault(member, []).append(issued)
        return approval.decision, issued.pa_id, issued.end


__all__ = ["DRUG", "PlanAuthorizations"]
