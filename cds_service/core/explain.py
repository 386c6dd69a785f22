"""The whole decision of a call as JSON, for a pharmacist auditing a case (`POST /explain/...` and
`anakinra-cds explain`)."""

from __future__ import annotations

from ..facts.fhir_validation import validation_notes
from ..facts.model import CaseFacts
from ..policy.data_loader import load_policy
from ..policy.model import Decision
from ..protocol.request import HookRequest
from .hook_call import CallResult


def explanation(req: HookRequest, result: CallResult) -> dict:
    policy = load_policy()
    return {
        "hookInstance": req.hook_instance,
        "hook": req.hook,
        "policy": {"id": policy.id, "revision": policy.revision, "title": policy.data["title"]},
        "orders": [_order_json(d, case) for d, case in zip(result.decisions, result.cases, strict=True)],
        "response": result.body,
        **({"unavailable": result.unavailable} if result.unavailable else {}),
        **({"technicalErrors": result.technical_errors} if result.technical_errors else {}),
    }


def _order_json(decision: Decision, case: CaseFacts) -> dict:
    """The decision, plus what fhir.resources (R4B) finds structurally wrong with the order.
    Validation runs here, not on the hook path: the rules read the order with defensive readers
    (a malformed element reads as not stated, so the clause is unknown), and the notes never
    changed a decision; they tell the auditor why an element was not read."""
    out = decision.to_json()
    out["fhirValidation"] = list(validation_notes(case.order.raw))
    return out


__all__ = ["explanation"]
