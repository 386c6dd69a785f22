"""Fault injection at the hook level: the EHR's FHIR server misbehaves, or points somewhere it must not.

The hook endpoint is called with `fhirServer` pointing at a misbehaving loopback FHIR server
(tests/gather/misbehaving_fhir.py: slow, hanging, dripping, 500, HTML, truncated, huge, gzip bomb,
endless paging, redirects, foreign next links) and no prefetch, so every required key must be
fetched, with a 0.5 s FHIR budget. Each call:
- returns (a call still running after tests/no_hang.py's bound fails as hung; no assertion on its duration);
- answers 200 with the CRD coverage information `indeterminate`, reason `technical` (412 only when
  the request names no fhirServer at all), never a 500.
SSRF: a loopback listener that is not on the allow-list receives no connection, whether it is named
as fhirServer, reached through a 302 from an allowed server, or named by a `next` link (in prefetch
or in a search result).
Logs: the structured call log (`anakinra_cds.calls`), and every other log line, never carries the
FHIR access token, the inbound JWT, the patient id or names.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from datetime import UTC, datetime

import pytest

from cds_service.app import create_app
from cds_service.config import Settings, TrustedIssuer
from cds_service.gather.data_needs import data_needs
from tests.conftest import pinned_clock
from tests.e2e.helpers import coverage_infos
from tests.gather.misbehaving_fhir import MisbehavingFhir
from tests.no_hang import finishes
from tests.web import jwt_keys as K

BUDGET = 0.5
TOKEN = "synthetic-fhir-access-token-5d1f7c0a9e3b4862"
PATIENT_ID = "pat-fault-7Q4Z"
PATIENT_NAME = ("Quagmire-Synthetic", "Zebediah")
PRESCRIBER_NAME = "Dr. Ottoline Fakename"
HASH_KEY = "fault-injection-test-key"
TEMP_CS = "http://hl7.org/fhir/us/davinci-crd/CodeSystem/temp"
BASE = "https://cds.fault.test"
ISS = "https://ehr.fault.test"


@pytest.fixture(scope="module")
def signing_key():
    return K.ec_key("fault-ehr-es384")


def make_settings(fhir: MisbehavingFhir, tmp, **kw) -> Settings:
    base = dict(
        profile="production",
        external_base_url=BASE,
        auth_enabled=False,
        fhir_allow=(fhir.base,),
        fhir_budget_seconds=BUDGET,
        fhir_timeout_seconds=2.0,
        fhir_max_bytes=100_000,
        fhir_max_pages=5,
        var_dir=str(tmp / "var"),
        patient_hash_key=HASH_KEY,
    )
    base.update(kw)
    return Settings(**base)


@pytest.fixture(scope="module")
def client(fhir, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("faults")
    return create_app(make_settings(fhir, tmp), clock=pinned_clock).test_client()


def anakinra_draft() -> dict:
    return {
        "resourceType": "MedicationRequest",
        "id": "draft-1",
        "status": "draft",
        "intent": "order",
        "medicationCodeableConcept": {
            "coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "727711"}],
            "text": "Kineret 100 mg/0.67 mL",
        },
        "subject": {"reference": f"Patient/{PATIENT_ID}"},
        "authoredOn": "2026-03-02",
        "requester": {"reference": "Practitioner/prac-1", "display": PRESCRIBER_NAME},
        "dosageInstruction": [
            {
                "timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}},
                "doseAndRate": [{"doseQuantity": {"value": 100, "unit": "mg"}}],
            }
        ],
    }


def hook_request(fhir_server: str | None, prefetch: dict | None = None, token: str | None = TOKEN) -> dict:
    req = {
        "hook": "order-sign",
        "hookInstance": str(uuid.uuid4()),
        "context": {
            "userId": "Practitioner/prac-1",
            "patientId": PATIENT_ID,
            "draftOrders": {"resourceType": "Bundle", "entry": [{"resource": anakinra_draft()}]},
        },
    }
    if fhir_server is not None:
        req["fhirServer"] = fhir_server
        if token is not None:
            req["fhirAuthorization"] = {
                "access_token": token,
                "token_type": "Bearer",
                "expires_in": 300,
                "scope": "patient/*.read",
                "subject": "anakinra-cds",
            }
    if prefetch is not None:
        req["prefetch"] = prefetch
    return req


def call(client, req: dict, headers: dict | None = None):
    """The hook call; one that a broken protection leaves hanging fails as hung (tests/no_hang.py)."""
    return finishes(client.post, "/cds-services/anakinra-order-sign", json=req, headers=headers or {})


def assert_indeterminate_technical(resp) -> None:
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
    infos = coverage_infos(resp.get_json())
    assert list(infos) == ["MedicationRequest/draft-1"], infos
    info = infos["MedicationRequest/draft-1"]
    assert info["covered"] == ["indeterminate"]
    codes = [c["code"] for r in info["reason"] for c in r.get("coding", [])]
    assert "technical" in codes, info["reason"]
    technical = next(r for r in info["reason"] if any(c["code"] == "technical" for c in r.get("coding", [])))
    assert technical["coding"][0]["system"] == TEMP_CS and technical["text"]


# -- faults: 200 indeterminate/technical, never a 500, never a hang -----------------------------------

FAULTS = [
    "slow",
    "hang",
    "drip",
    "drip-headers",
    "error",
    "html",
    "json-as-html",
    "truncated",
    "truncated-json",
    "huge",
    "huge-chunked",
    "gzip-bomb",
    "offsite-next",
    "redirect",
]


@pytest.mark.parametrize("route", FAULTS)
def test_misbehaving_fhir_server_gives_indeterminate_technical(client, fhir, route):
    resp = call(client, hook_request(f"{fhir.base}/{route}"))
    assert_indeterminate_technical(resp)
    # The server was really asked (the fault was exercised, not skipped).
    assert any(r["path"].startswith(f"/fhir/{route}/") for r in fhir.requests), route


def test_endless_paging_is_bounded_and_technical(client, fhir):
    """Under the bare base: Patient and a 3-page Condition search answer; Observation pages never end;
    the other searches are 404. The Observation search stops at fhir_max_pages."""
    before = len([r for r in fhir.requests if r["path"].startswith("/fhir/Observation")])
    resp = call(client, hook_request(fhir.base))
    assert_indeterminate_technical(resp)
    pages = len([r for r in fhir.requests if r["path"].startswith("/fhir/Observation")]) - before
    assert 1 <= pages <= 5, pages


def test_the_access_token_is_sent_only_to_the_fhir_server_it_names(client, fhir):
    n = len(fhir.requests)
    resp = call(client, hook_request(f"{fhir.base}/error"))
    assert resp.status_code == 200
    sent = fhir.requests[n:]
    assert sent and all(r["headers"].get("Authorization") == f"Bearer {TOKEN}" for r in sent)


def test_no_fhir_server_and_no_prefetch_is_412(client):
    resp = call(client, hook_request(None))
    assert resp.status_code == 412
    body = resp.get_json()
    assert body["resourceType"] == "OperationOutcome" and body["issue"][0]["code"] == "incomplete"


def test_a_hanging_server_is_never_asked_when_everything_is_prefetched(client, fhir):
    """Every prefetch key answered (null = the EHR has no such data): the hanging server is never
    contacted and no technical reason shows."""
    prefetch = {need.key: None for need in data_needs()}
    prefetch["patient"] = {"resourceType": "Patient", "id": PATIENT_ID, "gender": "female", "birthDate": "1970-01-01"}
    n = len(fhir.requests)
    resp = call(client, hook_request(f"{fhir.base}/hang", prefetch))
    assert resp.status_code == 200
    infos = coverage_infos(resp.get_json())
    assert infos and all("technical" not in json.dumps(v.get("reason", [])) for v in infos.values())
    assert [r["path"] for r in fhir.requests[n:]] == []


# -- SSRF at the hook level ---------------------------------------------------------------------


def test_fhir_server_not_on_the_allow_list_gets_no_connection(client, listener):
    before = listener.connections()
    resp = call(client, hook_request(listener.url("/fhir")))
    assert_indeterminate_technical(resp)
    assert listener.connections() == before


def test_redirect_from_an_allowed_server_to_the_listener_is_not_followed(client, fhir, listener):
    before = listener.connections()
    n = len(fhir.requests)
    resp = call(client, hook_request(f"{fhir.base}/redirect"))
    assert_indeterminate_technical(resp)
    assert any(r["path"].startswith("/fhir/redirect/") for r in fhir.requests[n:])  # the 302 was served
    assert listener.connections() == before


def test_foreign_next_links_reach_nothing(client, fhir, listener):
    """A paginated prefetch Bundle whose `next` link names the listener, and an allowed server whose
    search results link to it: neither is followed."""
    before = listener.connections()
    prefetch = {
        "conditions": {
            "resourceType": "Bundle",
            "type": "searchset",
            "entry": [],
            "link": [{"relation": "next", "url": listener.url("/fhir/Condition?page=2")}],
        }
    }
    resp = call(client, hook_request(f"{fhir.base}/offsite-next", prefetch))
    assert_indeterminate_technical(resp)
    assert listener.connections() == before


def test_loopback_listener_named_with_another_host_spelling_gets_no_connection(client, listener):
    before = listener.connections()
    for url in (
        f"http://localhost:{listener.port}/fhir",
        f"http://[::ffff:127.0.0.1]:{listener.port}/fhir",
        f"http://127.1:{listener.port}/fhir",
        f"http://2130706433:{listener.port}/fhir",
    ):
        resp = call(client, hook_request(url))
        assert_indeterminate_technical(resp)
    assert listener.connections() == before


# -- what the logs never carry ------------------------------------------------------------------------


def test_logs_never_carry_the_token_the_jwt_the_patient_id_or_names(fhir, tmp_path, caplog, signing_key):
    jwks_file = tmp_path / "jwks.json"
    jwks_file.write_text(json.dumps(K.jwks(signing_key)))
    settings = make_settings(
        fhir,
        tmp_path,
        auth_enabled=True,
        replay_cache_url="memory:",
        trusted_issuers=(TrustedIssuer(ISS, jwks_file=str(jwks_file)),),
    )
    client = create_app(settings, clock=pinned_clock).test_client()
    path = "/cds-services/anakinra-order-sign"

    def jwt_header() -> tuple[str, dict]:
        now = int(time.time())
        token = signing_key.sign(
            {"iss": ISS, "aud": BASE + path, "iat": now, "exp": now + 300, "jti": str(uuid.uuid4())}
        )
        return token, {"Authorization": f"Bearer {token}"}

    patient = {
        "resourceType": "Patient",
        "id": PATIENT_ID,
        "gender": "female",
        "birthDate": "1970-01-01",
        "name": [{"family": PATIENT_NAME[0], "given": [PATIENT_NAME[1]]}],
    }
    full = {
        k: None
        for k in ("coverage", "conditions", "observations", "medicationRequests", "medicationStatements", "allergies")
    }
    full["patient"] = patient
    calls = [
        hook_request(f"{fhir.base}/error"),
        hook_request(f"{fhir.base}/slow", {"patient": patient}),
        hook_request(f"{fhir.base}/html", full),
        hook_request(None),
        hook_request(fhir.base, {"patient": patient}),  # endless paging: a gather warning
        hook_request("https://ehr.not-allowed.example/fhir"),
    ]  # refused: a gather warning
    jwts = []
    # Everything the service's own loggers emit, down to DEBUG; third-party libraries stay at the root
    # level (WARNING), as cds_service/log_setup.py configures them in production.
    caplog.set_level(logging.DEBUG, logger="cds_service")
    caplog.set_level(logging.DEBUG, logger="anakinra_cds")
    for req in calls:
        token, headers = jwt_header()
        jwts.append(token)
        resp = client.post(path, json=req, headers=headers)
        assert resp.status_code in (200, 412)
    # A rejected (replayed) JWT is logged with its reason, never with the token itself.
    resp = client.post(path, json=calls[0], headers={"Authorization": f"Bearer {jwts[0]}"})
    assert resp.status_code == 401
    call_lines = [r.getMessage() for r in caplog.records if r.name == "anakinra_cds.calls"]
    assert len(call_lines) == len(calls)
    entries = [json.loads(line) for line in call_lines]
    assert {e["status"] for e in entries} == {200, 412}
    assert all(e["hookInstance"] == c["hookInstance"] for e, c in zip(entries, calls, strict=True))
    assert any(e.get("fhirErrors") for e in entries)
    # The scan below covers the lines that would be tempted to leak: auth failures and FHIR errors.
    assert any(r.name == "cds_service.web.auth" and "jti replayed" in r.getMessage() for r in caplog.records)
    assert any(r.name.startswith("cds_service.gather") for r in caplog.records)
    everything = "\n".join(r.getMessage() + " " + repr(r.args) + " " + (r.exc_text or "") for r in caplog.records)
    secrets = [
        TOKEN,
        PATIENT_ID,
        *PATIENT_NAME,
        PRESCRIBER_NAME,
        "Ottoline",
        *jwts,
        *(t.split(".")[1] for t in jwts),
        *(t.split(".")[2] for t in jwts),
    ]
    for secret in secrets:
        assert secret not in everything, f"{secret[:20]}... found in the logs"
    # The patient appears in the call log only as a keyed hash (stable across calls).
    assert len({e["patient"] for e in entries}) == 1 and PATIENT_ID not in entries[0]["patient"]


def test_a_server_dripping_its_headers_is_cut_at_the_budget_and_the_call_is_audited(tmp_path):
    """The production timings: 2 s per read, 3 s for the call. A server that sends its status line and then
    one header byte every 1.5 s never lets a read time out; the budget ends the exchange, the answer is
    indeterminate (technical) and the call has its audit row."""
    with MisbehavingFhir() as slow:
        slow.header_drip_seconds = 1.5
        settings = make_settings(slow, tmp_path, fhir_budget_seconds=3.0, fhir_timeout_seconds=2.0)
        app = create_app(settings, clock=pinned_clock)
        resp = call(app.test_client(), hook_request(f"{slow.base}/drip-headers"))
        assert_indeterminate_technical(resp)
        store = app.extensions["cds"].store
        rows = store.list_calls(since=datetime(2000, 1, 1, tzinfo=UTC))
        assert [r.http_status for r in rows] == [200]
        assert rows[0].determinations[0]["determination"] == "indeterminate"
