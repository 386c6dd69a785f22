"""What the store keeps of each call: the audit row of a hook or explain call, and CDS Hooks feedback.

The store may be down: the answer is still given, the audit row waits in the local spool (when there is one)
and the failure is logged.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import Any

from ..policy.data_loader import load_policy
from ..policy.model import Outcome
from ..protocol.request import HookRequest
from ..store import AuditEntry, Store, StoreUnavailable
from ..store.spool import AuditSpool
from .hook_call import CallResult

log = logging.getLogger(__name__)

_OUTCOME_TEXT = {o: o.value for o in Outcome}  # (an Enum's .value is a descriptor call; ~125 per order)


def record_call(
    store: Store,
    spool: AuditSpool | None,
    service_id: str,
    req: HookRequest,
    result: CallResult | None,
    status: int,
    started: float,
    explain: bool,
) -> None:
    determinations: list[dict[str, Any]] = []
    clauses: list[dict[str, Any]] = []
    assertion_ids: list[str] = []
    card_uuids: list[str] = []
    if result is not None:
        for oc in result.outcomes:
            d = oc.decision
            determinations.append(
                {
                    "order": f"MedicationRequest/{d.order_id}",
                    "determination": d.determination.value,
                    "pathway": d.pathway,
                    **({"indication": d.indication} if d.indication else {}),
                    **(
                        {"paNeeded": "satisfied" if oc.satisfied_pa_id else d.pa_needed}
                        if d.pa_needed or oc.satisfied_pa_id
                        else {}
                    ),
                    **({"satisfiedPaId": oc.satisfied_pa_id} if oc.satisfied_pa_id else {}),
                }
            )
            clauses.append(
                {
                    "order": f"MedicationRequest/{d.order_id}",
                    "clauses": {n.clause_id: _OUTCOME_TEXT.get(n.outcome, n.outcome) for t in d.tree for n in t.walk()},
                }
            )
            assertion_ids.append(oc.assertion_id)
            card_uuids.extend(c["uuid"] for c in oc.cards if "uuid" in c)
        card_uuids.extend(
            c["uuid"] for c in result.body.get("cards", []) if "uuid" in c and c["uuid"] not in card_uuids
        )
    policy = load_policy()
    try:
        entry = AuditEntry(
            service_id=service_id,
            hook_instance=req.hook_instance,
            called_at=datetime.now(UTC),
            http_status=status,
            latency_ms=(time.perf_counter() - started) * 1000,
            kind="explain" if explain else "hook",
            patient_hash=store.patient_hash(req.patient_id),
            policy_id=policy.id,
            policy_revision=policy.revision,
            determinations=determinations,
            clause_outcomes=clauses,
            coverage_assertion_ids=assertion_ids,
            card_uuids=card_uuids,
        )
    except (ValueError, TypeError) as exc:  # an entry the store refuses: log it, still answer
        log.error("audit row not stored (refused by the store): %s", type(exc).__name__)
        return
    try:
        store.record_call(entry)
    except StoreUnavailable as exc:
        if spool is not None and spool.append(entry, store):
            log.warning("audit row spooled locally (database unavailable): %s", exc)
        else:
            log.error("audit row not stored (database unavailable, spool unavailable): %s", exc)
    except (ValueError, TypeError) as exc:  # an entry the store refuses: log it, still answer
        log.error("audit row not stored (refused by the store): %s", type(exc).__name__)
    else:
        if spool is not None:
            spool.notice_orphans(store)


def record_feedback(store: Store, service_id: str, items: list[dict]) -> int | None:
    try:
        return store.record_feedback(service_id, items)
    except StoreUnavailable as exc:
        log.error("feedback not stored (database unavailable): %s", exc)
        return None


__all__ = ["record_call", "record_feedback"]
