"""Between the hook path and the store: audit rows, feedback, and the plan's authorizations.

The store may be down: then the answer is still given (without issuing an approval), the
failure is logged, and /health reports the degraded state. An approval is stored first and
only then answered (`issue_authorization` commits before returning).
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone

from ..facts.model import PriorAuthorization
from ..policy.approvals import order_within_approval
from ..policy.clauses.common import add_months
from ..policy.data_loader import load_policy
from ..policy.findings import under_approval
from ..policy.model import Decision, Determination, Outcome
from ..store import AuditEntry, StoreUnavailable

log = logging.getLogger(__name__)
DRUG = "anakinra"

_OUTCOME_TEXT = {o: o.value for o in Outcome}     # (an Enum's .value is a descriptor call; ~125 per order)


def record_call(runtime, service_id, req, result, status: int, started: float, explain: bool) -> None:
    determinations, clauses, assertion_ids, card_uuids = [], [], [], []
    if result is not None:
        for oc in result.outcomes:
            d = oc.decision
            determinations.append({
                "order": f"MedicationRequest/{d.order_id}", "determination": d.determination.value,
                "pathway": d.pathway, **({"indication": d.indication} if d.indication else {}),
                **({"paNeeded": "satisfied" if oc.satisfied_pa_id else d.pa_needed} if d.pa_needed or oc.satisfied_pa_id else {}),
                **({"satisfiedPaId": oc.satisfied_pa_id} if oc.satisfied_pa_id else {}),
            })
            clauses.append({"order": f"MedicationRequest/{d.order_id}",
                            "clauses": {n.clause_id: _OUTCOME_TEXT.get(n.outcome, n.outcome)
                                        for t in d.tree for n in t.walk()}})
            assertion_ids.append(oc.assertion_id)
            card_uuids.extend(c["uuid"] for c in oc.cards if "uuid" in c)
        card_uuids.extend(c["uuid"] for c in result.body.get("cards", []) if "uuid" in c and c["uuid"] not in card_uuids)
    policy = load_policy()
    try:
        entry = AuditEntry(
            service_id=service_id, hook_instance=req.hook_instance, called_at=datetime.now(timezone.utc),
            http_status=status, latency_ms=(time.perf_counter() - started) * 1000, kind="explain" if explain else "hook",
            patient_hash=runtime.store.patient_hash(req.patient_id), policy_id=policy.id, policy_revision=policy.revision,
            determinations=determinations, clause_outcomes=clauses, coverage_assertion_ids=assertion_ids,
            card_uuids=card_uuids,
        )
        runtime.store.record_call(entry)
    except StoreUnavailable as exc:
        if runtime.spool is not None and runtime.spool.append(entry, runtime.store):
            log.warning("audit row spooled locally (database unavailable): %s", exc)
        else:
            log.error("audit row not stored (database unavailable, spool unavailable): %s", exc)
    except (ValueError, TypeError) as exc:     # an entry the store refuses: log it, still answer
        log.error("audit row not stored (refused by the store): %s", type(exc).__name__)
    else:
        if runtime.spool is not None:
            runtime.spool.notice_orphans(runtime.store)


def record_feedback(runtime, service_id: str, items: list[dict]) -> int | None:
    try:
        return runtime.store.record_feedback(service_id, items)
    except StoreUnavailable as exc:
        log.error("feedback not stored (database unavailable): %s", exc)
        return None


class PlanAuthorizations:
    """The plan's authorization records for one hook call (from the store)."""

    def __init__(self, runtime, req):
        self.store = runtime.store
        self.req = req
        self.unsolicited = req.crd_configuration.get("unsolicited-determ", True) is not False
        self._records: dict[str, list] = {}     # member_ref -> the store's records (one read per member)

    def _read(self, member: str) -> list:
        if member not in self._records:
            self._records[member] = self.store.previous_authorizations(member, DRUG)
        return self._records[member]

    def previous(self, case) -> tuple[PriorAuthorization, ...]:
        """The member's anakinra approvals, as facts for continuation.1."""
        member = case.patient.coverage.member_ref
        if member is None:
            return ()
        try:
            found = self._read(member)
        except (StoreUnavailable, ValueError) as exc:
            log.error("authorizations not readable: %s", exc)
            return ()
        return tuple(PriorAuthorization(source=f"plan-authorization/{a.pa_id}", drug=a.drug, status=a.status,
                                        start=a.start, end=a.end, pa_id=a.pa_id, indication=a.indication)
                     for a in found)

    def apply(self, case, decision: Decision, issue: bool = True, assertion_id: str | None = None):
        """Report a current plan approval as satisfied, or issue one when every clause is met at
        order-sign (unless the client turned unsolicited determinations off, or `issue` is False:
        an explanation reports what is on file and changes nothing). Returns
        (decision, satisfied_pa_id, expiry)."""
        member = case.patient.coverage.member_ref
        if member is None or decision.determination in (Determination.NOT_COVERED, Determination.INDETERMINATE):
            return decision, None, None
        as_of: date = case.patient.as_of
        try:
            current = next((a for a in sorted(self._read(member), key=lambda a: a.start, reverse=True)
                            if a.covers(as_of) and order_within_approval(decision, a.indication)), None)
        except (StoreUnavailable, ValueError) as exc:
            log.error("authorizations not readable: %s", exc)
            return decision, None, None
        if current is not None:
            reasons = decision.reasons + (
                f"A current plan approval ({current.pa_id}, {current.start.isoformat()} to {current.end.isoformat()}) "
                "covers this order.",)
            findings = under_approval(decision.findings, current.pa_id, current.start, current.end)
            return (replace(decision, determination=Determination.COVERED, pa_needed="satisfied",
                            existing_authorization=current.pa_id, reasons=reasons, findings=findings),
                    current.pa_id, current.end)
        if decision.determination is not Determination.COVERED or self.req.hook != "order-sign" or not self.unsolicited:
            return decision, None, None
        months = decision.approval_months or 12
        end = add_months(as_of, months) - timedelta(days=1)
        if not issue:
            # An explanation changes nothing, but says what the call it explains would have done.
            reasons = decision.reasons + (
                f"At order-sign the service would record a plan approval for this order ({months} months, "
                f"{as_of.isoformat()} to {end.isoformat()}) and answer pa-needed satisfied; "
                "an explanation records none.",)
            return replace(decision, reasons=reasons), None, None
        try:
            issued = self.store.issue_authorization(
                member, DRUG, decision.indication, as_of, end, assertion_id)
        except (StoreUnavailable, ValueError) as exc:
            log.error("approval not issued: %s", exc)
            return decision, None, None
        self._records.setdefault(member, []).append(issued)
        return replace(decision, pa_needed="satisfied"), issued.pa_id, issued.end
