"""POST /explain/{service-id}: the whole decision as JSON, for a pharmacist auditing a case."""

from __future__ import annotations

from flask import Blueprint

from ..facts.fhir_validation import validation_notes
from ..policy.data_loader import load_policy

bp = Blueprint("explain", __name__)


def explanation(req, result) -> dict:
    policy = load_policy()
    return {
        "hookInstance": req.hook_instance,
        "hook": req.hook,
        "policy": {"id": policy.id, "revision": policy.revision, "title": policy.data["title"]},
        "orders": [_order_json(d, case) for d, case in zip(result.decisions, result.cases)],
        "response": result.body,
        **({"unavailable": result.unavailable} if result.unavailable else {}),
        **({"technicalErrors": result.technical_errors} if result.technical_errors else {}),
    }


def _order_json(decision, case) -> dict:
    """The decision, plus what fhir.resources (R4B) finds structurally wrong with the order.
    Validation runs here, not on the hook path: the rules read the order with defensive readers
    (a malformed element reads as not stated, so the clause is unknown), and the notes never
    changed a decision; they tell the auditor why an element was not read."""
    out = decision.to_json()
    out["fhirValidation"] = list(validation_notes(case.order.raw))
    return out


@bp.post("/explain/<service_id>")
def explain(service_id: str):
    from .hooks import handle_hook
    return handle_hook(service_id, explain=True)
