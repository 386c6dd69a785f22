"""CRD 2.2.1 conformance, as the certification test kit and the IG's StructureDefinitions read it: discovery,
and every response, card, suggestion, action and coverage-information extension over every fixture, on both
hooks (order-sign and order-select variants of each request). The rules are in tests/respond/crd_rules.py;
the last tests show that each rule catches its own violation."""

from __future__ import annotations

import copy

import pytest
from fhir.resources.R4B import get_fhir_model_class

from tests.conftest import load_index, load_request
from tests.respond import crd_rules as rules

INDEX = load_index()
HOOKS = ("order-sign", "order-select")
SERVICE = {"order-sign": "anakinra-order-sign", "order-select": "anakinra-order-select"}


def variant(slug: str, hook: str) -> dict:
    """The fixture request as `hook`: order-select gains `selections` (all drafts unless it had its own),
    order-sign loses them."""
    req = copy.deepcopy(load_request(slug))
    req["hook"] = hook
    ctx = req["context"]
    if hook == "order-select":
        ctx.setdefault(
            "selections",
            [f"{e['resource']['resourceType']}/{e['resource']['id']}" for e in ctx["draftOrders"]["entry"]],
        )
    else:
        ctx.pop("selections", None)
    return req


CASES = [pytest.param(item["slug"], hook, id=f"{item['slug']}-{hook}") for item in INDEX for hook in HOOKS]


@pytest.fixture
def config_codes(client) -> dict[str, set[str]]:
    errors, codes = rules.check_discovery(client.get("/cds-services").get_json())
    assert not errors, errors
    return codes


def test_discovery_conforms(client):
    doc = client.get("/cds-services").get_json()
    errors, codes = rules.check_discovery(doc)
    assert not errors, errors
    assert {s["hook"] for s in doc["services"]} == set(HOOKS)
    assert all(codes.values())


def _is_anakinra(item: dict) -> bool:
    return item["expect"]["determination"] != "none"


@pytest.mark.parametrize("slug, hook", CASES)
def test_every_response_conforms(client, config_codes, slug, hook):
    req = variant(slug, hook)
    resp = client.post(f"/cds-services/{SERVICE[hook]}", json=req)
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
    body = resp.get_json()
    errors = rules.check_response(body, req, config_codes=config_codes[SERVICE[hook]])
    assert not errors, errors
    # §hook-16 / §resp-29: exactly one coverage-information action for the (one) anakinra draft, none otherwise
    item = next(i for i in INDEX if i["slug"] == slug)
    assert len(body.get("systemActions", [])) == (1 if _is_anakinra(item) else 0)
    if hook == "order-sign":
        assert "systemActions" in body
    # the updated order is still a valid R4 MedicationRequest with the extension added
    for action in body.get("systemActions", []):
        get_fhir_model_class(action["resource"]["resourceType"]).model_validate(action["resource"])


@pytest.mark.parametrize(
    "slug, hook", [c for c in CASES if _is_anakinra(next(i for i in INDEX if i["slug"] == c.values[0]))]
)
def test_each_card_type_can_be_switched_off(client, slug, hook):
    """§dev-5: setting a card type's option to false returns no card of that type."""
    req = variant(slug, hook)
    body = client.post(f"/cds-services/{SERVICE[hook]}", json=req).get_json()
    for topic in {c["source"]["topic"]["code"] for c in body["cards"]}:
        off = copy.deepcopy(req)
        off["extension"] = {"davinci-crd.configuration": {topic: False}}
        again = client.post(f"/cds-services/{SERVICE[hook]}", json=off).get_json()
        assert topic not in {c["source"]["topic"]["code"] for c in again["cards"]}, (slug, hook, topic)
        assert len(again["systemActions"]) == len(body["systemActions"])  # coverage information stays


def test_fixture_draft_orders_follow_the_crd_medicationrequest_profile():
    """Item 5: requester is a Practitioner reference (PractitionerRole is no longer allowed there)."""
    checked = 0
    for item in INDEX:
        for entry in load_request(item["slug"])["context"]["draftOrders"]["entry"]:
            res = entry["resource"]
            if res["resourceType"] == "MedicationRequest":
                assert not rules.check_medication_request(res, item["slug"]), item["slug"]
                get_fhir_model_class("MedicationRequest").model_validate(res)
                checked += 1
    assert checked >= len(INDEX)


def test_order_sign_with_nothing_to_say_still_has_system_actions(client):
    """Item 3: a non-anakinra order-sign answers systemActions: [] (the kit fails a response without it)."""
    req = variant("non-anakinra", "order-sign")
    body = client.post("/cds-services/anakinra-order-sign", json=req).get_json()
    assert body["systemActions"] == [] and not rules.check_response(body, req, config_codes=set())
    del body["systemActions"]
    assert any("systemActions" in e for e in rules.check_response(body, req, config_codes=set()))


# ---- the rules can fail: each mutation of a real, conformant response is caught by the rule it breaks ----


def _ci(body: dict) -> list[dict]:
    """The sub-extensions of the first coverage-information extension."""
    res = body["systemActions"][0]["resource"]
    return next(e for e in res["extension"] if e["url"] == rules.CI_URL)["extension"]


def _set(body, url, value_key=None, value=None, drop=False):
    subs = _ci(body)
    subs[:] = [s for s in subs if s["url"] != url]
    if not drop:
        subs.append({"url": url, value_key: value})


def _detail(body, code):
    return next(
        s
        for s in _ci(body)
        if s["url"] == "detail"
        and any(p["url"] == "code" and p["valueCodeableConcept"]["coding"][0]["code"] == code for p in s["extension"])
    )


def _old_category(b):
    cat = next(p for p in _detail(b, "policy-link")["extension"] if p["url"] == "category")
    cat.pop("valueCode")
    cat["valueCodeableConcept"] = {"coding": [{"system": rules.TEMP_CS, "code": "cat-other"}]}


def _temp_detail_code(b):
    code = next(p for p in _detail(b, "policy-link")["extension"] if p["url"] == "code")
    code["valueCodeableConcept"]["coding"][0]["system"] = rules.TEMP_CS


def _repeat_with(b, **changes):
    res = b["systemActions"][0]["resource"]
    ext = copy.deepcopy(next(e for e in res["extension"] if e["url"] == rules.CI_URL))
    for s in ext["extension"]:
        if s["url"] in changes:
            key = next(k for k in s if k.startswith("value"))
            s[key] = changes[s["url"]]
    res["extension"].append(ext)


MUTATIONS = {
    "detail category as CodeableConcept": (_old_category, "category): value type valueCodeableConcept"),
    "detail code from temp": (_temp_detail_code, "code must come from"),
    "detail code with the wrong category": (
        lambda b: next(p for p in _detail(b, "policy-link")["extension"] if p["url"] == "category").update(
            valueCode="cat-limitation"
        ),
        "policy-link takes category cat-other",
    ),
    "card topic from temp": (
        lambda b: b["cards"][0]["source"]["topic"].update(system=rules.TEMP_CS),
        "source.topic system must be",
    ),
    "card topic not a card type": (
        lambda b: b["cards"][0]["source"]["topic"].update(code="step-therapy"),
        "not a cdshooks-card-type code",
    ),
    "summary of 140 characters": (lambda b: b["cards"][0].update(summary="x" * 140), "<140-character"),
    "card without uuid": (lambda b: b["cards"][0].pop("uuid"), "uuid is required"),
    "card without source.topic": (lambda b: b["cards"][0]["source"].pop("topic"), "source.topic is required"),
    "associated-resource as a string": (
        lambda b: b["cards"][0]["extension"].update({"davinci-crd.associated-resource": "MedicationRequest/x"}),
        "array of References",
    ),
    "unknown card attribute": (lambda b: b["cards"][0].update(title="x"), "not a CDS Hooks card attribute"),
    "empty links": (lambda b: b["cards"][0].update(links=[]), "null or empty value"),
    "link without type": (lambda b: b["cards"][0]["links"][0].pop("type"), "type absolute | smart"),
    "override reason without display": (
        lambda b: b["cards"][0]["overrideReasons"][0].pop("display"),
        "code, system and display",
    ),
    "no systemActions on order-sign": (lambda b: b.pop("systemActions"), "required (an array, possibly empty)"),
    "systemAction of type create": (lambda b: b["systemActions"][0].update(type="create"), "must be 'update'"),
    "systemAction changes the order": (
        lambda b: b["systemActions"][0]["resource"].update(status="active"),
        "beyond the coverage-information",
    ),
    "systemAction on an order not in draftOrders": (
        lambda b: b["systemActions"][0]["resource"].update(id="elsewhere"),
        "not one of the draftOrders",
    ),
    "requester a PractitionerRole": (
        lambda b: b["systemActions"][0]["resource"]["requester"].update(reference="PractitionerRole/r1"),
        "requester only Reference(CRDPractitioner)",
    ),
    "covered outside its value set": (lambda b: _set(b, "covered", "valueCode", "maybe"), "required value set"),
    "covered twice": (lambda b: _ci(b).append({"url": "covered", "valueCode": "covered"}), "covered occurs 2 times"),
    "no coverage-assertion-id": (
        lambda b: _set(b, "coverage-assertion-id", drop=True),
        "coverage-assertion-id occurs 0 times",
    ),
    "date not a date": (lambda b: _set(b, "date", "valueDate", "02/03/2026"), "must be a FHIR date"),
    "value and extensions together": (
        lambda b: _ci(b)[0].update(extension=[{"url": "x", "valueString": "y"}]),
        "ext-1",
    ),
    "q1 questionnaire without doc-needed": (
        lambda b: (
            _set(b, "doc-needed", drop=True),
            _ci(b).append({"url": "questionnaire", "valueCanonical": "http://example.org/Questionnaire/q"}),
        ),
        "crd-ci-q1",
    ),
    "q2 not-covered with pa-needed": (lambda b: _set(b, "covered", "valueCode", "not-covered"), "crd-ci-q2"),
    "q3 conditional without info-needed": (
        lambda b: (_set(b, "covered", "valueCode", "conditional"), _set(b, "info-needed", drop=True)),
        "crd-ci-q3",
    ),
    "q3 info-needed without a conditional": (
        lambda b: (
            _set(b, "covered", "valueCode", "covered"),
            _set(b, "pa-needed", "valueCode", "auth-needed"),
            _set(b, "doc-needed", drop=True),
            _set(b, "info-needed", "valueCode", "performer"),
        ),
        "crd-ci-q3",
    ),
    "q4 withpa once satisfied": (
        lambda b: (
            _set(b, "pa-needed", "valueCode", "satisfied"),
            _set(b, "satisfied-pa-id", "valueString", "PA1"),
            _set(b, "doc-purpose", "valueCode", "withpa"),
        ),
        "crd-ci-q4",
    ),
    "q5 satisfied without satisfied-pa-id": (lambda b: _set(b, "pa-needed", "valueCode", "satisfied"), "crd-ci-q5"),
    "q5 satisfied-pa-id without satisfied": (
        lambda b: (_set(b, "pa-needed", "valueCode", "auth-needed"), _set(b, "satisfied-pa-id", "valueString", "P")),
        "crd-ci-q5",
    ),
    "q6 OTH without reason": (
        lambda b: (
            _set(b, "covered", "valueCode", "conditional"),
            _set(b, "info-needed", "valueCode", "OTH"),
            _set(b, "reason", drop=True),
        ),
        "crd-ci-q6",
    ),
    "q7 foreign reason code without text": (
        lambda b: _set(b, "reason", "valueCodeableConcept", {"coding": [{"system": "urn:x", "code": "y"}]}),
        "crd-ci-q7",
    ),
    "q8 doc-purpose without reason": (
        lambda b: (_set(b, "doc-purpose", "valueCode", "withclaim"), _set(b, "reason", drop=True)),
        "crd-ci-q8",
    ),
    "q9 indeterminate without reason": (
        lambda b: (
            _set(b, "covered", "valueCode", "indeterminate"),
            _set(b, "pa-needed", "valueCode", "indeterminate"),
            _set(b, "info-needed", drop=True),
            _set(b, "reason", drop=True),
        ),
        "crd-ci-q9",
    ),
    "same coverage, another assertion id": (
        lambda b: _repeat_with(b, **{"coverage-assertion-id": "OTHER"}),
        "different coverage-assertion-ids",
    ),
    "another coverage, the same assertion id": (
        lambda b: _repeat_with(b, coverage={"reference": "Coverage/other"}),
        "share a coverage-assertion-id",
    ),
    "coverage not a Coverage": (
        lambda b: _set(b, "coverage", "valueReference", {"reference": "Patient/x"}),
        "must reference a Coverage",
    ),
}


@pytest.fixture(scope="module")
def conformant(request):
    """A conformant, conditional order-sign answer with cards and documentation needs, and its request."""
    from cds_service.app import create_app
    from cds_service.config import demo_settings
    from tests.conftest import pinned_clock

    tmp = request.getfixturevalue("tmp_path_factory").mktemp("var")
    client = create_app(
        demo_settings().with_overrides(var_dir=str(tmp), auth_enabled=False), clock=pinned_clock
    ).test_client()
    req = variant("ra-missing-preferred", "order-sign")
    body = client.post("/cds-services/anakinra-order-sign", json=req).get_json()
    codes = rules.check_discovery(client.get("/cds-services").get_json())[1]["anakinra-order-sign"]
    assert not rules.check_response(body, req, config_codes=codes)
    assert body["cards"] and body["cards"][0].get("links") and body["cards"][0].get("overrideReasons")
    return req, body, codes


@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_the_rules_catch_each_violation(conformant, name):
    req, body, codes = conformant
    mutate, expected = MUTATIONS[name]
    broken = copy.deepcopy(body)
    mutate(broken)
    errors = rules.check_response(broken, req, config_codes=codes)
    assert any(expected in e for e in errors), (name, errors)


def test_order_select_must_not_ask_for_documentation(conformant):
    req, body, codes = conformant
    select = copy.deepcopy(req)
    select["hook"] = "order-select"
    assert any("doc-needed" in str(s) for s in _ci(body))
    assert any("SHALL NOT ask for documentation" in e for e in rules.check_response(body, select, config_codes=codes))


def test_card_type_without_a_configuration_option_is_caught(conformant):
    req, body, codes = conformant
    topic = body["cards"][0]["source"]["topic"]["code"]
    assert any("§dev-5" in e for e in rules.check_response(body, req, config_codes=codes - {topic}))


@pytest.mark.parametrize(
    "name, mutate, expected",
    [
        ("duplicate option names", lambda o: o[1].update(name=o[0]["name"]), "names must be unique"),
        ("option without default", lambda o: o[0].pop("default"), "default of the option's type"),
        ("integer default on a boolean", lambda o: o[0].update(default=1), "default of the option's type"),
        ("boolean option not a card type", lambda o: o[0].update(code="alternatives"), "not a CRD Response Type"),
        ("option code not a property name", lambda o: o[0].update(code="coverage info"), "plain JSON property name"),
    ],
)
def test_the_discovery_rules_catch_each_violation(client, name, mutate, expected):
    doc = client.get("/cds-services").get_json()
    mutate(doc["services"][0]["extension"]["davinci-crd.configuration-options"])
    errors, _ = rules.check_discovery(doc)
    assert any(expected in e for e in errors), (name, errors)
