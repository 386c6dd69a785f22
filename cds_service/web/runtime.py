"""Per-app services shared by the routes: the patient-hash key, the store (audit, feedback,
authorizations) when configured, and what happens when it is down."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from ..config import Settings
from ..core.approvals_on_file import PlanAuthorizations
from ..core.call_records import record_call, record_feedback
from ..documentation import DocumentationLoop
from ..policy.data_loader import load_policy
from ..protocol.request import HookRequest
from ..store import DocumentationStore, Store, load_hash_key, member_ref, patient_hash
from ..store.spool import AuditSpool

log = logging.getLogger(__name__)


class CdsRuntime:
    def __init__(self, settings: Settings, store: Store | None = None):
        self.settings = settings
        self.hash_key = load_hash_key(settings.patient_hash_key, settings.var_dir)
        self.store = store
        self._health_reason: str | None = None
        # Audit rows the database cannot take wait here (fsync'd) and are replayed when it is back.
        self.spool = (
            AuditSpool(Path(settings.var_dir) / "audit-spool", max_bytes=settings.audit_spool_max_bytes)
            if store is not None
            else None
        )

    def patient_hash(self, patient_id: str) -> str:
        return patient_hash(self.hash_key, patient_id)

    def member_ref(self, member_id: str) -> str:
        return member_ref(self.hash_key, member_id)

    # -- audit ---------------------------------------------------------------------------------
    def audit(self, service_id, req, result, status: int, started: float, explain: bool = False) -> None:
        if self.store is None:
            return
        record_call(self.store, self.spool, service_id, req, result, status, started, explain)

    # -- feedback ------------------------------------------------------------------------------
    def record_feedback(self, service_id: str, items: list[dict]) -> int | None:
        if self.store is None:
            log.info("feedback received (no store configured): %d item(s)", len(items))
            return None
        return record_feedback(self.store, service_id, items)

    # -- authorizations ------------------------------------------------------------------------
    def authorizations(self, req: HookRequest) -> PlanAuthorizations | None:
        """The plan's authorization records for this call, or None without a store."""
        if self.store is None:
            return None
        return PlanAuthorizations(self.store, req)

    # -- documentation (DTR, issue 21) ------------------------------------------------------------
    def documentation_store(self) -> DocumentationStore | None:
        """The DTR contexts and completed questionnaires (store/documentation.py), or None without a store."""
        if self.store is None:
            return None
        return DocumentationStore(self.store)

    def documentation(self) -> DocumentationLoop:
        """The documentation loop of a hook call (reads answers back, keeps contexts)."""
        return DocumentationLoop(
            load_policy(), self.settings.external_base_url, self.patient_hash, self.documentation_store()
        )

    def warm_up(self) -> None:
        """The store's side of a call, made ready at start: the store's own preparation (`Store.warm_up`).
        Nothing here may stop the service from starting."""
        if self.store is None:
            return
        try:
            self.store.warm_up()
        except Exception as exc:
            log.warning("store warm-up skipped: %s", type(exc).__name__)

    def health(self) -> dict:
        """The state the unauthenticated /health route shows: `ok` or `degraded`, never why. The reason
        (it can name the database host and port) goes to the log, once each time it changes."""
        out: dict[str, Any] = {"status": "ok", "policy": load_policy().id}
        if self.store is not None:
            try:
                db = self.store.health()
            except Exception as exc:  # health must answer whatever the store does
                db = {"status": "degraded", "reason": type(exc).__name__}
            status = db.get("status", "degraded")
            reason = db.get("reason") if status != "ok" else None
            if reason != self._health_reason:
                if reason is not None:
                    log.warning("database degraded: %s", reason)
                else:
                    log.info("database ok again")
                self._health_reason = reason
            out["database"] = {"status": status}
            if status != "ok":
                out["status"] = "degraded"
        if self.spool is not None:
            out["auditSpool"] = {"pending": self.spool.depth()}
        return out
