"""What a client can send that the service must refuse before it reaches the database or the log: a chunked body
over the size cap, feedback too large or too long to store, NUL characters, an oversized hookInstance; and what
/health (unauthenticated) may say during a database outage. Chunked bodies over a real socket:
tests/integration/web/test_chunked_bodies.py."""

from __future__ import annotations

import logging

import pytest

from cds_service.app import create_app
from cds_service.store import Store
from tests.conftest import load_request, pinned_clock

FEEDBACK = "/cds-services/anakinra-order-sign/feedback"
HOOK = "/cds-services/anakinra-order-sign"


def _item(card="card-1", **extra) -> dict:
    return {
        "card": card,
        "outcome": "overridden",
        "outcomeTimestamp": "2026-03-02T10:00:00Z",
        "overrideReason": {"userComment": "n/a"},
        **extra,
    }


@pytest.mark.parametrize(
    "item, field",
    [
        (_item(card="c" * 129), "feedback[0].card"),
        (_item(card="bad\u0000card"), "feedback[0].card"),
        (_item(overrideReason={"userComment": "x" * 4001}), "feedback[0].overrideReason.userComment"),
        (
            {**_item(), "outcome": "accepted", "acceptedSuggestions": [{"id": "s" * 129}]},
            "feedback[0].acceptedSuggestions[0].id",
        ),
        (
            {**_item(), "outcome": "accepted", "acceptedSuggestions": [{"id": "s\u0000"}]},
            "feedback[0].acceptedSuggestions[0].id",
        ),
    ],
)
def test_feedback_the_database_could_not_store_is_a_400_naming_the_field(client, item, field):
    resp = client.post(FEEDBACK, json={"feedback": [item]})
    assert resp.status_code == 400, resp.get_data(as_text=True)
    body = resp.get_json()
    assert body["resourceType"] == "OperationOutcome"
    assert body["issue"][0]["expression"] == [field]


def test_too_many_feedback_items_is_413_and_nothing_is_stored(settings):
    app = create_app(settings, clock=pinned_clock)
    store = app.extensions["cds"].store
    client = app.test_client()
    items = [_item(card=f"card-{i}") for i in range(101)]
    resp = client.post(FEEDBACK, json={"feedback": items})
    assert resp.status_code == 413 and resp.get_json()["resourceType"] == "OperationOutcome"
    assert store.list_feedback() == []
    ok = client.post(FEEDBACK, json={"feedback": items[:100]})
    assert ok.status_code == 200 and ok.get_json()["stored"] == 100
    assert len(store.list_feedback()) == 100


@pytest.mark.parametrize("hook_instance", ["h" * 129, "abc\u0000def", "line\nbreak"])
def test_a_hook_instance_that_cannot_be_stored_or_logged_is_400(client, hook_instance):
    req = load_request("ra-complete")
    req["hookInstance"] = hook_instance
    resp = client.post(HOOK, json=req)
    assert resp.status_code == 400
    assert resp.get_json()["issue"][0]["expression"] == ["hookInstance"]


class _DownStore:
    """A store whose database reports an outage that names its host and port."""

    def __init__(self, real):
        self._real = real

    def health(self):
        return {"status": "degraded", "reason": "OperationalError: connection to db.internal.example:5432 refused"}

    def __getattr__(self, name):
        return getattr(self._real, name)


def test_health_says_degraded_but_keeps_the_reason_in_the_log(settings, caplog):
    app = create_app(settings, clock=pinned_clock, store=_DownStore(Store.from_settings(settings)))
    client = app.test_client()
    with caplog.at_level(logging.WARNING):
        first = client.get("/health")
        second = client.get("/health")
    for resp in (first, second):
        assert resp.status_code == 200
        body = resp.get_json()
        assert body["status"] == "degraded" and body["database"] == {"status": "degraded"}
        assert "5432" not in resp.get_data(as_text=True) and "db.internal" not in resp.get_data(as_text=True)
    logged = [r.getMessage() for r in caplog.records if "database degraded" in r.getMessage()]
    assert len(logged) == 1 and "db.internal.example:5432" in logged[0]


def test_a_nul_in_an_override_reason_is_stored_as_a_replacement_character(settings, db_url):
    """Free text the service keeps is normalised, not refused: the feedback is not lost for one character
    (PostgreSQL cannot store a NUL in text or JSON)."""
    app = create_app(settings.with_overrides(database_url=db_url), clock=pinned_clock)
    store = app.extensions["cds"].store
    resp = app.test_client().post(
        FEEDBACK,
        json={
            "feedback": [
                _item(
                    overrideReason={
                        "reason": {"code": "clin\u0000ically", "display": "a\u0000b"},
                        "userComment": "x\u0000y",
                    }
                )
            ]
        },
    )
    assert resp.status_code == 200 and resp.get_json()["stored"] == 1
    stored = store.list_feedback()[0].override_reason
    assert "\u0000" not in str(stored) and stored["userComment"] == "x\ufffdy"
