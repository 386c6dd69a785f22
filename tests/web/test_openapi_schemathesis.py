"""Schemathesis, in process, against the service's own OpenAPI document (GET /openapi.json).

Two runs over every operation of the document:
- auth ON with a fresh, valid ES384 JWT per call (unique jti, aud = external base URL + the exact
  path called), so the real JWT verification, request validation and decision paths run;
- auth ON without a token (a smaller run): every protected operation answers a documented 401.

Checks on every response: no 5xx, the status code is documented, the content type and the body
match the documented schema, documented headers conform; schema-violating (negative) requests are
rejected with a documented 4xx and schema-valid (positive) requests are accepted (2xx, or 412 where
CDS Hooks prescribes it). Generation is derandomized (the same cases on every run).

What each operation's cases got, taken together, is checked once they have all run (the `statuses` fixture,
at the test's teardown, so no test depends on another having run first): no 5xx, no 401 with a valid JWT, at
least MAX_EXAMPLES_AUTH requests to every operation with a body, and both a 200 and a 400 from the hook.
"""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from urllib.parse import unquote

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    positive_data_acceptance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from cds_service.app import create_app
from cds_service.config import Settings, TrustedIssuer
from cds_service.web.openapi import load_document
from tests.conftest import pinned_clock
from tests.fuzz_examples import FAST, examples

try:  # tests/web may or may not be a package
    from . import jwt_keys as K
except ImportError:
    import jwt_keys as K

BASE = "https://cds.schemathesis.test"
ISS = "https://ehr.schemathesis.test"
KEY = K.ec_key("schemathesis-ehr-es384", "ES384")

MAX_EXAMPLES_AUTH = examples(150)  # per operation; GETs without parameters stop after a handful
MAX_EXAMPLES_NO_TOKEN = examples(40)

SERVICE_FOR_HOOK = {"order-sign": "anakinra-order-sign", "order-select": "anakinra-order-select"}
UNPROTECTED = {"/health", "/policy/{policy_id}", "/openapi.json"}

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    negative_data_rejection,
    positive_data_acceptance,
]

CONFIG = {
    # The Authorization header is ours (a valid JWT per call); the no-token run covers its absence.
    "generation": {"with-security-parameters": False},
    "checks": {
        # A valid request is answered 200, or 412 when required data cannot be had (CDS Hooks 2.0).
        "positive_data_acceptance": {"expected-statuses": ["200", "412"]},
        # An invalid one is rejected with a documented client error, never accepted, never a 5xx.
        "negative_data_rejection": {"expected-statuses": ["400", "404", "413", "415"]},
    },
}
if FAST:
    # The fast run (make test-fast) skips the exhaustive coverage phase: it builds some 2,000 cases while the tests
    # are collected, more than the whole fast run may take. `make test` runs it.
    CONFIG["phases"] = {"coverage": {"enabled": False}}
CONFIG_NO_TOKEN = {
    # The smaller run: explicit examples and fuzzed cases only (no exhaustive coverage phase).
    "phases": {"coverage": {"enabled": False}},
    "checks": {
        "positive_data_acceptance": {"expected-statuses": ["200", "401"]},
        "negative_data_rejection": {"expected-statuses": ["400", "401", "404", "413", "415"]},
    },
}

HOOK = "POST /cds-services/{service_id}"


def operation(case) -> str:
    """The documented operation a case belongs to (a case may send another method to its path: a 405)."""
    return f"{case.operation.method.upper()} {case.path}"


@pytest.fixture
def statuses(request):
    """The status codes one operation's generated cases got (Hypothesis calls the test once per case with this
    one fixture value), checked when they have all run."""
    seen: dict[str, Counter] = {}
    yield seen
    authenticated = request.function.__name__ == "test_every_operation_with_a_valid_jwt"
    for op, counter in seen.items():
        print(f"\nschemathesis {'with-token' if authenticated else 'no-token'} {op}: {dict(sorted(counter.items()))}")
        assert not any(s >= 500 for s in counter), (op, counter)
        if authenticated:
            assert 401 not in counter, f"a valid JWT was rejected on {op}: {counter}"
            if op.startswith("POST "):
                assert sum(counter.values()) >= MAX_EXAMPLES_AUTH, (op, counter)
            if op == HOOK:  # the authenticated run reached the decision path and the validation path
                assert counter[200] > 0 and counter[400] > 0, counter
    assert seen, "no case was generated"


def fresh_token(path: str) -> str:
    now = int(time.time())
    return KEY.sign({"iss": ISS, "aud": BASE + path, "iat": now, "exp": now + 300, "jti": str(uuid.uuid4())})


def build_app(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("schemathesis")
    jwks_file = tmp / "ehr-jwks.json"
    jwks_file.write_text(json.dumps(K.jwks(KEY)))
    settings_ = Settings(
        profile="production",
        external_base_url=BASE,
        auth_enabled=True,
        trusted_issuers=(TrustedIssuer(ISS, jwks_file=str(jwks_file)),),
        replay_cache_url=str(tmp / "replay.sqlite"),  # the cross-worker default (SQLite)
        fhir_allow=(),
        fhir_budget_seconds=0.5,
        fhir_timeout_seconds=0.5,
        var_dir=str(tmp / "var"),
        patient_hash_key="schemathesis-test-key",
    )
    return create_app(settings_, clock=pinned_clock)


@pytest.fixture(scope="module")
def app_under_test(tmp_path_factory):
    return build_app(tmp_path_factory)


def _load(config: dict):
    """The schema from the document the blueprint serves (test_served_document_is_the_data_file
    checks that GET /openapi.json is this document); requests go to the app in process."""
    from schemathesis.config import SchemathesisConfig

    return schemathesis.openapi.from_dict(load_document(), config=SchemathesisConfig.from_dict(config))


with_token = _load(CONFIG)
without_token = _load(CONFIG_NO_TOKEN)


def test_served_document_is_the_data_file(app_under_test):
    resp = app_under_test.test_client().get("/openapi.json")
    assert resp.status_code == 200 and resp.mimetype == "application/json"
    served = resp.get_json()
    assert served["servers"] == [{"url": BASE, "description": "This deployment (CDS_EXTERNAL_BASE_URL)."}]
    assert {k: v for k, v in served.items() if k != "servers"} == {
        k: v for k, v in load_document().items() if k != "servers"
    }
    assert served["openapi"].startswith("3.1")


def validator(name: str):
    import jsonschema_rs

    return jsonschema_rs.Draft202012Validator(
        {"$ref": f"#/components/schemas/{name}", "components": load_document()["components"]}, validate_formats=True
    )


def test_every_fixture_response_and_explanation_matches_the_document(client):
    """The 25 fixture scenarios (real decisions, all card kinds) answer exactly what the document says."""
    from tests.conftest import load_index, load_request, service_for

    hook_response, explanation = validator("HookResponse"), validator("Explanation")
    request_schema = validator("HookRequest")
    with_actions = 0
    for item in load_index():
        req = load_request(item["slug"])
        assert request_schema.is_valid(req), (item["slug"], [e.message for e in request_schema.iter_errors(req)][:3])
        resp = client.post(f"/cds-services/{service_for(req)}", json=req)
        assert resp.status_code == 200, item["slug"]
        errors = [f"{list(e.instance_path)}: {e.message}" for e in hook_response.iter_errors(resp.get_json())]
        assert not errors, (item["slug"], errors[:5])
        with_actions += bool(resp.get_json().get("systemActions"))
        resp = client.post(f"/explain/{service_for(req)}", json=req)
        errors = [f"{list(e.instance_path)}: {e.message}" for e in explanation.iter_errors(resp.get_json())]
        assert resp.status_code == 200 and not errors, (item["slug"], errors[:5])
    assert with_actions >= 20


@pytest.mark.parametrize(
    "broken",
    [
        {"cards": [{"summary": "x" * 140, "indicator": "info", "source": {"label": "Plan"}}]},
        {"cards": [{"summary": "s", "indicator": "success", "source": {"label": "Plan"}}]},
        {
            "cards": [
                {"summary": "s", "indicator": "info", "source": {"label": "Plan"}, "suggestions": [{"label": "x"}]}
            ]
        },
        {"cards": [{"summary": "s", "indicator": "info", "source": {"label": "Plan"}, "links": []}]},
        {
            "cards": [
                {
                    "summary": "s",
                    "indicator": "info",
                    "source": {"label": "Plan"},
                    "overrideReasons": [{"system": "urn:x", "code": "c"}],
                }
            ]
        },
        {
            "cards": [
                {
                    "summary": "s",
                    "indicator": "info",
                    "source": {"label": "Plan"},
                    "selectionBehavior": "any",
                    "suggestions": [{"label": "x", "actions": [{"type": "delete", "description": "d"}]}],
                }
            ]
        },
        {
            "cards": [],
            "systemActions": [
                {
                    "type": "create",
                    "description": "d",
                    "resource": {
                        "resourceType": "MedicationRequest",
                        "extension": [
                            {
                                "url": "http://hl7.org/fhir/us/davinci-crd/StructureDefinition/ext-coverage-information",
                                "extension": [
                                    {"url": "coverage", "valueReference": {"reference": "Coverage/c1"}},
                                    {"url": "covered", "valueCode": "covered"},
                                    {"url": "date", "valueDate": "2026-03-02"},
                                    {"url": "coverage-assertion-id", "valueString": "A1"},
                                ],
                            }
                        ],
                    },
                }
            ],
        },
        {
            "cards": [],
            "systemActions": [
                {
                    "type": "update",
                    "description": "d",
                    "resource": {"resourceType": "MedicationRequest", "extension": []},
                }
            ],
        },
        {
            "cards": [],
            "systemActions": [
                {
                    "type": "update",
                    "description": "d",
                    "resource": {
                        "resourceType": "MedicationRequest",
                        "extension": [
                            {
                                "url": "http://hl7.org/fhir/us/davinci-crd/StructureDefinition/ext-coverage-information",
                                "extension": [{"url": "covered", "valueCode": "maybe"}],
                            }
                        ],
                    },
                }
            ],
        },
        {"systemActions": []},
    ],
    ids=[
        "summary>=140",
        "indicator",
        "suggestions-without-selectionBehavior",
        "empty-links",
        "override-no-display",
        "delete-without-resourceId",
        "create-systemAction",
        "no-coverage-information",
        "bad-covered-code",
        "no-cards",
    ],
)
def test_the_document_rejects_malformed_responses(broken):
    """The response schemas are not vacuous: each CDS Hooks rule they encode catches its violation."""
    assert not validator("HookResponse").is_valid(broken)


def _minimal_sign_request(**top) -> dict:
    req = {
        "hook": "order-sign",
        "hookInstance": "6f0a1c1e-8d0b-4a51-9a43-3f1c9f6b2a10",
        "context": {
            "userId": "Practitioner/p1",
            "patientId": "p1",
            "draftOrders": {"resourceType": "Bundle", "entry": []},
        },
    }
    req.update(top)
    return req


# Found by schemathesis (negative data accepted with 200): each is now a 400 naming the field.
@pytest.mark.parametrize(
    "top, field",
    [
        ({"extension": ["not", "an", "object"]}, "extension"),
        ({"extension": {"davinci-crd.configuration": [None, None]}}, "extension.davinci-crd.configuration"),
        (
            {"fhirServer": "https://ehr.example.org/fhir", "fhirAuthorization": {"access_token": "t", "patient": 0}},
            "fhirAuthorization.patient",
        ),
        (
            {
                "fhirServer": "https://ehr.example.org/fhir",
                "fhirAuthorization": {"access_token": "t", "expires_in": "300"},
            },
            "fhirAuthorization.expires_in",
        ),
        (
            {"fhirServer": "https://ehr.example.org/fhir", "fhirAuthorization": {"access_token": "t", "scope": ["a"]}},
            "fhirAuthorization.scope",
        ),
    ],
)
def test_found_by_schemathesis_hook_fields_are_type_checked(client, top, field):
    resp = client.post("/cds-services/anakinra-order-sign", json=_minimal_sign_request(**top))
    assert resp.status_code == 400
    assert resp.get_json()["issue"][0]["expression"] == [field]


def test_found_by_schemathesis_optional_nulls_are_absent_and_valid_members_accepted(client):
    req = _minimal_sign_request(extension={"davinci-crd.configuration": None}, fhirServer=None, prefetch=None)
    assert client.post("/cds-services/anakinra-order-sign", json=req).status_code == 200
    req = _minimal_sign_request(
        fhirServer="https://ehr.example.org/fhir",
        fhirAuthorization={
            "access_token": "t",
            "token_type": "bearer",
            "expires_in": 300.0,
            "scope": "patient/*.read",
            "subject": "anakinra-cds",
            "patient": None,
        },
    )
    assert client.post("/cds-services/anakinra-order-sign", json=req).status_code == 200


def test_found_by_schemathesis_feedback_coding_members_are_type_checked(client):
    item = {
        "card": "c1",
        "outcome": "overridden",
        "outcomeTimestamp": "2026-03-02T15:00:00Z",
        "overrideReason": {"reason": {"code": "x", "display": 7}},
    }
    resp = client.post("/cds-services/anakinra-order-sign/feedback", json={"feedback": [item]})
    assert resp.status_code == 400
    assert resp.get_json()["issue"][0]["expression"] == ["feedback[0].overrideReason.reason.display"]
    item["overrideReason"]["reason"]["display"] = None
    assert client.post("/cds-services/anakinra-order-sign/feedback", json={"feedback": [item]}).status_code == 200


def align_service_with_hook(case) -> None:
    """A schema-valid body names its hook; send it to the service of that hook (a path parameter
    cannot be tied to a body field in OpenAPI; the mismatch itself is covered by tests/web)."""
    body = case.body
    if (
        case.meta is not None
        and case.meta.generation.mode.is_positive
        and isinstance(body, dict)
        and body.get("hook") in SERVICE_FOR_HOOK
        and "service_id" in (case.path_parameters or {})
    ):
        case.path_parameters["service_id"] = SERVICE_FOR_HOOK[body["hook"]]


COMMON = dict(
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.function_scoped_fixture,
        HealthCheck.data_too_large,
    ],
)


@with_token.parametrize()
@settings(max_examples=MAX_EXAMPLES_AUTH, **COMMON)
def test_every_operation_with_a_valid_jwt(case, app_under_test, statuses):
    align_service_with_hook(case)
    headers = {}
    if case.path not in UNPROTECTED:
        # aud is the external base URL + the path as the app sees it (decoded), never the Host header.
        headers["Authorization"] = "Bearer " + fresh_token(unquote(case.formatted_path))
    response = case.call(headers=headers, app=app_under_test)
    statuses.setdefault(operation(case), Counter())[response.status_code] += 1
    case.validate_response(response, checks=CHECKS, headers=headers)


@without_token.parametrize()
@settings(max_examples=MAX_EXAMPLES_NO_TOKEN, **COMMON)
def test_every_operation_without_a_token(case, app_under_test, statuses):
    align_service_with_hook(case)
    case.headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"} or None
    response = case.call(app=app_under_test)
    statuses.setdefault(operation(case), Counter())[response.status_code] += 1
    case.validate_response(response, checks=CHECKS)
    if case.path not in UNPROTECTED and case.method.upper() == case.operation.method.upper():
        assert response.status_code == 401, (case.path, response.status_code)
        assert response.content == b"" and response.headers.get("www-authenticate") == ["Bearer"]
