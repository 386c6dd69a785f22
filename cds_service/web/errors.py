"""Error responses: an OperationOutcome, never a stack trace."""

from __future__ import annotations

import logging

from flask import Flask, Response
from werkzeug.exceptions import HTTPException

from ..protocol.operation_outcome import operation_outcome
from .json_response import json_response

log = logging.getLogger(__name__)


def outcome_response(status: int, message: str, code: str = "invalid", field: str | None = None) -> Response:
    return json_response(operation_outcome(message, code=code, expression=field), status)


def install(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        code = {404: "not-found", 405: "not-supported", 413: "too-long", 415: "not-supported"}.get(
            exc.code or 500, "processing"
        )
        return outcome_response(exc.code or 500, exc.description or exc.name, code)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        log.exception("unhandled error")
        return outcome_response(500, "Internal error; the incident was logged.", "exception")
