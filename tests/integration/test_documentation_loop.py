"""The documentation loop over HTTP against the running service (issue 21, "The loop, end to end").

order-sign -> conditional, the coverage information naming the questionnaire, and the "Complete the Kineret
documentation" card -> `POST /fhir/Questionnaire/$questionnaire-package` -> the card's signed link opened -> the
form posted as a browser posts it (with its nonce), answering what the chart leaves open -> order-sign again ->
covered, `pa-needed=satisfied`, the plan's approval issued; and the same with a "no" -> not covered, the clause
cited. With auth on: the package needs a JWT; a form link opens only its own context, order and patient.

The chart (tests/documentation/charts.py): an RA member on anakinra by a statement only, prescribed by a family
physician: open are initiation 1.b (treated in the past 90 days, not samples, at risk if changed) and 2
(specialist). The service runs on a loopback port with its external base URL set to that port, so the card's
absolute link is followed as it is.
"""

from __future__ import annotations

import copy
import json
import time

import pytest
import requests

from cds_service.app import create_app
from cds_service.config import demo_settings
from cds_service.documentation import form_patient_ref
from cds_service.forms.links import FormLinkContext
from cds_service.respond.cards import DOCUMENTATION_SUMMARY
from cds_service.web.auth import SANDBOX_ISSUER, SANDBOX_JKU
from cds_service.web.documentation_form import EXTENSION_KEY
from tests.conftest import PINNED_NOW, pinned_clock
from tests.documentation.charts import coverage, draft_order, statement_gaps_request
from tests.e2e.helpers import cited, clause_outcomes, coverage_infos
from tests.integration.conftest import LiveServer
from tests.integration.html_form import BrowserForm
from tests.web import jwt_keys

SIGN = "/cds-services/anakinra-order-sign"
PACKAGE = "/fhir/Questionnaire/$questionnaire-package"
STATEMENTS = ("continuing.treated", "continuing.not-samples", "continuing.at-risk")
SANDBOX_KEY = jwt_keys.sandbox_key()


class DeferredApp:
    """A WSGI app set once the server is bound (the external base URL is the server's own)."""

    app = None

    def __call__(self, environ, start_response):
        return self.app(environ, start_response)


@pytest.fixture
def service(tmp_path):
    """(base URL, app) of the service on a loopback port, auth off."""
    deferred = DeferredApp()
    with LiveServer(deferred) as srv:
        settings = demo_settings().with_overrides(
            var_dir=str(tmp_path / "var"), auth_enabled=False, external_base_url=srv.url, fhir_allow=()
        )
        deferred.app = create_app(settings, clock=pinned_clock)
        yield srv.url, deferred.app


def sign(base: str, req: dict, headers: dict | None = None) -> tuple[dict, dict]:
    resp = requests.post(base + SIGN, json=req, timeout=30, headers=headers or {})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    (info,) = coverage_infos(body).values()
    return body, info


def form_card(body: dict) -> dict | None:
    return next((c for c in body["cards"] if c["summary"] == DOCUMENTATION_SUMMARY), None)


def package_params(req: dict, context: str) -> dict:
    return {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "coverage", "resource": coverage(req)},
            {"name": "order", "resource": draft_order(req)},
            {"name": "context", "valueString": context},
        ],
    }


def signed_again(req: dict, body: dict) -> dict:
    """The next order-sign: the EHR applied our systemAction, so the draft carries the coverage information."""
    again = copy.deepcopy(req)
    again["context"]["draftOrders"]["entry"][0]["resource"] = body["systemActions"][0]["resource"]
    again["hookInstance"] = again["hookInstance"][:-4] + "beef"
    return again


def first_sign(base: str, req: dict) -> tuple[dict, dict, str]:
    """order-sign -> conditional with the questionnaire and the form card; returns (body, info, form link)."""
    body, info = sign(base, req)
    assert info["covered"] == ["conditional"] and info["pa-needed"] == ["auth-needed"]
    assert "clinical" in info["doc-needed"] or "admin" in info["doc-needed"]
    (canonical,) = info["questionnaire"]
    assert canonical.startswith(f"{base}/fhir/Questionnaire/kineret-09-J0000-45|")
    card = form_card(body)
    assert card is not None, [c["summary"] for c in body["cards"]]
    (link,) = card["links"]
    assert link["type"] == "absolute" and link["url"].startswith(f"{base}/documentation/")
    assert {"initiation.1.b", "initiation.2"} <= set(card["extension"]["anakinra-cds.clauses"])
    return body, info, link["url"]


def fetch_package(base: str, req: dict, context: str, headers: dict | None = None) -> requests.Response:
    return requests.post(
        base + PACKAGE,
        json=package_params(req, context),
        timeout=30,
        headers={"Content-Type": "application/fhir+json", **(headers or {})},
    )


def open_form(url: str) -> BrowserForm:
    form = BrowserForm.open(requests.Session(), url)
    assert form.response.status_code == 200, form.response.text[:500]
    assert form.response.headers["Referrer-Policy"] == "no-referrer"
    assert "script-src 'self'" in form.response.headers["Content-Security-Policy"]
    assert form.fields.get("form_nonce"), "the page carries its nonce"
    return form


def complete(form: BrowserForm, consulted: str) -> requests.Response:
    for link_id in STATEMENTS:
        form.answer(link_id, "true")
    form.answer("specialist.consulted", consulted)
    resp = form.submit()
    assert resp.status_code == 200, resp.text[:2000]
    assert "Documentation received" in resp.text
    return resp


def test_the_loop_over_http_ends_covered_with_the_plans_approval(service):
    base, app = service
    req = statement_gaps_request()
    body, info, link = first_sign(base, req)
    (context,) = info["coverage-assertion-id"]

    # DTR: the package for the context, pre-filled from the chart (indication and pathway known)
    resp = fetch_package(base, req, context)
    assert resp.status_code == 200 and resp.headers["Content-Type"].startswith("application/fhir+json")
    bundle = resp.json()["parameter"][0]["resource"]
    questionnaire, prefilled = bundle["entry"][0]["resource"], bundle["entry"][1]["resource"]
    assert f"{questionnaire['url']}|{questionnaire['version']}" == info["questionnaire"][0]
    assert prefilled["status"] == "in-progress" and prefilled["item"]

    # The card's link: the same questionnaire, what the chart answers shown as pre-filled
    form = open_form(link)
    assert form.value("pathway") and form.value("indication")
    for link_id in (*STATEMENTS, "specialist.consulted"):
        assert form.asks(link_id) and not form.value(link_id)
    # without the nonce the post is refused and nothing is kept
    bare = BrowserForm.open(requests.Session(), link)
    bare.fields.pop("form_nonce")
    assert bare.submit().status_code == 403
    docs = app.extensions["cds"].documentation_store()
    patient_hash = app.extensions["cds"].patient_hash(req["context"]["patientId"])
    assert docs.responses_for(patient_hash, assertion_ids=[context]) == []

    complete(form, consulted="true")
    (kept,) = docs.responses_for(patient_hash, assertion_ids=[context])
    assert kept["status"] == "completed" and "subject" not in kept

    body, info = sign(base, signed_again(req, body))
    assert info["covered"] == ["covered"], [c["summary"] for c in body["cards"]]
    assert info["pa-needed"] == ["satisfied"] and info["satisfied-pa-id"][0].startswith("PA-")
    assert form_card(body) is None and "questionnaire" not in info
    explained = requests.post(f"{base}/explain/anakinra-order-sign", json=signed_again(req, body), timeout=30).json()
    outcomes = clause_outcomes(explained)
    assert outcomes["initiation.1.b"] == "met" and outcomes["initiation.2"] == "met"


def test_the_loop_over_http_with_a_no_ends_not_covered_citing_the_clause(service):
    base, _app = service
    req = statement_gaps_request()
    body, info, link = first_sign(base, req)
    complete(open_form(link), consulted="false")

    body, info = sign(base, signed_again(req, body))
    assert info["covered"] == ["not-covered"] and "pa-needed" not in info
    assert "initiation.2" in cited(body)
    assert form_card(body) is None and "questionnaire" not in info
    explained = requests.post(f"{base}/explain/anakinra-order-sign", json=signed_again(req, body), timeout=30).json()
    assert clause_outcomes(explained)["initiation.2"] == "not-met"


# -- with auth on ------------------------------------------------------------------------------------


def sandbox_headers(url: str) -> dict:
    token = SANDBOX_KEY.sign(jwt_keys.claims(SANDBOX_ISSUER, url, int(time.time())), headers={"jku": SANDBOX_JKU})
    return {"Authorization": f"Bearer {token}"}


def other_patient(req: dict, new_id: str = "gaps-other-patient") -> dict:
    text = json.dumps(req).replace(req["context"]["patientId"], new_id)
    return json.loads(text)


def test_with_auth_on_the_package_needs_a_jwt_and_a_link_opens_only_its_own_context(tmp_path):
    deferred = DeferredApp()
    with LiveServer(deferred) as srv:
        base = srv.url
        settings = demo_settings().with_overrides(
            var_dir=str(tmp_path / "var"), auth_enabled=True, external_base_url=base, fhir_allow=()
        )
        assert settings.allow_sandbox_issuer
        app = deferred.app = create_app(settings, clock=pinned_clock)
        first, second = statement_gaps_request(), other_patient(statement_gaps_request())
        assert requests.post(base + SIGN, json=first, timeout=30).status_code == 401
        bodies = {}
        for name, req in (("first", first), ("second", second)):
            body, info = sign(base, req, sandbox_headers(base + SIGN))
            bodies[name] = (body, info["coverage-assertion-id"][0], form_card(body)["links"][0]["url"])

        context = bodies["first"][1]
        # the package: 401 without a JWT, 200 with one; another patient's coverage for this context: 404
        assert fetch_package(base, first, context).status_code == 401
        assert fetch_package(base, first, context, sandbox_headers(base + PACKAGE)).status_code == 200
        assert fetch_package(base, second, context, sandbox_headers(base + PACKAGE)).status_code == 404

        # the form needs no JWT (a browser has none): its signed link is its authorization
        first_form = open_form(bodies["first"][2])
        # a link naming the second context but bound to the first's order and patient (a mix-up, or a forgery
        # with the key) is refused: it never shows or stores the second patient's documentation
        links, services = app.extensions[EXTENSION_KEY].links, app.extensions["cds"]
        order_ref = f"MedicationRequest/{draft_order(first)['id']}"  # the same draft id in both EHRs
        assert order_ref == f"MedicationRequest/{draft_order(second)['id']}"
        first_patient = form_patient_ref(services.patient_hash(first["context"]["patientId"]))
        crossed = links.issue(
            FormLinkContext(bodies["second"][1], order_ref, first_patient, "Practitioner/p1"), PINNED_NOW
        )
        crossed_url = f"{base}/documentation/{crossed}"
        assert requests.get(crossed_url, timeout=20).status_code == 403
        assert (
            requests.post(
                crossed_url,
                data={"form_nonce": links.form_nonce(crossed), "a:specialist.consulted": "true"},
                timeout=20,
            ).status_code
            == 403
        )
        # the first patient's link stores the answers under the first patient only
        complete(first_form, consulted="true")
        docs = services.documentation_store()
        ids = [bodies["first"][1], bodies["second"][1]]
        assert len(docs.responses_for(services.patient_hash(first["context"]["patientId"]), assertion_ids=ids)) == 1
        assert docs.responses_for(services.patient_hash(second["context"]["patientId"]), assertion_ids=ids) == []
        # and the second patient's next order-sign is still conditional (nothing of the first is read back)
        body, info = sign(base, signed_again(second, bodies["second"][0]), sandbox_headers(base + SIGN))
        assert info["covered"] == ["conditional"]
