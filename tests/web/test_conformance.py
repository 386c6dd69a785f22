"""The CDS Hooks 2.0 conformance checklist (shared/reference/cds-hooks-2.0.md, end), item by item."""

from __future__ import annotations

import copy
import re

import pytest

from cds_service.gather.data_needs import data_needs
from tests.conftest import load_index, load_request, service_for

ALLOWED_TOKENS = {
    "context.patientId",
    "context.userId",
    "context.encounterId",
    "userPractitionerId",
    "userPractitionerRoleId",
    "userPatientId",
    "userRelatedPersonId",
}


def all_responses(client):
    for item in load_index():
        req = load_request(item["slug"])
        yield item["slug"], client.post(f"/cds-services/{service_for(req)}", json=req)


def walk_values(value, path="$"):
    yield path, value
    if isinstance(value, dict):
        for k, v in value.items():
            yield from walk_values(v, f"{path}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from walk_values(v, f"{path}[{i}]")


def test_1_2_3_discovery(client):
    resp = client.get("/cds-services")
    assert resp.status_code == 200 and resp.mimetype == "application/json"
    services = resp.get_json()["services"]
    ids = [s["id"] for s in services]
    assert sorted(ids) == ["anakinra-order-select", "anakinra-order-sign"] and len(set(ids)) == len(ids)
    hooks = {s["id"]: s["hook"] for s in services}
    assert hooks == {"anakinra-order-sign": "order-sign", "anakinra-order-select": "order-select"}
    for s in services:
        assert s["description"] and s["title"] and s["usageRequirements"]
        assert isinstance(s["extension"]["davinci-crd.configuration-options"], list)
        for opt in s["extension"]["davinci-crd.configuration-options"]:
            assert {"code", "type", "name", "description", "default"} <= set(opt)


def test_4_5_prefetch_tokens_and_query_subset(client):
    services = client.get("/cds-services").get_json()["services"]
    for s in services:
        for key, template in s["prefetch"].items():
            for token in re.findall(r"\{\{\s*([^}]+?)\s*\}\}", template):
                assert token in ALLOWED_TOKENS, (key, token)
            assert "Practitioner/{{context.userId}}" not in template
            assert "_include" not in template and ":" not in template.split("?")[-1].split("=")[0]
            if "?" in template:
                for param in template.split("?", 1)[1].split("&"):
                    name = param.split("=")[0]
                    assert name in ("patient", "code", "status", "_sort", "_count", "practitioner"), name
    obs = next(n for n in data_needs() if n.key == "observations")
    assert "_sort=-date" in obs.template and "http://loinc.org|29463-7" in obs.template


def test_7_wrong_hook_is_400(client):
    req = load_request("ra-complete")
    resp = client.post("/cds-services/anakinra-order-select", json=req)
    assert resp.status_code == 400
    body = resp.get_json()
    assert body["resourceType"] == "OperationOutcome" and "order-select" in body["issue"][0]["details"]["text"]


def test_unknown_service_is_404(client):
    resp = client.post("/cds-services/nope", json=load_request("ra-complete"))
    assert resp.status_code == 404 and resp.get_json()["resourceType"] == "OperationOutcome"


def test_malformed_json_is_400_and_wrong_type_415(client):
    resp = client.post("/cds-services/anakinra-order-sign", data=b"{oops", content_type="application/json")
    assert resp.status_code == 400 and resp.get_json()["resourceType"] == "OperationOutcome"
    resp = client.post(
        "/cds-services/anakinra-order-sign", data=b"x=1", content_type="application/x-www-form-urlencoded"
    )
    assert resp.status_code == 415


def test_body_size_cap_is_413(app, client):
    big = b'{"pad": "' + b"x" * (app.config["CDS_SETTINGS"].max_body_bytes + 10) + b'"}'
    resp = client.post("/cds-services/anakinra-order-sign", data=big, content_type="application/json")
    assert resp.status_code == 413


def test_9_order_select_focuses_on_selections(client):
    req = copy.deepcopy(load_request("order-select-ra"))
    req["context"]["selections"] = ["MedicationRequest/not-in-the-bundle"]
    body = client.post("/cds-services/anakinra-order-select", json=req).get_json()
    assert body == {"cards": []}


def test_11_non_anakinra_non_medication_and_empty_drafts(client, settings):
    from cds_service.app import create_app
    from tests.conftest import pinned_clock

    prod_like = create_app(settings.with_overrides(demo_draft_card=False), clock=pinned_clock).test_client()
    nothing = {"cards": [], "systemActions": []}  # CRD primary hook: systemActions even when empty
    assert prod_like.post("/cds-services/anakinra-order-sign", json=load_request("non-anakinra")).get_json() == nothing
    req = copy.deepcopy(load_request("ra-complete"))
    req["context"]["draftOrders"]["entry"] = [
        {
            "resource": {
                "resourceType": "ServiceRequest",
                "id": "sr1",
                "status": "draft",
                "intent": "order",
                "subject": {"reference": "Patient/x"},
            }
        }
    ]
    assert prod_like.post("/cds-services/anakinra-order-sign", json=req).get_json() == nothing
    req["context"]["draftOrders"]["entry"] = [
        {
            "resource": {
                "resourceType": "MedicationRequest",
                "id": "request-123",
                "status": "draft",
                "subject": {"reference": "Patient/x"},
            }
        }
    ]
    assert prod_like.post("/cds-services/anakinra-order-sign", json=req).get_json() == nothing


def test_17_to_25_every_response_is_well_formed(client):
    for slug, resp in all_responses(client):
        assert resp.status_code == 200, slug
        body = resp.get_json()
        assert isinstance(body["cards"], list)
        assert isinstance(body["systemActions"], list) or service_for(load_request(slug)) != "anakinra-order-sign"
        for path, value in walk_values(body):
            if path in ("$.cards", "$.systemActions"):  # the two arrays that may be empty
                continue
            assert value is not None and value not in ("", [], {}), (slug, path)
        for card in body["cards"]:
            assert len(card["summary"]) < 140, (slug, card["summary"])
            assert card["indicator"] in ("info", "warning", "critical")
            assert card["source"]["label"] and card["source"]["topic"]["code"]
            assert card["uuid"]
            clauses = card["extension"]["anakinra-cds.clauses"]
            assert clauses and all(re.match(r"^[a-z0-9-]+(\.[A-Za-z0-9-]+)*$", c) for c in clauses)
            assert "<" not in card["detail"].replace("<=", "").replace("< ", ""), "no raw HTML in detail"
            for link in card.get("links", []):
                assert link["label"] and link["url"].startswith("http") and link["type"] in ("absolute", "smart")
            for reason in card.get("overrideReasons", []):
                assert reason["code"] and reason["system"] and reason["display"]
            if "suggestions" in card:
                assert card["selectionBehavior"] in ("at-most-one", "any")
                if card["selectionBehavior"] == "at-most-one":
                    assert sum(1 for s in card["suggestions"] if s.get("isRecommended")) <= 1
                for s in card["suggestions"]:
                    assert s["uuid"] and s["label"]
                    for a in s["actions"]:
                        assert a["type"] in ("create", "update", "delete") and a["description"]
                        if a["type"] == "delete":
                            assert a["resourceId"] and "resource" not in a
                        else:
                            assert a["resource"]["resourceType"]
        for action in body.get("systemActions", []):
            assert action["type"] == "update" and action["description"] and action["resource"]


def test_26_27_feedback(client):
    item = {
        "card": "9368d37b-1111-4d2e-9c1d-2e3f4a5b6c7d",
        "outcome": "overridden",
        "overrideReason": {"reason": {"code": "d7ecf885", "system": "https://example.com/override"}},
        "outcomeTimestamp": "2026-03-02T10:05:31Z",
    }
    first = client.post("/cds-services/anakinra-order-sign/feedback", json={"feedback": [item]})
    again = client.post("/cds-services/anakinra-order-sign/feedback", json={"feedback": [item]})
    assert first.status_code == 200 and again.status_code == 200
    bad = client.post("/cds-services/anakinra-order-sign/feedback", json={"feedback": [{"card": "x"}]})
    assert bad.status_code == 400 and "outcome" in bad.get_json()["issue"][0]["details"]["text"]
    assert client.post("/cds-services/nope/feedback", json={"feedback": [item]}).status_code == 404


@pytest.mark.parametrize(
    "path, method",
    [
        ("/cds-services", "GET"),
        ("/cds-services/anakinra-order-sign", "POST"),
        ("/cds-services/anakinra-order-sign/feedback", "POST"),
    ],
)
def test_28_cors_preflight(client, path, method):
    resp = client.open(
        path,
        method="OPTIONS",
        headers={
            "Origin": "https://sandbox.cds-hooks.org",
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "authorization, content-type",
            "Access-Control-Request-Private-Network": "true",
        },
    )
    assert resp.status_code in (200, 204)
    assert resp.headers["Access-Control-Allow-Origin"] == "*"
    assert "Authorization" in resp.headers["Access-Control-Allow-Headers"]
    assert "POST" in resp.headers["Access-Control-Allow-Methods"]
    assert resp.headers["Access-Control-Allow-Private-Network"] == "true"
    assert client.get("/cds-services", headers={"Origin": "https://x"}).headers["Access-Control-Allow-Origin"] == "*"


def test_15_412_only_when_data_can_be_had_from_neither(client):
    req = copy.deepcopy(load_request("ra-complete"))
    req.pop("fhirServer", None)
    del req["prefetch"]["conditions"]
    resp = client.post("/cds-services/anakinra-order-sign", json=req)
    assert resp.status_code == 412
    body = resp.get_json()
    assert body["resourceType"] == "OperationOutcome" and "conditions" in body["issue"][0]["details"]["text"]
    # a non-anakinra call needs no data at all: never 412
    other = copy.deepcopy(load_request("non-anakinra"))
    other.pop("fhirServer", None)
    other["prefetch"] = {}
    assert client.post("/cds-services/anakinra-order-sign", json=other).status_code == 200


def test_unreachable_or_disallowed_fhir_server_is_indeterminate_technical(client):
    from tests.e2e.helpers import coverage_infos

    req = copy.deepcopy(load_request("ra-complete"))
    req["fhirServer"] = "http://10.0.0.1/fhir"  # not on the allow-list: no connection is made
    del req["prefetch"]["conditions"]
    resp = client.post("/cds-services/anakinra-order-sign", json=req)
    assert resp.status_code == 200
    values = next(iter(coverage_infos(resp.get_json()).values()))
    assert values["covered"] == ["indeterminate"]
    assert any(r.get("coding", [{}])[0].get("code") == "technical" for r in values["reason"])
