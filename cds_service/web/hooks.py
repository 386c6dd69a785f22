"""POST /cds-services/{id}: validate, decide, answer."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime

from flask import Blueprint, current_app, request

from ..core.explain import explanation
from ..core.hook_call import DataUnavailable, run_hook
from ..core.services import SERVICES_BY_ID
from ..protocol.request import RequestError, load_json, parse_hook_request
from .call_log import log_call
from .errors import outcome_response
from .json_response import json_response

bp = Blueprint("hooks", __name__)
log = logging.getLogger(__name__)

JSON_TYPES = ("application/json", "application/fhir+json", "application/json+fhir")


def read_json_body():
    """The request body as JSON, or an error response (415 / 413 / 400)."""
    ctype = (request.mimetype or "").lower()
    if ctype not in JSON_TYPES:
        return None, outcome_response(415, "Content-Type must be application/json.", "not-supported")
    settings = current_app.config["CDS_SETTINGS"]
    length = request.content_length
    if length is not None and length > settings.max_body_bytes:
        return None, outcome_response(413, f"The request body exceeds {settings.max_body_bytes} bytes.", "too-long")
    raw = _read_unsized_body(settings.max_body_bytes) if length is None else request.get_data(cache=False)
    if raw is None or len(raw) > settings.max_body_bytes:
        return None, outcome_response(413, f"The request body exceeds {settings.max_body_bytes} bytes.", "too-long")
    try:
        return load_json(raw, settings.max_json_depth), None
    except RequestError as exc:
        return None, outcome_response(exc.status, exc.message, exc.code, exc.field)


def _read_unsized_body(limit: int) -> bytes | None:
    """A body sent without Content-Length (chunked): read from the server's input, at most `limit` bytes;
    None when there is more. (Werkzeug's limited stream stops quietly at the limit, so a body cut there could
    otherwise be read as a shorter, valid document.)"""
    environ = request.environ
    if "wsgi.input_terminated" not in environ:
        return b""  # the server does not terminate the stream: nothing can be read safely
    stream = environ["wsgi.input"]
    chunks: list[bytes] = []
    size = 0
    while size <= limit:
        chunk = stream.read(min(65536, limit + 1 - size))
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        size += len(chunk)
    return None


def now() -> datetime:
    clock = current_app.config.get("CDS_CLOCK")
    return clock() if clock else datetime.now(UTC)


def handle_hook(service_id: str, explain: bool = False):
    started = time.perf_counter()
    service = SERVICES_BY_ID.get(service_id)
    if service is None:
        return outcome_response(404, f"No CDS service with id `{service_id}`.", "not-found")
    data, error = read_json_body()
    if error is not None:
        return error
    settings = current_app.config["CDS_SETTINGS"]
    try:
        req = parse_hook_request(data, service.hook, settings.max_draft_orders)
    except RequestError as exc:
        return outcome_response(exc.status, exc.message, exc.code, exc.field)
    services = current_app.extensions["cds"]
    try:
        result = run_hook(
            req,
            settings,
            now(),
            services.hash_key,
            authorizations=services.authorizations(req),
            explain=explain,
            documentation=services.documentation(),
        )  # DTR (issue 21)
    except DataUnavailable as exc:
        log_call(service_id, req, None, 412, started, services.hash_key)
        return outcome_response(412, str(exc), "incomplete")
    status = result.status
    services.audit(service_id, req, result, status, started, explain=explain)
    log_call(service_id, req, result, status, started, services.hash_key)
    if explain:
        return json_response(explanation(req, result), status)
    return json_response(result.body, status)


@bp.post("/cds-services/<service_id>")
def call_service(service_id: str):
    return handle_hook(service_id)
