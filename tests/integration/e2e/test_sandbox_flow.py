"""The demo in the CDS Hooks Sandbox (issue 7, README.md, "Demo in the CDS Hooks Sandbox"), replayed request by request.

Every request here is what the Sandbox sends (shared/reference/cds-hooks-2.0.md §8 and the
issue's observations of a local Sandbox build driven in Chromium):
- at load, Rx View (`hook=order-select&screen=rx-view`) fires order-select with an empty draft:
  `request-123` with only resourceType, id, status, subject and authoredOn (today);
- a click on a suggestion sends a feedback POST, then replaces the drafted medication with the
  suggestion's `medicationCodeableConcept.text` and `coding[0].code` (nothing else) and fires
  order-select again; Rx Sign -> Sign Order sends order-sign with the same order;
- the order is always `1 {pill}` daily, a 30-day supply, no quantity, no route, `category` a single
  object (community), `reasonCode` a single object (the Condition chosen under "Treating") and only
  on order-select; no encounterId, no Bundle.type, no fhirAuthorization;
- its browser-side prefetch leaves out keys that fail; an empty search arrives as a Bundle with
  total 0; every GET and POST carries an ES384 JWT (iss https://sandbox.cds-hooks.org, aud the exact
  URL called, jku the Sandbox's JWKS); preflights carry none.

The demo patients (cds_service/demo_charts/demo.json) are served to the Sandbox's prefetch by an in-process
sekmet store (the embedded FHIR server's engine), on the fixtures' day and rebased to a later day
(the Sandbox dates orders today), and, with no prefetch at all, read by the service itself from the
FHIR test server (`make test`). Expectations come from demo.json (written from the guideline).
"""

from __future__ import annotations

import copy
import json
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qsl

import pytest
import requests
from fhir.resources.R4B import get_fhir_model_class
from sekmet.config import Settings as SekmetSettings
from sekmet.fhir.bundle import process_bundle
from sekmet.fhir.common import FhirError
from sekmet.fhir.service import FhirService
from sekmet.fhir.store import Store as SekmetStore

from cds_service.app import create_app
from cds_service.config import demo_settings, from_env
from cds_service.embedded_fhir import rebase_dates
from cds_service.web.auth import SANDBOX_ISSUER, SANDBOX_JKU
from fhir_fixtures import DEMO_MANIFEST_FILE, load_bundle
from tests.e2e.helpers import card_kinds, coverage_infos, walk
from tests.integration.conftest import LiveServer
from tests.integration.html_form import BrowserForm
from tests.web import jwt_keys

MANIFEST = json.loads(DEMO_MANIFEST_FILE.read_text(encoding="utf-8"))
PATIENTS = {p["patientId"]: p for p in MANIFEST["patients"]}
FIXTURE_DAY = date.fromisoformat(MANIFEST["datesRelativeTo"])
LATER_DAY = date(2027, 8, 19)  # a demo run long after the fixtures were written
SANDBOX_USER = MANIFEST["sandboxUser"]  # Practitioner/COREPRACTITIONER1, fixed in the Sandbox
SANDBOX_FHIR = (
    "http://127.0.0.1:8913/fhir"  # fhirServiceUrl of README.md, "Demo in the CDS Hooks Sandbox": the embedded server
)
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
UCUM = "http://unitsofmeasure.org"
CATEGORY_CS = "http://terminology.hl7.org/CodeSystem/medicationrequest-category"
SERVICE = {"order-select": "anakinra-order-select", "order-sign": "anakinra-order-sign"}
SANDBOX_KEY = jwt_keys.sandbox_key()


# -- the Sandbox, as a client ----------------------------------------------------------------------


def sandbox_jwt(aud: str) -> str:
    """Minted as the Sandbox's jwt-generator.js does: ES384, its kid and jku, aud = the URL called."""
    now = int(time.time())
    return SANDBOX_KEY.sign(jwt_keys.claims(SANDBOX_ISSUER, aud, now), headers={"jku": SANDBOX_JKU})


def sandbox_post(url: str, body: dict) -> requests.Response:
    return requests.post(
        url,
        json=body,
        timeout=20,
        headers={"Accept": "application/json", "Authorization": f"Bearer {sandbox_jwt(url)}"},
    )


def sandbox_prefetch(fhir: FhirService, templates: dict[str, str], patient_id: str) -> dict:
    """The Sandbox's prefetch: tokens filled, each query run against the FHIR server, failures left out."""
    _user_type, _, user_id = SANDBOX_USER.partition("/")
    out = {}
    for key, template in templates.items():
        url = (
            template.replace("{{context.patientId}}", patient_id)
            .replace("{{context.userId}}", SANDBOX_USER)
            .replace("{{userPractitionerId}}", user_id)
        )
        if "{{" in url:  # a token the Sandbox cannot fill: the key is skipped
            continue
        path, _, query = url.partition("?")
        try:
            result = fhir.search(path, parse_qsl(query)) if query else fhir.read(*path.split("/", 1))
        except FhirError:  # e.g. a 404 read: left out, never sent as null
            continue
        if result.status == 200 and result.body:
            out[key] = result.body
    return out


def sandbox_order(patient_id: str, day: date, medication: dict | None = None, reason: dict | None = None) -> dict:
    """The MedicationRequest the Sandbox builds (createFhirResource, R4 server)."""
    order = {
        "resourceType": "MedicationRequest",
        "id": "request-123",
        "status": "draft",
        "subject": {"reference": f"Patient/{patient_id}"},
        "authoredOn": day.isoformat(),
    }
    if medication is None:
        return order
    order["dosageInstruction"] = [
        {
            "timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}},
            "doseAndRate": [{"doseQuantity": {"value": 1, "system": UCUM, "code": "{pill}"}}],
        }
    ]
    order["dispenseRequest"] = {"expectedSupplyDuration": {"value": 30, "unit": "days", "system": UCUM, "code": "d"}}
    order["intent"] = "order"
    order["category"] = {"coding": [{"system": CATEGORY_CS, "code": "community"}]}
    order["medicationCodeableConcept"] = {
        "text": medication["name"],
        "coding": [{"display": medication["name"], "system": RXNORM, "code": medication["id"]}],
    }
    if reason is not None:
        order["reasonCode"] = reason
    return order


def sandbox_request(hook: str, patient_id: str, order: dict, prefetch: dict | None, fhir_server: str) -> dict:
    context = {
        "patientId": patient_id,
        "userId": SANDBOX_USER,
        "draftOrders": {"resourceType": "Bundle", "entry": [{"resource": order}]},
    }
    if hook == "order-select":
        context["selections"] = ["MedicationRequest/request-123"]
    req = {"hookInstance": str(uuid.uuid4()), "hook": hook, "fhirServer": fhir_server, "context": context}
    if prefetch:
        req["prefetch"] = prefetch
    return req


def taken_medication(suggestion: dict) -> dict:
    """What the Sandbox keeps from a clicked suggestion (TAKE_SUGGESTION): the text and coding[0].code."""
    for action in suggestion["actions"]:
        assert action.get("description"), "the Sandbox logs an error for an action without description"
        mcc = (action.get("resource") or {}).get("medicationCodeableConcept") or {}
        if action["type"] in ("create", "update") and mcc.get("text") and (mcc.get("coding") or [{}])[0].get("code"):
            return {"name": mcc["text"], "id": mcc["coding"][0]["code"]}
    raise AssertionError(f"the Sandbox would ignore this suggestion: {suggestion}")


class Sandbox:
    """One Sandbox tab: the patient, the drafted medication, the Condition chosen under "Treating"."""

    def __init__(
        self, base_url: str, patient_id: str, day: date, fhir: FhirService | None, fhir_server: str = SANDBOX_FHIR
    ):
        self.base, self.patient_id, self.day, self.fhir_server = base_url, patient_id, day, fhir_server
        discovery = requests.get(
            f"{base_url}/cds-services",
            timeout=10,
            headers={
                "Accept": "application/json",
                "Authorization": f"Bearer {sandbox_jwt(base_url + '/cds-services')}",
            },
        )
        assert discovery.status_code == 200, discovery.text
        self.services = {s["hook"]: s for s in discovery.json()["services"]}
        self.fhir = fhir
        self.medication: dict | None = None
        self.treating: dict | None = None

    def fire(self, hook: str, *, prefetch_override: dict | None = None) -> dict:
        service = self.services[hook]
        prefetch = None
        if self.fhir is not None:
            prefetch = sandbox_prefetch(self.fhir, service["prefetch"], self.patient_id)
            prefetch.update(prefetch_override or {})
        order = sandbox_order(
            self.patient_id, self.day, self.medication, self.treating if hook == "order-select" else None
        )
        self.last_request = sandbox_request(hook, self.patient_id, order, prefetch, self.fhir_server)
        resp = sandbox_post(f"{self.base}/cds-services/{service['id']}", self.last_request)
        assert resp.status_code == 200, resp.text
        assert resp.headers["Access-Control-Allow-Origin"] == "*"
        return resp.json()

    def explain(self, hook: str) -> dict:
        resp = requests.post(f"{self.base}/explain/{self.services[hook]['id']}", json=self.last_request, timeout=20)
        assert resp.status_code == 200, resp.text
        return resp.json()

    def click(self, hook: str, card: dict, suggestion: dict) -> None:
        feedback = {
            "feedback": [
                {
                    "card": card["uuid"],
                    "outcome": "accepted",
                    "acceptedSuggestions": [{"id": suggestion["uuid"]}],
                    "outcomeTimestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                }
            ]
        }
        resp = sandbox_post(f"{self.base}/cds-services/{self.services[hook]['id']}/feedback", feedback)
        assert resp.status_code == 200, resp.text
        self.medication = taken_medication(suggestion)


def demo_card(body: dict) -> tuple[dict, dict]:
    """The one card of an empty-draft answer, and its "Draft Kineret order" suggestion."""
    assert not body.get("systemActions"), "nothing is ordered yet: no coverage information"
    assert len(body["cards"]) == 1, body
    card = body["cards"][0]
    assert card["indicator"] == "info" and card["uuid"] and card["extension"]["anakinra-cds.finding"] == "demo-draft"
    assert len(card["suggestions"]) == 1
    suggestion = card["suggestions"][0]
    assert suggestion["uuid"] and suggestion["label"].startswith("Draft Kineret order")
    return card, suggestion


# -- expectations (cds_service/demo_charts/demo.json) --------------------------------------------------------


def required_kinds(patient_id: str, hook: str) -> list[str]:
    return [k for k in PATIENTS[patient_id]["expect"][hook]["findings"] if k != "none"]


def check_shows(body: dict, patient_id: str, hook: str, sent_order: dict) -> dict:
    """The answer says what demo.json says the Sandbox shows; returns the coverage information."""
    expect = PATIENTS[patient_id]["expect"][hook]
    infos = coverage_infos(body)
    assert list(infos) == ["MedicationRequest/request-123"], body
    info = infos["MedicationRequest/request-123"]
    assert info["covered"] == [expect["determination"]], (
        patient_id,
        hook,
        info["covered"],
        [c["summary"] for c in body["cards"]],
    )
    action = body["systemActions"][0]
    assert action["type"] == "update"
    unchanged = {k: v for k, v in action["resource"].items() if k != "extension"}
    assert unchanged == sent_order, "the coverage-information action changes nothing but its extension"
    kinds = card_kinds(body)
    wanted = required_kinds(patient_id, hook)
    for kind in wanted:
        assert kind in kinds, (patient_id, hook, kind, kinds)
    allowed = set(PATIENTS[patient_id]["expect"][hook]["findings"]) - {"none"}
    if expect["determination"] == "conditional":
        allowed.add("documentation")
    assert set(kinds) <= allowed, (patient_id, hook, kinds)
    if expect["findings"] == ["none"]:
        assert not [c for c in body["cards"] if c["indicator"] != "info"], kinds
    if hook == "order-select":  # a secondary hook: never asks for documentation
        assert "doc-needed" not in info and "doc-purpose" not in info
    return info


# -- fixtures ---------------------------------------------------------------------------------------


def demo_bundles(day: date) -> list[dict]:
    return [
        rebase_dates(json.loads((DEMO_MANIFEST_FILE.parent / rel).read_text(encoding="utf-8")), day)
        for rel in MANIFEST["bundles"]
    ]


@pytest.fixture(scope="module")
def demo_fhir(tmp_path_factory):
    """The embedded FHIR server's engine in-process, holding the demo charts rebased to a day."""
    stores: dict[date, FhirService] = {}

    def for_day(day: date) -> FhirService:
        if day not in stores:
            path = tmp_path_factory.mktemp(f"fhir-{day.isoformat()}") / "fhir.sqlite"
            service = FhirService(SekmetStore(str(path)), SekmetSettings(base_url=SANDBOX_FHIR))
            for bundle in demo_bundles(day):
                assert process_bundle(service, bundle).status == 200
            stores[day] = service
        return stores[day]

    return for_day


def pinned_at(day: date):
    return lambda: datetime(day.year, day.month, day.day, 15, 0, tzinfo=UTC)


def demo_app(tmp_path: Path, day: date, **overrides):
    # fhir_allow=(): with the Sandbox's prefetch the service needs nothing from the FHIR server.
    settings = demo_settings().with_overrides(var_dir=str(tmp_path / "var"), fhir_allow=(), **overrides)
    return create_app(settings, clock=pinned_at(day))


class DeferredApp:
    """A WSGI app set after the server is bound (JWT aud needs the server's own URL)."""

    app = None

    def __call__(self, environ, start_response):
        return self.app(environ, start_response)


# -- (a) order-select at load with an empty draft -----------------------------------------------------


@pytest.mark.parametrize("hook", ["order-select", "order-sign"])
def test_empty_draft_gets_the_draft_kineret_card(tmp_path, demo_fhir, hook):
    # order-select fires at load; order-sign when Sign Order is pressed before any drug is drafted.
    with LiveServer(demo_app(tmp_path, FIXTURE_DAY)) as srv:
        sandbox = Sandbox(srv.url, "demo-ra-covered", FIXTURE_DAY, demo_fhir(FIXTURE_DAY))
        body = sandbox.fire(hook)
    sent = sandbox.last_request
    assert set(sent["context"]["draftOrders"]["entry"][0]["resource"]) == {
        "resourceType",
        "id",
        "status",
        "subject",
        "authoredOn",
    }
    assert "type" not in sent["context"]["draftOrders"] and "encounterId" not in sent["context"]
    assert "fhirAuthorization" not in sent
    card, suggestion = demo_card(body)
    assert card["selectionBehavior"] == "at-most-one"
    medication = taken_medication(suggestion)
    assert medication["id"] == "727711" and "Kineret" in medication["name"]
    assert suggestion["actions"][0]["resource"]["id"] == "request-123"


# -- (b), (c), (d): the whole demo for each demo patient -------------------------------------------------


@pytest.mark.parametrize("day", [FIXTURE_DAY, LATER_DAY], ids=["fixture-day", "later-day"])
@pytest.mark.parametrize("patient_id", list(PATIENTS))
def test_sandbox_demo_shows_the_patients_headline(tmp_path, demo_fhir, patient_id, day):
    fhir = demo_fhir(day)
    with LiveServer(demo_app(tmp_path, day)) as srv:
        sandbox = Sandbox(srv.url, patient_id, day, fhir)
        # Load: Rx View fires order-select with the empty draft; our card offers the Kineret draft.
        card, suggestion = demo_card(sandbox.fire("order-select"))
        # Click: feedback POST, then the drafted medication becomes Kineret 727711.
        sandbox.click("order-select", card, suggestion)
        # "Treating": the patient's Condition, sent as a single reasonCode object (order-select only).
        conditions = fhir.search("Condition", [("patient", patient_id)]).body["entry"]
        treating = PATIENTS[patient_id]["conditions"][0]
        sandbox.treating = next(e["resource"]["code"] for e in conditions if e["resource"]["code"]["text"] == treating)
        preview = sandbox.fire("order-select")
        assert isinstance(sandbox.last_request["context"]["draftOrders"]["entry"][0]["resource"]["reasonCode"], dict)
        check_shows(
            preview, patient_id, "order-select", sandbox.last_request["context"]["draftOrders"]["entry"][0]["resource"]
        )
        # Rx Sign -> Sign Order.
        signed = sandbox.fire("order-sign")
        order = sandbox.last_request["context"]["draftOrders"]["entry"][0]["resource"]
        assert "reasonCode" not in order
        info = check_shows(signed, patient_id, "order-sign", order)
        if PATIENTS[patient_id]["expect"]["order-sign"]["determination"] == "covered":
            # An unsolicited determination: the plan's approval, in the systemAction only (no card).
            assert info["pa-needed"] == ["satisfied"] and info["satisfied-pa-id"], info
        explained = sandbox.explain("order-sign")
    assert not explained.get("technicalErrors") and not explained.get("unavailable"), explained


def test_sandbox_order_is_read_as_100_mg_daily_30_syringes_per_30_days(tmp_path, demo_fhir):
    with LiveServer(demo_app(tmp_path, FIXTURE_DAY)) as srv:
        sandbox = Sandbox(srv.url, "demo-ra-covered", FIXTURE_DAY, demo_fhir(FIXTURE_DAY))
        sandbox.medication = taken_medication(demo_card(sandbox.fire("order-select"))[1])
        sandbox.fire("order-select")
        explained = sandbox.explain("order-select")
    order = explained["orders"][0]
    nodes = {n["clause"]: n for top in order["clauses"] for n in walk(top)}
    limit = nodes["initiation.5.a"]
    assert limit["outcome"] == "met"
    values = {e.get("value") for e in limit["evidence"]}
    assert {"100 mg/day", "28 syringes/28 d"} <= values, limit["evidence"]
    described = " | ".join(e["description"] for e in limit["evidence"])
    assert "1 {pill}" in described and "100 mg" in described
    assert "30 syringes" in described, described
    assert nodes["position.site-of-care"]["outcome"] == "met"  # category as a single object: community


def test_reason_code_object_counts_as_the_indication(tmp_path, demo_fhir):
    """With no Condition on file, the order-select reasonCode object alone establishes RA."""
    fhir = demo_fhir(FIXTURE_DAY)
    no_conditions = {"resourceType": "Bundle", "type": "searchset", "total": 0}
    ra_code = next(
        e["resource"]["code"] for e in fhir.search("Condition", [("patient", "demo-ra-covered")]).body["entry"]
    )
    outcomes = {}
    with LiveServer(demo_app(tmp_path, FIXTURE_DAY)) as srv:
        sandbox = Sandbox(srv.url, "demo-ra-covered", FIXTURE_DAY, fhir)
        sandbox.medication = taken_medication(demo_card(sandbox.fire("order-select"))[1])
        for label, reason in (("with reasonCode", ra_code), ("without", None)):
            sandbox.treating = reason
            body = sandbox.fire("order-select", prefetch_override={"conditions": no_conditions})
            explained = sandbox.explain("order-select")
            outcomes[label] = (
                coverage_infos(body)["MedicationRequest/request-123"]["covered"][0],
                explained["orders"][0].get("indication"),
                json.dumps(explained),
            )
    determination, indication, trace = outcomes["with reasonCode"]
    assert (determination, indication) == ("covered", "ra"), outcomes
    assert "MedicationRequest/request-123.reasonCode" in trace
    assert outcomes["without"][0] != "covered" and outcomes["without"][1] != "ra"


def test_feedback_as_the_sandbox_sends_it(tmp_path, demo_fhir):
    with LiveServer(demo_app(tmp_path, FIXTURE_DAY)) as srv:
        sandbox = Sandbox(srv.url, "demo-ra-step-therapy", FIXTURE_DAY, demo_fhir(FIXTURE_DAY))
        card, suggestion = demo_card(sandbox.fire("order-select"))
        sandbox.click("order-select", card, suggestion)  # accepted, asserted 200 inside
        body = sandbox.fire("order-select")
        warning = next(c for c in body["cards"] if c["extension"]["anakinra-cds.finding"] == "step-therapy")
        reason = warning["overrideReasons"][0]
        overridden = {
            "feedback": [
                {
                    "card": warning["uuid"],
                    "outcome": "overridden",
                    "overrideReason": {"reason": {"code": reason["code"], "system": reason["system"]}},
                    "outcomeTimestamp": "2026-03-02T15:04:05.123Z",
                }
            ]
        }
        resp = sandbox_post(f"{srv.url}/cds-services/anakinra-order-select/feedback", overridden)
        assert resp.status_code == 200, resp.text
        assert resp.json()["received"] == 1
        broken = copy.deepcopy(overridden)
        broken["feedback"][0]["outcome"] = "ignored"
        assert sandbox_post(f"{srv.url}/cds-services/anakinra-order-select/feedback", broken).status_code == 400


# -- (e) never in production -------------------------------------------------------------------------


def test_demo_card_never_in_the_production_profile(tmp_path):
    env = {"CDS_AUTH": "false", "CDS_DEMO_DRAFT_CARD": "true", "CDS_VAR_DIR": str(tmp_path / "var")}
    production = from_env(env, profile="production")
    assert production.demo_draft_card is False and production.allow_sandbox_issuer is False
    demo = from_env(env, profile="demo")
    answers = {}
    for name, settings in (("production", production), ("demo", demo)):
        with LiveServer(create_app(settings, clock=pinned_at(FIXTURE_DAY))) as srv:
            for hook, service_id in SERVICE.items():
                req = sandbox_request(
                    hook, "demo-ra-covered", sandbox_order("demo-ra-covered", FIXTURE_DAY), None, SANDBOX_FHIR
                )
                resp = sandbox_post(f"{srv.url}/cds-services/{service_id}", req)
                assert resp.status_code == 200, resp.text
                answers[(name, hook)] = resp.json()
    for hook in SERVICE:
        nothing = {"cards": [], "systemActions": []} if hook == "order-sign" else {"cards": []}
        assert answers[("production", hook)] == nothing
        demo_card(answers[("demo", hook)])


# -- (f) the Sandbox's JWT with auth turned on ------------------------------------------------------------


def test_sandbox_jwt_is_accepted_when_auth_is_on_in_demo(tmp_path):
    deferred = DeferredApp()
    with LiveServer(deferred) as srv:
        env = {"CDS_AUTH": "true", "CDS_VAR_DIR": str(tmp_path / "var"), "CDS_EXTERNAL_BASE_URL": srv.url}
        settings = from_env(env, profile="demo")
        assert settings.auth_enabled and settings.allow_sandbox_issuer
        deferred.app = create_app(settings, clock=pinned_at(FIXTURE_DAY))
        sandbox = Sandbox(srv.url, "demo-ra-covered", FIXTURE_DAY, None)  # discovery with the JWT: 200
        card, suggestion = demo_card(sandbox.fire("order-select"))
        sandbox.click("order-select", card, suggestion)
        # Negative controls: the check is real.
        url = f"{srv.url}/cds-services/anakinra-order-select"
        req = sandbox_request(
            "order-select", "demo-ra-covered", sandbox_order("demo-ra-covered", FIXTURE_DAY), None, SANDBOX_FHIR
        )
        assert requests.post(url, json=req, timeout=10).status_code == 401
        wrong_aud = requests.post(
            url, json=req, timeout=10, headers={"Authorization": f"Bearer {sandbox_jwt(srv.url + '/cds-services')}"}
        )
        assert wrong_aud.status_code == 401 and wrong_aud.content == b""

    deferred = DeferredApp()
    with LiveServer(deferred) as srv:
        env = {
            "CDS_AUTH": "true",
            "CDS_ALLOW_SANDBOX_ISSUER": "false",
            "CDS_VAR_DIR": str(tmp_path / "var2"),
            "CDS_EXTERNAL_BASE_URL": srv.url,
        }
        deferred.app = create_app(from_env(env, profile="demo"), clock=pinned_at(FIXTURE_DAY))
        resp = sandbox_post(f"{srv.url}/cds-services/anakinra-order-select", req)
        assert resp.status_code == 401


# -- (h) the documentation form (issue 21): Sign -> card -> form -> Sign again -> approval -----------------------

DOCUMENTATION_DEMO = "demo-ra-documentation"


@pytest.mark.parametrize("at_risk", ["true", "false"])
def test_sandbox_demo_completes_the_documentation_and_signs_again(tmp_path, demo_fhir, at_risk):
    """What the README's "Completing the documentation" walks: Rx View, Sign, the card's link opened in a browser
    tab, the open questions answered, Sign again: covered, the plan's approval issued. The Sandbox does not apply
    the coverage-information systemAction, so the second Sign sends the same draft: the answers are read back by
    the order (request-123) for the same patient."""
    fhir = demo_fhir(FIXTURE_DAY)
    deferred = DeferredApp()
    with LiveServer(deferred) as srv:
        settings = demo_settings().with_overrides(
            var_dir=str(tmp_path / "var"), fhir_allow=(), external_base_url=srv.url
        )
        deferred.app = create_app(settings, clock=pinned_at(FIXTURE_DAY))
        sandbox = Sandbox(srv.url, DOCUMENTATION_DEMO, FIXTURE_DAY, fhir)
        card, suggestion = demo_card(sandbox.fire("order-select"))
        sandbox.click("order-select", card, suggestion)
        signed = sandbox.fire("order-sign")
        order = sandbox.last_request["context"]["draftOrders"]["entry"][0]["resource"]
        info = check_shows(signed, DOCUMENTATION_DEMO, "order-sign", order)
        assert info["questionnaire"][0].startswith(f"{srv.url}/fhir/Questionnaire/kineret-09-J0000-45|")
        (form_card,) = [c for c in signed["cards"] if c["extension"]["anakinra-cds.finding"] == "documentation-form"]
        assert form_card["summary"] == "Complete the Kineret documentation"
        (link,) = form_card["links"]
        assert link["type"] == "absolute" and link["url"].startswith(f"{srv.url}/documentation/")

        form = BrowserForm.open(requests.Session(), link["url"])  # a new browser tab: no JWT, no Referer
        assert form.response.status_code == 200 and form.value("indication") and form.value("pathway")
        for link_id in ("continuing.treated", "continuing.not-samples"):
            form.answer(link_id, "true")
        form.answer("continuing.at-risk", at_risk)
        done = form.submit()
        assert done.status_code == 200 and "Sign the order again" in done.text

        again = sandbox.fire("order-sign")
        (info,) = coverage_infos(again).values()
        if at_risk == "false":
            # a "no" to 1.b while step therapy (1.c) is still open decides nothing: still conditional
            assert info["covered"] == ["conditional"], [c["summary"] for c in again["cards"]]
            outcomes = {
                n["clause"]: n["outcome"]
                for o in sandbox.explain("order-sign")["orders"]
                for top in o["clauses"]
                for n in walk(top)
            }
            assert outcomes["initiation.1.b"] == "not-met" and outcomes["initiation.1"] == "unknown"
            return
        assert info["covered"] == ["covered"], [c["summary"] for c in again["cards"]]
        assert info["pa-needed"] == ["satisfied"] and info["satisfied-pa-id"][0].startswith("PA-")
        assert "documentation-form" not in card_kinds(again)
        explained = sandbox.explain("order-sign")
    outcomes = {n["clause"]: n["outcome"] for o in explained["orders"] for top in o["clauses"] for n in walk(top)}
    assert outcomes["initiation.1.b"] == "met" and outcomes["initiation.1"] == "met"


# -- (g) CORS preflight, including Chrome's Private Network Access ----------------------------------------


def test_preflight_needs_no_auth_and_allows_the_private_network(tmp_path):
    deferred = DeferredApp()
    with LiveServer(deferred) as srv:
        env = {"CDS_AUTH": "true", "CDS_VAR_DIR": str(tmp_path / "var"), "CDS_EXTERNAL_BASE_URL": srv.url}
        deferred.app = create_app(from_env(env, profile="demo"), clock=pinned_at(FIXTURE_DAY))
        for path, method in (
            ("/cds-services", "GET"),
            ("/cds-services/anakinra-order-select", "POST"),
            ("/cds-services/anakinra-order-sign", "POST"),
            ("/cds-services/anakinra-order-sign/feedback", "POST"),
        ):
            resp = requests.options(
                srv.url + path,
                timeout=10,
                headers={
                    "Origin": "https://sandbox.cds-hooks.org",
                    "Access-Control-Request-Method": method,
                    "Access-Control-Request-Headers": "authorization,content-type",
                    "Access-Control-Request-Private-Network": "true",
                },
            )
            assert resp.status_code in (200, 204), (path, resp.status_code)
            assert resp.headers["Access-Control-Allow-Origin"] == "*"
            assert resp.headers["Access-Control-Allow-Private-Network"] == "true"
            assert method in resp.headers["Access-Control-Allow-Methods"]
            allowed = {h.strip().lower() for h in resp.headers["Access-Control-Allow-Headers"].split(",")}
            assert {"authorization", "content-type"} <= allowed
        plain = requests.options(
            srv.url + "/cds-services",
            timeout=10,
            headers={"Origin": "http://localhost:8000", "Access-Control-Request-Method": "GET"},
        )
        assert "Access-Control-Allow-Private-Network" not in plain.headers


# -- the demo charts themselves ------------------------------------------------------------------------------


def test_demo_bundles_are_valid_r4_and_serve_what_the_sandbox_reads(demo_fhir):
    for bundle in demo_bundles(FIXTURE_DAY):
        assert bundle["type"] == "transaction"
        get_fhir_model_class("Bundle").model_validate(bundle)
    fhir = demo_fhir(FIXTURE_DAY)
    user_id = SANDBOX_USER.split("/")[1]
    assert fhir.read("Practitioner", user_id).status == 200
    roles = fhir.search("PractitionerRole", [("practitioner", user_id)]).body
    assert roles["total"] >= 1
    for patient_id in PATIENTS:
        patient = fhir.read("Patient", patient_id).body
        assert patient["name"][0]["given"] and patient["name"][0]["family"]  # the Sandbox's banner
        conditions = fhir.search("Condition", [("patient", patient_id)]).body  # the "Treating" list
        assert conditions["total"] > 0
        for entry in conditions["entry"]:
            code = entry["resource"]["code"]
            assert code["coding"][0]["code"] and code["text"]
        assert sorted(e["resource"]["code"]["text"] for e in conditions["entry"]) == sorted(
            PATIENTS[patient_id]["conditions"]
        )
    prefetch = sandbox_prefetch(fhir, {"d": "MedicationDispense?patient={{context.patientId}}"}, "demo-ra-covered")
    assert prefetch["d"]["total"] == 0 and "entry" not in prefetch["d"]  # empty search: a Bundle, total 0


def test_rebasing_moves_every_date_by_the_same_days_and_leaves_other_bundles_alone():
    bundle = load_bundle("demo-nomid-weight")
    moved = rebase_dates(bundle, LATER_DAY)
    days = (LATER_DAY - FIXTURE_DAY).days
    assert moved["timestamp"].startswith(LATER_DAY.isoformat())

    def resource(b, rtype, rid):
        return next(
            e["resource"] for e in b["entry"] if e["resource"]["resourceType"] == rtype and e["resource"]["id"] == rid
        )

    for rtype, rid, field in (
        ("Patient", "demo-nomid-weight", "birthDate"),
        ("Observation", "demo-nomid-weight-wt-1", "effectiveDateTime"),
        ("Observation", "demo-nomid-weight-wt-1", "issued"),
        ("Condition", "demo-nomid-weight-dx", "onsetDateTime"),
    ):
        before, after = resource(bundle, rtype, rid)[field], resource(moved, rtype, rid)[field]
        assert date.fromisoformat(after[:10]) - date.fromisoformat(before[:10]) == timedelta(days=days)
        assert after[10:] == before[10:], "time of day and offset are kept"
    assert (
        resource(moved, "Observation", "demo-nomid-weight-wt-1")["code"]
        == resource(bundle, "Observation", "demo-nomid-weight-wt-1")["code"]
    )
    assert bundle["timestamp"].startswith(FIXTURE_DAY.isoformat()), "the input is not modified"
    scenario = load_bundle("ra-complete")
    assert rebase_dates(scenario, LATER_DAY) == scenario


# -- without prefetch: the service reads the FHIR test server (make test) ------------------------------------


@pytest.mark.fhirserver
@pytest.mark.parametrize("patient_id", list(PATIENTS))
def test_sandbox_demo_without_prefetch_reads_the_fhir_server(tmp_path, fhir_base, patient_id):
    # scripts/test.sh loaded the demo charts rebased to its load day: the Sandbox dates its order today.
    today = date.today()
    settings = demo_settings().with_overrides(var_dir=str(tmp_path / "var"), fhir_allow=(fhir_base,))
    with LiveServer(create_app(settings, clock=pinned_at(today))) as srv:
        sandbox = Sandbox(srv.url, patient_id, today, None, fhir_server=fhir_base)
        card, suggestion = demo_card(sandbox.fire("order-select"))
        sandbox.click("order-select", card, suggestion)
        check_shows(
            sandbox.fire("order-select"),
            patient_id,
            "order-select",
            sandbox.last_request["context"]["draftOrders"]["entry"][0]["resource"],
        )
        check_shows(
            sandbox.fire("order-sign"),
            patient_id,
            "order-sign",
            sandbox.last_request["context"]["draftOrders"]["entry"][0]["resource"],
        )
        explained = sandbox.explain("order-sign")
    assert not explained.get("technicalErrors"), explained.get("technicalErrors")
