"""Da Vinci DTR routes (thin): the `$questionnaire-package` operation, and the Questionnaire and ValueSets it names
(so that their canonicals resolve). The work is in `cds_service/documentation/` (Flask-free).
Auth: the app's before_request
applies here as on every route (a valid token when auth is on)."""

from __future__ import annotations

import logging

from flask import Blueprint, current_app

from ..documentation import PackageError, build_package
from ..policy.data_loader import load_policy
from ..respond.questionnaire import QUESTIONNAIRE_ID, build_questionnaire, build_value_sets
from ..store import StoreUnavailable
from .errors import outcome_response
from .hooks import now, read_json_body
from .json_response import json_response

log = logging.getLogger(__name__)
bp = Blueprint("dtr", __name__)
FHIR_JSON = "application/fhir+json"


def _fhir(body: dict, status: int = 200):
    response = json_response(body, status)
    response.mimetype = FHIR_JSON
    return response


@bp.post("/fhir/Questionnaire/$questionnaire-package")
def questionnaire_package():
    data, error = read_json_body()
    if error is not None:
        return error
    services = current_app.extensions["cds"]
    docs = services.documentation_store()
    if docs is None:
        return outcome_response(
            503, "Documentation packages need the service's store, which is not configured.", "transient"
        )
    settings = current_app.config["CDS_SETTINGS"]
    try:
        body = build_package(
            data,
            docs=docs,
            patient_hash=services.patient_hash,
            policy=load_policy(),
            base_url=settings.external_base_url,
            now=now(),
        )
    except PackageError as exc:
        return _fhir(exc.outcome, exc.status)
    except StoreUnavailable as exc:
        log.warning("questionnaire package: store unavailable: %s", exc)
        return outcome_response(503, "The documentation store is unavailable; try again shortly.", "transient")
    return _fhir(body)


@bp.get(f"/fhir/Questionnaire/{QUESTIONNAIRE_ID}")
def questionnaire():
    settings = current_app.config["CDS_SETTINGS"]
    return _fhir(build_questionnaire(load_policy(), settings.external_base_url))


@bp.get("/fhir/ValueSet/<vs_id>")
def value_set(vs_id: str):
    settings = current_app.config["CDS_SETTINGS"]
    for vs in build_value_sets(load_policy(), settings.external_base_url):
        if vs["id"] == vs_id:
            return _fhir(vs)
    return outcome_response(404, f"No ValueSet `{vs_id}` here.", "not-found")
