"""The guideline's id is read from the policy data wherever the service names it: the discovery document, the
link on every card, the policy URL, /health. (A new guideline revision or id changes the data file only.)"""

from __future__ import annotations

import json

import pytest

from cds_service.app import create_app
from cds_service.core import hook_call, services
from cds_service.documentation import loop
from cds_service.policy.data_loader import load_policy
from cds_service.policy.questions import load_questions
from cds_service.respond import cards
from cds_service.web import runtime
from tests.conftest import load_request, pinned_clock

OTHER_ID = "09-J0000-99"


@pytest.fixture
def other_policy(monkeypatch):
    other = load_policy().with_data(id=OTHER_ID)
    for module in (hook_call, services, cards, runtime):
        monkeypatch.setattr(module, "load_policy", lambda: other)
    shipped = load_questions()  # the questions data names the shipped guideline; here it stands in for it
    monkeypatch.setattr(loop, "load_questions", lambda policy=None: shipped)
    return other


def test_the_discovery_document_names_the_guideline_from_the_data(other_policy):
    doc = services.discovery_document()
    assert all(OTHER_ID in s["description"] and "09-J0000-45" not in s["description"] for s in doc["services"])


def test_cards_health_and_the_policy_url_name_the_guideline_from_the_data(other_policy, settings):
    app = create_app(settings, clock=pinned_clock, store=None)
    client = app.test_client()
    body = client.post("/cds-services/anakinra-order-sign", json=load_request("ra-missing-preferred")).get_json()
    assert body["cards"]
    for card in body["cards"]:
        assert card["links"][0]["label"] == f"Coverage guideline {OTHER_ID}: Anakinra (Kineret)"
        assert card["source"]["url"].endswith(f"/policy/{OTHER_ID}")
        assert card["extension"]["anakinra-cds.policy"].startswith(f"{OTHER_ID}@")
    assert "09-J0000-45" not in json.dumps([c["links"] for c in body["cards"]])
    assert client.get("/health").get_json()["policy"] == OTHER_ID
    assert hook_call.policy_url(settings).endswith(f"/policy/{OTHER_ID}")


def test_with_the_shipped_data_the_id_is_the_guidelines(settings):
    assert load_policy().id == "09-J0000-45"
    assert hook_call.policy_url(settings).endswith("/policy/09-J0000-45")
