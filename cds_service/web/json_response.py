"""JSON responses serialised with orjson."""

from __future__ import annotations

import orjson
from flask import Response


def json_response(body, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status=status, mimetype="application/json")
