"""CDS Hooks feedback: stored once per (card, outcome, outcomeTimestamp), linked to its call. Processes sending
the same feedback at once: tests/integration/store/test_store_forked_processes.py."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from cds_service.store import AuditEntry, InvalidFeedback
from cds_service.store.models import FeedbackRow

SERVICE = "anakinra-crd-order-sign"


def accepted(card="card-a", ts="2026-03-01T14:31:05Z", suggestion="sugg-1"):
    return {"card": card, "outcome": "accepted", "acceptedSuggestions": [{"id": suggestion}], "outcomeTimestamp": ts}


def overridden(card="card-a", ts="2026-03-01T14:32:00Z", comment="patient already on it"):
    return {
        "card": card,
        "outcome": "overridden",
        "outcomeTimestamp": ts,
        "overrideReason": {
            "reason": {"code": "already-started", "system": "https://example.org/override"},
            "userComment": comment,
        },
    }


def _count(store) -> int:
    with store.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(FeedbackRow)).scalar_one()


def _call_with_cards(store, *cards) -> int:
    return store.record_call(
        AuditEntry(
            service_id=SERVICE,
            hook_instance="hi-1",
            called_at=datetime(2026, 3, 1, 14, 30, tzinfo=UTC),
            http_status=200,
            latency_ms=5,
            card_uuids=list(cards),
        )
    )


def test_same_item_twice_is_stored_once(store):
    assert store.record_feedback(SERVICE, [accepted()]) == 1
    assert store.record_feedback(SERVICE, [accepted()]) == 0
    assert _count(store) == 1


def test_duplicates_within_one_request_count_once(store):
    assert store.record_feedback(SERVICE, [accepted(), accepted(), overridden()]) == 2
    assert _count(store) == 2


def test_equal_instants_written_differently_are_the_same_item(store):
    assert store.record_feedback(SERVICE, [accepted(ts="2026-03-01T14:31:05Z")]) == 1
    assert store.record_feedback(SERVICE, [accepted(ts="2026-03-01T15:31:05+01:00")]) == 0
    assert store.record_feedback(SERVICE, [accepted(ts="2026-03-01T14:31:05.000+00:00")]) == 0
    assert store.record_feedback(SERVICE, [accepted(ts="2026-03-01T14:31:06Z")]) == 1


def test_feedback_is_linked_to_the_call_that_returned_the_card(store):
    call_id = _call_with_cards(store, "card-x", "card-y")
    store.record_feedback(SERVICE, [overridden(card="card-y"), accepted(card="card-unknown")])
    by_card = {f.card_uuid: f for f in store.list_feedback()}
    assert by_card["card-y"].audit_id == call_id
    assert by_card["card-unknown"].audit_id is None
    y = by_card["card-y"]
    assert y.outcome == "overridden"
    assert y.outcome_timestamp == datetime(2026, 3, 1, 14, 32, tzinfo=UTC)
    assert y.override_reason["reason"]["code"] == "already-started"
    assert y.override_reason["userComment"] == "patient already on it"
    assert by_card["card-unknown"].accepted_suggestions == ["sugg-1"]
    assert y.service_id == SERVICE


@pytest.mark.parametrize(
    "bad, field",
    [
        ({"outcome": "accepted", "outcomeTimestamp": "2026-03-01T14:31:05Z"}, "card"),
        ({"card": "c", "outcome": "ignored", "outcomeTimestamp": "2026-03-01T14:31:05Z"}, "outcome"),
        ({"card": "c", "outcome": "accepted"}, "outcomeTimestamp"),
        ({"card": "c", "outcome": "accepted", "outcomeTimestamp": "yesterday"}, "outcomeTimestamp"),
        (
            {
                "card": "c",
                "outcome": "accepted",
                "outcomeTimestamp": "2026-03-01T14:31:05Z",
                "acceptedSuggestions": [{"uuid": "x"}],
            },
            "acceptedSuggestions",
        ),
        (
            {
                "card": "c",
                "outcome": "overridden",
                "outcomeTimestamp": "2026-03-01T14:31:05Z",
                "overrideReason": "because",
            },
            "overrideReason",
        ),
        ("not an object", "feedback[1]"),
    ],
)
def test_malformed_items_are_refused_and_nothing_is_stored(store, bad, field):
    with pytest.raises(InvalidFeedback, match=field.replace("[", r"\[").replace("]", r"\]")):
        store.record_feedback(SERVICE, [accepted(), bad])
    assert _count(store) == 0


def test_no_items_is_zero(store):
    assert store.record_feedback(SERVICE, []) == 0
