"""The CRD coverage-information extension keeps its invariants for every fixture, on both hooks."""

from __future__ import annotations

import copy
import re
from datetime import UTC, datetime

import pytest

from cds_service.app import create_app
from tests.conftest import load_index, load_request, pinned_clock, service_for
from tests.e2e.helpers import EXT, coverage_infos

SLUGS = [i["slug"] for i in load_index() if i["expect"]["determination"] != "none"]


def invariants(values: dict) -> None:
    covered = values["covered"][0]
    assert len(values["covered"]) == 1
    assert covered in ("covered", "not-covered", "conditional", "indeterminate")
    pa = values.get("pa-needed", [None])[0]
    # q2: not-covered <=> no pa-needed
    assert (covered == "not-covered") == (pa is None)
    if pa is not None:
        assert pa in ("no-auth", "auth-needed", "satisfied", "performpa", "conditional", "indeterminate")
    # q3 (both readings): info-needed only with, and always with, a conditional
    conditional = covered == "conditional" or pa == "conditional" or "conditional" in values.get("doc-needed", [])
    assert bool(values.get("info-needed")) == conditional
    # q4: no withpa once PA is satisfied / not needed
    if pa in ("satisfied", "no-auth"):
        assert "withpa" not in values.get("doc-purpose", [])
    # q5: satisfied-pa-id iff satisfied
    assert ("satisfied-pa-id" in values) == (pa == "satisfied")
    # q6 / q8 / q9: OTH, doc-purpose and indeterminate need a reason
    if (
        "OTH" in values.get("info-needed", [])
        or values.get("doc-purpose")
        or covered == "indeterminate"
        or pa == "indeterminate"
    ):
        assert values.get("reason")
    assert len(values["date"]) == 1 and len(values["coverage-assertion-id"]) == 1
    assert values["coverage"][0]
    for r in values.get("reason", []):
        assert r.get("text") or r.get("coding")


@pytest.mark.parametrize("slug", SLUGS)
def test_invariants_order_sign(client, slug):
    req = load_request(slug)
    body = client.post(f"/cds-services/{service_for(req)}", json=req).get_json()
    infos = coverage_infos(body)
    assert len(infos) == 1  # every fixture has exactly one anakinra draft
    for values in infos.values():
        invariants(values)
        if req["hook"] == "order-select":
            assert "doc-needed" not in values and "doc-purpose" not in values


@pytest.mark.parametrize("slug", ["ra-missing-preferred", "ra-no-specialist", "dose-200mg"])
def test_order_select_never_asks_for_documentation(client, slug):
    req = copy.deepcopy(load_request(slug))
    req["hook"] = "order-select"
    req["context"]["selections"] = [
        f"MedicationRequest/{e['resource']['id']}" for e in req["context"]["draftOrders"]["entry"]
    ]
    body = client.post("/cds-services/anakinra-order-select", json=req).get_json()
    for values in coverage_infos(body).values():
        invariants(values)
        assert "doc-needed" not in values and "doc-purpose" not in values
    sign = client.post("/cds-services/anakinra-order-sign", json=load_request(slug)).get_json()
    assert any("doc-needed" in v for v in coverage_infos(sign).values())


def test_system_action_changes_only_the_extension(client):
    req = load_request("office-administered")
    draft = req["context"]["draftOrders"]["entry"][0]["resource"]
    body = client.post("/cds-services/anakinra-order-sign", json=req).get_json()
    action = body["systemActions"][0]
    assert action["type"] == "update" and action["description"]
    updated = copy.deepcopy(action["resource"])
    exts = updated.pop("extension")
    original = copy.deepcopy(draft)
    kept = original.pop("extension", [])
    assert updated == original
    assert [e for e in exts if e["url"] != EXT] == kept
    assert len([e for e in exts if e["url"] == EXT]) == 1


def test_system_action_echoes_the_order_as_received(client):
    """Only our extension is pruned: elements the EHR sent (even an empty note list or an empty
    display) come back exactly as they were, and the extension we add has no empty values."""
    req = copy.deepcopy(load_request("office-administered"))
    draft = req["context"]["draftOrders"]["entry"][0]["resource"]
    draft["note"] = []
    draft["dosageInstruction"][0]["text"] = ""
    draft["extension"] = [{"url": "http://example.org/ehr-flag", "valueString": ""}]
    body = client.post("/cds-services/anakinra-order-sign", json=req).get_json()
    resource = copy.deepcopy(body["systemActions"][0]["resource"])
    ours = [e for e in resource["extension"] if e["url"] == EXT]
    resource["extension"] = [e for e in resource["extension"] if e["url"] != EXT]
    assert resource == draft and len(ours) == 1

    def no_empty(v):
        if isinstance(v, dict):
            return all(x not in (None, "", [], {}) and no_empty(x) for x in v.values())
        if isinstance(v, list):
            return all(x not in (None, "", [], {}) and no_empty(x) for x in v)
        return True

    assert no_empty(ours[0])


def test_assertion_id_is_unique_per_decision_even_when_the_hook_instance_is_reused(settings):
    """A client re-using a hookInstance (or re-sending a call) gets a new coverage-assertion-id for each decision;
    the audit row of each call keeps the id its answer carried."""
    app = create_app(settings, clock=pinned_clock)
    client = app.test_client()
    req = load_request("ra-missing-preferred")
    ids = []
    for _ in range(3):
        infos = coverage_infos(client.post("/cds-services/anakinra-order-sign", json=req).get_json())
        ids.append([v["coverage-assertion-id"][0] for v in infos.values()])
    flat = [i for group in ids for i in group]
    assert len(set(flat)) == len(flat) == 3 and all(re.fullmatch(r"AKR-[A-Z2-7]{16}", i) for i in flat)
    calls = app.extensions["cds"].store.list_calls(since=datetime(2000, 1, 1, tzinfo=UTC))
    assert [c.coverage_assertion_ids for c in calls] == ids


def test_crd_configuration_turns_coverage_info_and_card_types_off(client):
    req = copy.deepcopy(load_request("office-administered"))
    req["extension"] = {"davinci-crd.configuration": {"coverage-info": False, "appropriate-use": False}}
    body = client.post("/cds-services/anakinra-order-sign", json=req).get_json()
    assert body["systemActions"] == []  # order-sign (CRD primary hook) always carries the array
    assert not [c for c in body["cards"] if c["extension"]["anakinra-cds.finding"] == "site-of-care"]
    req["extension"] = {"davinci-crd.configuration": {"max-cards": 0, "unknown-setting": "ignored"}}
    body = client.post("/cds-services/anakinra-order-sign", json=req).get_json()
    assert body["cards"] == [] and body["systemActions"]
