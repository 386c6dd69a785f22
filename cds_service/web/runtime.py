"""Per-app services shared by the routes: the patient-hash key, the store (audit, feedback,
authorizations) when configured, and what happens when it is down."""

from __future__ import annotations

import logging
import time

from ..config import Settings
from ..pseudonym import load_key

log = logging.getLogger(__name__)


class CdsRuntime:
    def __init__(self, settings: Settings, store=None):
        self.settings = settings
        self.hash_key = load_key(settings)
        self.store = store

    # -- audit ---------------------------------------------------------------------------------
    def audit(self, service_id, req, result, status: int, started: float, explain: bool = False) -> None:
        if self.store is None:
            return
        from .audit_bridge import record_call
        record_call(self, service_id, req, result, status, started, explain)

    # -- feedback ------------------------------------------------------------------------------
    def record_feedback(self, service_id: str, items: list[dict]) -> int | None:
        if self.store is None:
            log.info("feedback received (no store configured): %d item(s)", len(items))
            return None
        from .audit_bridge import record_feedback
        return record_feedback(self, service_id, items)

    # -- authorizations ------------------------------------------------------------------------
    def authorization_hook(self, req):
        if self.store is None:
            return None
        from .audit_bridge import authorization_hook
        return authorization_hook(self, req)

    def health(self) -> dict:
        out = {"status": "ok", "policy": "09-J0000-45"}
        if self.store is not None:
            try:
                db = self.store.health()
            except Exception as exc:  # health must answer whatever the store does
                db = {"status": "degraded", "reason": type(exc).__name__}
            out["database"] = db
            if db.get("status") != "ok":
                out["status"] = "degraded"
        return out


def monotonic_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)
