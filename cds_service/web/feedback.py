"""POST /cds-services/{id}/feedback (CDS Hooks 2.0): validated, stored idempotently, 200."""

from __future__ import annotations

import logging

from flask import Blueprint, current_app

from ..core.services import SERVICES_BY_ID
from ..protocol.request import RequestError, parse_feedback
from .errors import outcome_response
from .hooks import read_json_body
from .json_response import json_response

bp = Blueprint("feedback", __name__)
log = logging.getLogger(__name__)


@bp.post("/cds-services/<service_id>/feedback")
def feedback(service_id: str):
    if service_id not in SERVICES_BY_ID:
        return outcome_response(404, f"No CDS service with id `{service_id}`.", "not-found")
    data, error = read_json_body()
    if error is not None:
        return error
    try:
        items = parse_feedback(data)
    except RequestError as exc:
        return outcome_response(exc.status, exc.message, exc.code, exc.field)
    runtime = current_app.extensions["cds"]
    stored = runtime.record_feedback(service_id, items)
    if stored is None and runtime.store is not None:
        # The database is down: say so, so that the client can send it again (nothing silently lost).
        return outcome_response(503, "Feedback could not be stored right now; please send it again later.", "transient")
    return json_response({"received": len(items), "stored": stored} if stored is not None else {"received": len(items)})
