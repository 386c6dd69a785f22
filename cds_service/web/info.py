"""GET /health and GET /policy/{id}: service state and the guideline as data."""

from __future__ import annotations

import json
from functools import lru_cache

from flask import Blueprint, current_app

from ..policy.data_loader import DATA_DIR, load_policy
from .errors import outcome_response
from .json_response import json_response

bp = Blueprint("info", __name__)


@lru_cache(maxsize=1)
def _clauses() -> dict:
    with (DATA_DIR / "clauses.json").open(encoding="utf-8") as fh:
        return json.load(fh)


@bp.get("/health")
def health():
    body = current_app.extensions["cds"].health()
    return json_response(body, 200)


@bp.get("/policy/<policy_id>")
def policy(policy_id: str):
    p = load_policy()
    if policy_id != p.id:
        return outcome_response(404, f"No guideline `{policy_id}`.", "not-found")
    return json_response({"policy": p.data, "clauses": _clauses()["clauses"]})
