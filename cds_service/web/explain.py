"""POST /explain/{service-id}: the whole decision as JSON (`core.explain`), for a pharmacist auditing a case."""

from __future__ import annotations

from flask import Blueprint

from .hooks import handle_hook

bp = Blueprint("explain", __name__)


@bp.post("/explain/<service_id>")
def explain(service_id: str):
    return handle_hook(service_id, explain=True)
