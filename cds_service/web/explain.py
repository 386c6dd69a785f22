"""POST /explain/{service-id}: the whole decision as JSON, for a pharmacist auditing a case."""

from __future__ import annotations

from flask import Blueprint

from ..policy.data_loader import load_policy

bp = Blueprint("explain", __name__)


def explanation(req, result) -> dict:
    policy = load_policy()
    return {
        "hookInstance": req.hook_instance,
        "hook": req.hook,
        "policy": {"id": policy.id, "revision": policy.revision, "title": policy.data["title"]},
        "orders": [d.to_json() for d in result.decisions],
        "response": result.body,
        **({"unavailable": result.unavailable} if result.unavailable else {}),
        **({"technicalErrors": result.technical_errors} if result.technical_errors else {}),
    }


@bp.post("/explain/<service_id>")
def explain(service_id: str):
    from .hooks import handle_hook
    return handle_hook(service_id, explain=True)
