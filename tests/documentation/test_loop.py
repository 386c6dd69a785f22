"""The documentation loop at the data level: order-sign -> conditional with the questionnaire -> package ->
the remaining answers filled in -> the completed response kept -> order-sign again -> covered, the plan's approval
issued; and the same path with a "no" -> not covered, citing the clause."""

from __future__ import annotations

import copy

import pytest

from cds_service.app import create_app
from cds_service.documentation import DocumentationLoop, questionnaire_for
from cds_service.policy.data_loader import load_policy
from cds_service.policy.model import Decision, Determination
from cds_service.respond.questionnaire import questionnaire_canonical
from tests.conftest import PINNED_NOW
from tests.documentation.charts import coverage, draft_order, statement_gaps_request
from tests.documentation.filling import answer, completed
from tests.e2e.helpers import cited, clause_outcomes, coverage_infos

SIGN = "/cds-services/anakinra-order-sign"
PACKAGE = "/fhir/Questionnaire/$questionnaire-package"


@pytest.fixture
def app(settings):
    return create_app(settings, clock=lambda: PINNED_NOW)


def _sign(client, req: dict) -> tuple[dict, dict]:
    body = client.post(SIGN, json=req).get_json()
    (info,) = coverage_infos(body).values()
    return body, info


def _package(client, req: dict, assertion_id: str) -> dict:
    params = {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "coverage", "resource": coverage(req)},
            {"name": "order", "resource": draft_order(req)},
            {"name": "context", "valueString": assertion_id},
        ],
    }
    response = client.post(PACKAGE, json=params)
    assert response.status_code == 200, response.get_json()
    out = response.get_json()
    assert [p["name"] for p in out["parameter"]] == ["packagebundle"]
    return out["parameter"][0]["resource"]


def _first_sign_and_package(app, settings):
    client = app.test_client()
    req = statement_gaps_request()
    body, info = _sign(client, req)
    assert info["covered"] == ["conditional"]
    (assertion_id,) = info["coverage-assertion-id"]
    # the context the package needs was kept, naming the questionnaire (coverage information points to it)
    docs = app.extensions["cds"].documentation_store()
    ctx = docs.context(assertion_id)
    assert ctx is not None and ctx.questionnaire == questionnaire_canonical(settings.external_base_url)
    assert {"initiation.1.b", "initiation.2"} <= set(ctx.open_clauses)
    bundle = _package(client, req, assertion_id)
    questionnaire, qr = bundle["entry"][0]["resource"], bundle["entry"][1]["resource"]
    # the EHR applies our systemAction: the next draft carries the coverage-information (and its assertion id)
    signed_order = body["systemActions"][0]["resource"]
    return client, req, docs, assertion_id, questionnaire, qr, signed_order


def _signed_again(req: dict, signed_order: dict) -> dict:
    req = copy.deepcopy(req)
    req["context"]["draftOrders"]["entry"][0]["resource"] = signed_order
    req["hookInstance"] = req["hookInstance"][:-4] + "beef"
    return req


def _again(client, req: dict, signed_order: dict) -> tuple[dict, dict]:
    return _sign(client, _signed_again(req, signed_order))


def test_the_loop_ends_covered_with_the_plans_approval(app, settings):
    client, req, docs, aid, questionnaire, qr, signed = _first_sign_and_package(app, settings)
    assert qr["status"] == "in-progress"
    for link in ("continuing.treated", "continuing.not-samples", "continuing.at-risk", "specialist.consulted"):
        answer(qr, questionnaire, link, {"valueBoolean": True})
    done = completed(qr)
    patient = req["context"]["patientId"]
    docs.store_response(
        done,
        patient_hash=app.extensions["cds"].patient_hash(patient),
        assertion_id=aid,
        order_ref=f"MedicationRequest/{draft_order(req)['id']}",
    )

    _body, info = _again(client, req, signed)
    assert info["covered"] == ["covered"]
    assert info["pa-needed"] == ["satisfied"] and info["satisfied-pa-id"][0].startswith("PA-")
    explained = client.post("/explain/anakinra-order-sign", json=req).get_json()
    outcomes = clause_outcomes(explained)
    assert outcomes["initiation.1.b"] == "met" and outcomes["initiation.2"] == "met"
    evidence = [
        e.get("reference", "")
        for o in explained["orders"]
        for top in o["clauses"]
        for n in _walk(top)
        if n["clause"] == "initiation.2"
        for e in n.get("evidence", [])
    ]
    assert any(r.startswith("QuestionnaireResponse/") and r.endswith("#specialist.consulted") for r in evidence)


def test_the_loop_with_a_no_ends_not_covered_with_the_clause_cited(app, settings):
    client, req, docs, aid, questionnaire, qr, signed = _first_sign_and_package(app, settings)
    for link in ("continuing.treated", "continuing.not-samples", "continuing.at-risk"):
        answer(qr, questionnaire, link, {"valueBoolean": True})
    answer(qr, questionnaire, "specialist.consulted", {"valueBoolean": False})
    patient = req["context"]["patientId"]
    docs.store_response(
        completed(qr), patient_hash=app.extensions["cds"].patient_hash(patient), assertion_id=aid, order_ref=None
    )

    body, info = _again(client, req, signed)
    # initiation 2 is not a hard exclusion, but the prescriber was asked and answered no: initiation fails on the
    # answer (no longer missing documentation), so the order is not covered with the clause cited, and nothing
    # more is asked of the form
    assert info["covered"] == ["not-covered"] and "pa-needed" not in info
    assert "initiation.2" in cited(body)
    explained = client.post("/explain/anakinra-order-sign", json=_signed_again(req, signed)).get_json()
    assert clause_outcomes(explained)["initiation.2"] == "not-met"
    assert "questionnaire" not in info
    (new_id,) = info["coverage-assertion-id"]
    assert docs.context(new_id) is None  # nothing left for the questionnaire to answer


def test_an_ehr_stored_response_has_the_same_effect(app, settings):
    """(b): no store on our side; the completed response is in the EHR's data (prefetch)."""
    client, _req, _docs, _aid, questionnaire, qr, _signed = _first_sign_and_package(app, settings)
    for link in ("continuing.treated", "continuing.not-samples", "continuing.at-risk", "specialist.consulted"):
        answer(qr, questionnaire, link, {"valueBoolean": True})
    done = completed(qr)
    done["id"] = "ehr-qr-1"
    again = statement_gaps_request([done])
    _body, info = _sign(client, again)
    assert info["covered"] == ["covered"]


def test_another_patients_response_is_never_read(app, settings):
    client, req, docs, aid, questionnaire, qr, signed = _first_sign_and_package(app, settings)
    for link in ("continuing.treated", "continuing.not-samples", "continuing.at-risk", "specialist.consulted"):
        answer(qr, questionnaire, link, {"valueBoolean": True})
    done = completed(qr)
    done["id"] = "ehr-qr-other"
    done["subject"] = {"reference": "Patient/someone-else"}
    _body, info = _sign(client, statement_gaps_request([done]))
    assert info["covered"] == ["conditional"]
    # kept by us for another patient's pseudonym: not read either
    docs.store_response(
        completed(qr),
        patient_hash=app.extensions["cds"].patient_hash("someone-else"),
        assertion_id=aid,
        order_ref=f"MedicationRequest/{draft_order(req)['id']}",
    )
    _body, info = _again(client, req, signed)
    assert info["covered"] == ["conditional"]


def test_an_in_progress_response_is_not_read(app, settings):
    client, _req, _docs, _aid, questionnaire, qr, _signed = _first_sign_and_package(app, settings)
    for link in ("continuing.treated", "continuing.not-samples", "continuing.at-risk", "specialist.consulted"):
        answer(qr, questionnaire, link, {"valueBoolean": True})
    qr["id"] = "ehr-qr-draft"
    _body, info = _sign(client, statement_gaps_request([qr]))
    assert info["covered"] == ["conditional"]


def test_questionnaire_for_names_the_canonical_only_when_it_helps(settings):
    policy = load_policy()
    covered = Decision(
        "o", "anakinra", Determination.COVERED, "no-auth", (), (), policy.id, policy.revision, "initiation"
    )
    assert questionnaire_for(covered, settings.external_base_url) is None
    loop = DocumentationLoop(policy, settings.external_base_url, lambda v: "h" * 64)
    assert loop.docs is None


def _walk(node):
    yield node
    for c in node.get("children", []):
        yield from _walk(c)
