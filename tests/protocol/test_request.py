"""Request validation: every error names the field; what real clients send is tolerated."""

from __future__ import annotations

import copy

import pytest

from cds_service.protocol.request import RequestError, json_depth, load_json, parse_feedback, parse_hook_request
from tests.conftest import load_request

BASE = load_request("ra-complete")


def mutate(fn):
    data = copy.deepcopy(BASE)
    fn(data)
    return data


@pytest.mark.parametrize(
    "change, field",
    [
        (lambda d: d.pop("hook"), "hook"),
        (lambda d: d.pop("hookInstance"), "hookInstance"),
        (lambda d: d.pop("context"), "context"),
        (lambda d: d.__setitem__("context", []), "context"),
        (lambda d: d["context"].pop("userId"), "context.userId"),
        (lambda d: d["context"].pop("patientId"), "context.patientId"),
        (lambda d: d["context"].__setitem__("patientId", 42), "context.patientId"),
        (lambda d: d["context"].pop("draftOrders"), "context.draftOrders"),
        (lambda d: d["context"].__setitem__("draftOrders", "x"), "context.draftOrders"),
        (lambda d: d["context"]["draftOrders"].__setitem__("entry", {}), "context.draftOrders.entry"),
        (lambda d: d["context"]["draftOrders"]["entry"].append(7), "context.draftOrders.entry[1]"),
        (lambda d: d.__setitem__("prefetch", []), "prefetch"),
        (lambda d: d["prefetch"].__setitem__("patient", "Patient/1"), "prefetch.patient"),
        (lambda d: d.__setitem__("fhirAuthorization", {"token_type": "Bearer"}), "fhirAuthorization.access_token"),
        (
            lambda d: (
                d.pop("fhirServer"),
                d.__setitem__("fhirAuthorization", {"access_token": "t", "token_type": "Bearer"}),
            ),
            "fhirServer",
        ),
        (lambda d: d.__setitem__("hook", "order-select"), "hook"),
    ],
)
def test_errors_name_the_field(change, field):
    with pytest.raises(RequestError) as info:
        parse_hook_request(mutate(change), "order-sign")
    assert info.value.field == field
    assert info.value.status == 400
    assert field.split("[")[0].split(".")[-1] in info.value.message


def test_order_select_requires_selections():
    data = mutate(lambda d: d.__setitem__("hook", "order-select"))
    with pytest.raises(RequestError) as info:
        parse_hook_request(data, "order-select")
    assert info.value.field == "context.selections"


def test_tolerates_sandbox_shapes():
    data = mutate(
        lambda d: (
            d["context"].pop("encounterId", None),
            d["context"]["draftOrders"].pop("type", None),
            d.pop("prefetch"),
        )
    )
    data["context"]["draftOrders"]["entry"][0]["resource"]["category"] = {"coding": [{"code": "community"}]}
    data["unknownVendorField"] = {"x": 1}
    req = parse_hook_request(data, "order-sign")
    assert req.encounter_id is None and req.prefetch == {}
    assert req.draft_entries()[0]["category"] == {"coding": [{"code": "community"}]}


def test_access_token_is_not_in_repr():
    data = mutate(
        lambda d: d.__setitem__(
            "fhirAuthorization",
            {
                "access_token": "SECRET-TOKEN-123",
                "token_type": "Bearer",
                "expires_in": 300,
                "scope": "patient/*.read",
                "subject": "cds",
            },
        )
    )
    req = parse_hook_request(data, "order-sign")
    assert req.access_token == "SECRET-TOKEN-123"
    assert "SECRET-TOKEN-123" not in repr(req)


def test_malformed_json_and_depth():
    with pytest.raises(RequestError):
        load_json(b"{not json", 64)
    deep = b"[" * 100 + b"]" * 100
    with pytest.raises(RequestError) as info:
        load_json(deep, 64)
    assert "deeper" in info.value.message
    assert json_depth({"a": [{"b": 1}]}, 64) == 4


def test_draft_order_count_is_bounded():
    data = mutate(
        lambda d: d["context"]["draftOrders"].__setitem__(
            "entry", [{"resource": {"resourceType": "MedicationRequest"}}] * 51
        )
    )
    with pytest.raises(RequestError) as info:
        parse_hook_request(data, "order-sign", max_draft_orders=50)
    assert info.value.field == "context.draftOrders.entry"


@pytest.mark.parametrize(
    "item, field",
    [
        (
            {"outcome": "accepted", "outcomeTimestamp": "2026-03-02T10:00:00Z", "acceptedSuggestions": [{"id": "s"}]},
            "feedback[0].card",
        ),
        ({"card": "c", "outcome": "maybe", "outcomeTimestamp": "2026-03-02T10:00:00Z"}, "feedback[0].outcome"),
        (
            {"card": "c", "outcome": "accepted", "outcomeTimestamp": "2026-03-02T10:00:00Z"},
            "feedback[0].acceptedSuggestions",
        ),
        ({"card": "c", "outcome": "overridden", "outcomeTimestamp": "yesterday"}, "feedback[0].outcomeTimestamp"),
        (
            {"card": "c", "outcome": "overridden", "outcomeTimestamp": "2026-03-02T10:00:00Z", "overrideReason": {}},
            "feedback[0].overrideReason",
        ),
    ],
)
def test_feedback_validation(item, field):
    with pytest.raises(RequestError) as info:
        parse_feedback({"feedback": [item]})
    assert info.value.field == field


def test_feedback_as_the_sandbox_sends_it():
    items = parse_feedback(
        {
            "feedback": [
                {
                    "card": "c1",
                    "outcome": "overridden",
                    "outcomeTimestamp": "2026-03-02T10:00:00Z",
                    "overrideReason": {"reason": {"code": "x", "system": "urn:s"}},
                }
            ]
        }
    )
    assert items[0]["card"] == "c1"
