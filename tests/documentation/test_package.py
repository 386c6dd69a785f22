"""`POST /fhir/Questionnaire/$questionnaire-package` over HTTP (test client): the package per DTR 2.2, and the
errors a client can cause (never a 500)."""

from __future__ import annotations

import copy

import pytest
from fhir.resources.R4B.parameters import Parameters

from cds_service.app import create_app
from cds_service.documentation.package import INFORMATION_ORIGIN, answer_source_url
from tests.conftest import PINNED_NOW
from tests.documentation.charts import coverage, draft_order, statement_gaps_request
from tests.e2e.helpers import coverage_infos

PACKAGE = "/fhir/Questionnaire/$questionnaire-package"


@pytest.fixture
def app(settings):
    return create_app(settings, clock=lambda: PINNED_NOW)


@pytest.fixture
def signed(app):
    client = app.test_client()
    req = statement_gaps_request()
    body = client.post("/cds-services/anakinra-order-sign", json=req).get_json()
    (info,) = coverage_infos(body).values()
    return client, req, info["coverage-assertion-id"][0]


def params(req: dict, context: str | None = None, **extra) -> dict:
    out = [{"name": "coverage", "resource": coverage(req)}, {"name": "order", "resource": draft_order(req)}]
    if context:
        out.append({"name": "context", "valueString": context})
    for name, value in extra.items():
        out.append({"name": name, **value})
    return {"resourceType": "Parameters", "parameter": out}


def _answers(items):
    for item in items:
        yield from item.get("answer", [])
        yield from _answers(item.get("item", []))


def test_the_package_follows_dtr_qpackage_output(signed, settings):
    client, req, aid = signed
    response = client.post(PACKAGE, json=params(req, aid))
    assert response.status_code == 200 and response.mimetype == "application/fhir+json"
    body = response.get_json()
    Parameters.model_validate(body)  # valid R4 (R4B models), Bundle and resources inside
    assert [p["name"] for p in body["parameter"]] == ["packagebundle"]
    bundle = body["parameter"][0]["resource"]
    kinds = [e["resource"]["resourceType"] for e in bundle["entry"]]
    assert bundle["type"] == "collection" and kinds[0] == "Questionnaire"  # dtrb-1
    assert kinds.count("QuestionnaireResponse") == 1 and set(kinds[2:]) == {"ValueSet"}
    q, qr = bundle["entry"][0]["resource"], bundle["entry"][1]["resource"]
    assert qr["questionnaire"] == f"{q['url']}|{q['version']}"
    assert qr["subject"] == {"reference": f"Patient/{req['context']['patientId']}"}
    ext = {e["url"].rsplit("/", 1)[1]: e for e in qr["extension"]}
    assert ext["qr-coverage"]["valueReference"]["reference"].startswith("Coverage/")
    assert ext["qr-context"]["valueReference"]["reference"] == f"MedicationRequest/{draft_order(req)['id']}"
    # every pre-filled answer: auto-server, with the record it was read from
    answers = list(_answers(qr["item"]))
    assert answers
    for a in answers:
        origin = next(e for e in a["extension"] if e["url"] == INFORMATION_ORIGIN)
        assert origin["extension"] == [{"url": "source", "valueCode": "auto-server"}]
        source = next(e for e in a["extension"] if e["url"] == answer_source_url(settings.external_base_url))
        assert source["valueReference"].get("reference") or source["valueReference"].get("display")
    linked = {i["linkId"] for i in qr["item"]}
    assert {"indication", "pathway"} <= linked
    # every answerValueSet the questionnaire names is in the package, expanded
    sets = {e["resource"]["url"] + "|" + e["resource"]["version"]: e["resource"] for e in bundle["entry"][2:]}

    def value_sets(items):
        for i in items:
            if "answerValueSet" in i:
                yield i["answerValueSet"]
            yield from value_sets(i.get("item", []))

    for canonical in value_sets(q["item"]):
        assert sets[canonical]["expansion"]["contains"]


def test_the_package_is_found_by_the_order_without_a_context(signed):
    client, req, _aid = signed
    response = client.post(PACKAGE, json=params(req))
    assert response.status_code == 200


def test_an_unknown_context_is_a_404_operation_outcome(signed):
    client, req, _ = signed
    response = client.post(PACKAGE, json=params(req, "AKR-NOSUCHCONTEXT"))
    assert response.status_code == 404
    assert response.get_json()["resourceType"] == "OperationOutcome"


def test_another_patients_coverage_with_a_valid_context_is_a_404(signed):
    client, req, aid = signed
    other = copy.deepcopy(req)
    cov = coverage(other)
    cov["beneficiary"] = {"reference": "Patient/someone-else"}
    draft_order(other)["subject"] = {"reference": "Patient/someone-else"}
    response = client.post(PACKAGE, json=params(other, aid))
    assert response.status_code == 404 and response.get_json()["resourceType"] == "OperationOutcome"


@pytest.mark.parametrize(
    "body",
    [
        {"resourceType": "Bundle"},
        {"resourceType": "Parameters", "parameter": "x"},
        {"resourceType": "Parameters", "parameter": [{"name": "context", "valueString": "AKR-X"}]},
        {"resourceType": "Parameters", "parameter": [{"name": "coverage", "resource": {"resourceType": "Patient"}}]},
        [],
    ],
)
def test_bad_parameters_are_a_400_operation_outcome(signed, body):
    client, _, _ = signed
    response = client.post(PACKAGE, json=body)
    assert response.status_code == 400
    assert response.get_json()["resourceType"] == "OperationOutcome"


def test_an_unknown_questionnaire_gets_a_warning_outcome(signed):
    client, req, aid = signed
    body = client.post(
        PACKAGE, json=params(req, aid, questionnaire={"valueCanonical": "http://other.example.org/Questionnaire/x"})
    ).get_json()
    assert [p["name"] for p in body["parameter"]] == ["outcome"]
    assert body["parameter"][0]["resource"]["issue"][0]["severity"] == "warning"


def test_the_questionnaire_and_value_sets_resolve(app, settings):
    client = app.test_client()
    q = client.get("/fhir/Questionnaire/kineret-09-J0000-45").get_json()
    assert q["url"] == f"{settings.external_base_url}/fhir/Questionnaire/kineret-09-J0000-45"
    vs = client.get("/fhir/ValueSet/kineret-indications").get_json()
    assert vs["resourceType"] == "ValueSet"
    assert client.get("/fhir/ValueSet/nope").status_code == 404


def test_without_a_store_the_package_is_503_not_500(settings):
    client = create_app(settings, clock=lambda: PINNED_NOW, store=None).test_client()
    response = client.post(PACKAGE, json=params(statement_gaps_request(), "AKR-X"))
    assert response.status_code == 503 and response.get_json()["resourceType"] == "OperationOutcome"
