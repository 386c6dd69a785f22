"""The documentation form page over a Flask test client: render, signed link checks, submit, store."""

from __future__ import annotations

import logging
import re
from datetime import timedelta

import pytest
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

from cds_service.app import create_app
from cds_service.forms.links import FormLinkContext
from cds_service.web.documentation_form import EXTENSION_KEY
from tests.conftest import PINNED_NOW, pinned_clock
from tests.forms.sample_form import ORDER, PATIENT, PRACTITIONER, RXNORM, SUPPLY, package

CTX = FormLinkContext(context_id="caid-123", order_ref=ORDER, patient_ref=PATIENT, practitioner_ref=PRACTITIONER)


class Clock:
    def __init__(self):
        self.now = PINNED_NOW

    def __call__(self):
        return self.now


class Wiring:
    """The injected source and sink: one known context, the completed responses kept in a list."""

    def __init__(self):
        self.stored: list[tuple] = []
        self.package = package()
        self.fail_source = self.fail_sink = False

    def source(self, link):
        if self.fail_source:
            raise RuntimeError("package builder down")
        if link.context_id != "caid-123":
            raise LookupError(link.context_id)
        return self.package

    def sink(self, link, qr):
        if self.fail_sink:
            raise RuntimeError("store down")
        self.stored.append((link, qr))


@pytest.fixture
def wiring():
    return Wiring()


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def form_app(settings, wiring, clock):
    return create_app(settings, clock=clock, documentation_form=(wiring.source, wiring.sink))


@pytest.fixture
def form_client(form_app):
    return form_app.test_client()


def issue(app, ctx=CTX, now=PINNED_NOW) -> str:
    return app.extensions[EXTENSION_KEY].links.issue(ctx, now)


def nonce_of(html: str) -> str:
    return re.search(r'name="form_nonce" value="([^"]+)"', html).group(1)


def _answers(**extra) -> dict:
    data = {
        "a:on-anakinra": "true",
        "a:supply": f"coding:{SUPPLY}|plan-pharmacy",
        "a:at-risk": "true",
        "a:tried": f"coding:{RXNORM}|327361",
        "a:tnf-stopped": "2025-12-01",
        "a:start": "2026-03-10",
    }
    data.update(extra)
    return {k: v for k, v in data.items() if v is not None}


def test_form_renders_prefilled_answers_with_their_source(form_app, form_client):
    r = form_client.get(f"/documentation/{issue(form_app)}")
    assert r.status_code == 200 and r.mimetype == "text/html"
    html = r.get_data(as_text=True)
    assert "Kineret (anakinra) documentation" in html
    assert "Pre-filled from the plan&#39;s records" in html and "MedicationDispense/md-1" in html
    assert re.search(r'value="true" checked> Yes', html)  # on-anakinra pre-filled Yes
    assert re.search(rf'value="coding:{re.escape(SUPPLY)}\|plan-pharmacy" checked', html)
    assert "70.5" in html and "cannot be changed here" in html  # read-only weight
    shown = re.sub(r'data-fixed="[^"]*"', "", html)  # (the browser script gets fixed answers for enableWhen)
    assert "commercial" not in shown  # questionnaire-hidden item
    assert re.search(r'data-link-id="long-trial"[^>]*hidden', html)  # weeks unanswered
    assert '<label for="item-' in html and "<legend>" in html
    csp = r.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in csp and "script-src 'self'" in csp
    assert r.headers["Referrer-Policy"] == "no-referrer" and r.headers["Cache-Control"] == "no-store"
    assert "<script>" not in html and "style=" not in html  # nothing inline
    assert form_client.get("/documentation/static/enable_when.js").status_code == 200


def test_submit_stores_a_completed_response_and_says_what_next(form_app, form_client, wiring):
    token = issue(form_app)
    html = form_client.get(f"/documentation/{token}").get_data(as_text=True)
    r = form_client.post(f"/documentation/{token}", data={**_answers(), "form_nonce": nonce_of(html)})
    assert r.status_code == 200
    assert "Sign the order again" in r.get_data(as_text=True)
    ((link, qr),) = wiring.stored
    assert link.context_id == "caid-123"
    assert qr["status"] == "completed" and qr["subject"] == {"reference": PATIENT}
    assert qr["author"] == {"reference": PRACTITIONER} and qr["authored"] == "2026-03-02T15:00:00Z"
    QuestionnaireResponse.model_validate(qr)


def test_missing_required_answer_shows_errors_and_keeps_values(form_app, form_client, wiring):
    token = issue(form_app)
    nonce = nonce_of(form_client.get(f"/documentation/{token}").get_data(as_text=True))
    r = form_client.post(
        f"/documentation/{token}", data={**_answers(**{"a:start": None, "a:weeks": "four"}), "form_nonce": nonce}
    )
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert "There is a problem" in html and 'role="alert"' in html
    assert "Planned start date: Answer this question." in html
    assert "Enter a whole number." in html and 'value="four"' in html  # entered value kept
    assert 'aria-invalid="true"' in html
    assert html.startswith("<!doctype html>") and "<title>Error:" in html
    assert wiring.stored == []


def test_tampered_codes_never_reach_the_sink(form_app, form_client, wiring):
    token = issue(form_app)
    nonce = nonce_of(form_client.get(f"/documentation/{token}").get_data(as_text=True))
    r = form_client.post(
        f"/documentation/{token}", data={**_answers(**{"a:supply": f"coding:{SUPPLY}|free"}), "form_nonce": nonce}
    )
    assert r.status_code == 422 and "Choose one of the listed answers." in r.get_data(as_text=True)
    assert wiring.stored == []


def test_post_needs_the_nonce_of_this_link(form_app, form_client, wiring):
    token = issue(form_app)
    other = issue(form_app, FormLinkContext("caid-123", ORDER, PATIENT, "Practitioner/other"))
    other_nonce = nonce_of(form_client.get(f"/documentation/{other}").get_data(as_text=True))
    for data in (_answers(), {**_answers(), "form_nonce": other_nonce}):
        r = form_client.post(f"/documentation/{token}", data=data)
        assert r.status_code == 403 and "not sent from the form page" in r.get_data(as_text=True)
    assert wiring.stored == []


def test_tampered_token_is_a_403_page(form_app, form_client, caplog):
    token = issue(form_app)
    bad = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    with caplog.at_level(logging.INFO):
        for method in (form_client.get, form_client.post):
            r = method(f"/documentation/{bad}")
            assert r.status_code == 403 and r.mimetype == "text/html"
            assert "This link is not valid" in r.get_data(as_text=True)
    assert token not in caplog.text and bad not in caplog.text


def test_expired_token_is_a_403_page(form_app, form_client, clock, wiring):
    token = issue(form_app)
    html = form_client.get(f"/documentation/{token}").get_data(as_text=True)
    clock.now = PINNED_NOW + timedelta(minutes=31)
    r = form_client.post(f"/documentation/{token}", data={**_answers(), "form_nonce": nonce_of(html)})
    assert r.status_code == 403 and "expired" in r.get_data(as_text=True)
    assert wiring.stored == []


def test_link_for_another_patient_or_order_is_refused(form_app, form_client, wiring):
    for ctx in (
        FormLinkContext("caid-123", ORDER, "Patient/pat-2", PRACTITIONER),
        FormLinkContext("caid-123", "MedicationRequest/mr-9", PATIENT, PRACTITIONER),
    ):
        r = form_client.get(f"/documentation/{issue(form_app, ctx)}")
        assert r.status_code == 403 and "another order or patient" in r.get_data(as_text=True)


def test_unknown_context_is_a_404_page(form_app, form_client):
    r = form_client.get(f"/documentation/{issue(form_app, FormLinkContext('caid-999', ORDER, PATIENT, PRACTITIONER))}")
    assert r.status_code == 404 and "No documentation is waiting" in r.get_data(as_text=True)


def test_failures_behind_the_form_are_503_pages_never_500(form_app, form_client, wiring):
    token = issue(form_app)
    nonce = nonce_of(form_client.get(f"/documentation/{token}").get_data(as_text=True))
    wiring.fail_sink = True
    r = form_client.post(f"/documentation/{token}", data={**_answers(), "form_nonce": nonce})
    assert r.status_code == 503 and "could not be saved" in r.get_data(as_text=True)
    wiring.fail_source = True
    r = form_client.get(f"/documentation/{token}")
    assert r.status_code == 503 and "Traceback" not in r.get_data(as_text=True)
    wiring.fail_source = False
    wiring.package = ({"resourceType": "Questionnaire", "item": [{"type": "string"}]}, package()[1], [])
    assert form_client.get(f"/documentation/{token}").status_code == 503


def test_without_wiring_there_is_no_form_page(settings):
    client = create_app(settings, clock=pinned_clock, documentation_form=None).test_client()
    assert client.get("/documentation/anything").status_code == 404
    assert (
        create_app(settings, clock=pinned_clock, store=None).test_client().get("/documentation/anything").status_code
        == 404
    )  # no store: nothing to show or keep


def test_by_default_the_form_page_is_served_and_refuses_a_bad_link(client):
    response = client.get("/documentation/anything")
    assert response.status_code == 403 and "Traceback" not in response.get_data(as_text=True)


def test_form_link_lifetime_setting(settings, wiring, clock):
    app = create_app(
        settings.with_overrides(form_link_minutes=5), clock=clock, documentation_form=(wiring.source, wiring.sink)
    )
    token = issue(app)
    clock.now = PINNED_NOW + timedelta(minutes=6)
    assert app.test_client().get(f"/documentation/{token}").status_code == 403


def test_with_auth_on_the_signed_link_is_what_opens_the_form(settings, wiring, clock):
    app = create_app(
        settings.with_overrides(auth_enabled=True), clock=clock, documentation_form=(wiring.source, wiring.sink)
    )
    c = app.test_client()
    token = issue(app)
    # A browser has no CDS Client JWT: the signed link is the form's authorization, and the hooks still need one.
    assert c.get(f"/documentation/{token}").status_code == 200
    assert c.post("/cds-services/anakinra-order-sign", json={}).status_code == 401
    assert c.get(f"/documentation/{token[:-2]}xx").status_code == 403
    assert c.get("/documentation/").status_code in (401, 404)
