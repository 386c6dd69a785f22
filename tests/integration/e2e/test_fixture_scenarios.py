"""Every fixture patient end to end over HTTP: with full prefetch, and with no prefetch against the
FHIR test server on loopback. The expectations come from fhir_fixtures/index.json (written from the
guideline, not from the code)."""

from __future__ import annotations

import copy

import pytest
import requests

from cds_service.app import create_app
from tests.conftest import load_index, load_request, pinned_clock, service_for
from tests.e2e.helpers import card_kinds, cited, clause_outcomes, determinations
from tests.integration.conftest import LiveServer

INDEX = load_index()
SLUGS = [item["slug"] for item in INDEX]
BY_SLUG = {item["slug"]: item for item in INDEX}


def check(slug: str, body: dict, explanation: dict) -> None:
    expect = BY_SLUG[slug]["expect"]
    dets = determinations(body)
    if expect["determination"] == "none":
        nothing = {"cards": [], "systemActions": []} if BY_SLUG[slug]["hook"] == "order-sign" else {"cards": []}
        assert body == nothing, body
        return
    assert dets == [expect["determination"]], (slug, dets, [c["summary"] for c in body["cards"]])
    kinds = card_kinds(body)
    wanted = [k for k in expect.get("findings", []) if k != "none"]
    for kind in wanted:
        assert kind in kinds, (slug, kind, kinds)
    if "none" in expect.get("findings", []):
        assert not [c for c in body["cards"] if c["indicator"] in ("warning", "critical")], (slug, kinds)
    outcomes = clause_outcomes(explanation)
    for clause in expect.get("clauses", []):
        assert clause in cited(body) or clause in outcomes, (slug, clause)
        if expect["determination"] == "covered" and clause not in cited(body):
            assert outcomes[clause] in ("met", "not-applicable"), (slug, clause, outcomes[clause])


@pytest.mark.parametrize("slug", SLUGS)
def test_full_prefetch_over_http(live_server, slug):
    req = load_request(slug)
    url = f"{live_server.url}/cds-services/{service_for(req)}"
    resp = requests.post(url, json=req, timeout=10)
    assert resp.status_code == 200, resp.text
    explained = requests.post(f"{live_server.url}/explain/{service_for(req)}", json=req, timeout=10)
    assert explained.status_code == 200
    check(slug, resp.json(), explained.json())


@pytest.mark.fhirserver
@pytest.mark.parametrize("slug", SLUGS)
def test_no_prefetch_reads_the_fhir_server(settings, fhir_base, slug):
    app = create_app(settings.with_overrides(fhir_allow=(fhir_base,)), clock=pinned_clock)
    req = copy.deepcopy(load_request(slug))
    req.pop("prefetch", None)
    req["fhirServer"] = fhir_base
    with LiveServer(app) as srv:
        resp = requests.post(f"{srv.url}/cds-services/{service_for(req)}", json=req, timeout=20)
        assert resp.status_code == 200, resp.text
        explained = requests.post(f"{srv.url}/explain/{service_for(req)}", json=req, timeout=20).json()
    check(slug, resp.json(), explained)
    if BY_SLUG[slug]["expect"]["determination"] != "none":
        assert not explained.get("technicalErrors"), explained.get("technicalErrors")
