"""GET /openapi.json: the service's own OpenAPI 3.1 document (CDS Hooks 2.0 shapes).

The document is a hand-written data file next to this module (`openapi.json`). At serving time
only `servers` is filled in, with the configured external base URL (the URL EHRs call and JWT
`aud` values are checked against). No JWT is needed (auth.EXEMPT_PATHS): it holds no patient data.
"""

from __future__ import annotations

import copy
import json
from functools import lru_cache
from pathlib import Path

from flask import Blueprint, current_app

from .json_response import json_response

DOCUMENT_FILE = Path(__file__).with_name("openapi.json")

bp = Blueprint("openapi", __name__)


@lru_cache(maxsize=1)
def load_document() -> dict:
    """The document as written (parsed once per process). Callers must not mutate it."""
    with DOCUMENT_FILE.open(encoding="utf-8") as fh:
        return json.load(fh)


def document_for(external_base_url: str) -> dict:
    doc = copy.deepcopy(load_document())
    doc["servers"] = [
        {"url": external_base_url.rstrip("/") or "/", "description": "This deployment (CDS_EXTERNAL_BASE_URL)."}
    ]
    return doc


@bp.get("/openapi.json")
def openapi_document():
    settings = current_app.config["CDS_SETTINGS"]
    cache = current_app.extensions.setdefault("cds_openapi", {})
    doc = cache.get("doc")
    if doc is None:
        doc = cache["doc"] = document_for(settings.external_base_url)
    return json_response(doc)
