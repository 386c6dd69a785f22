"""GET /cds-services: the discovery document."""

from __future__ import annotations

from flask import Blueprint

from ..core.services import discovery_document
from .json_response import json_response

bp = Blueprint("discovery", __name__)
_DOC = None


@bp.get("/cds-services")
def discovery():
    global _DOC  # noqa: PLW0603  (the document is built once, at the first request)
    if _DOC is None:
        _DOC = discovery_document()
    return json_response(_DOC)
