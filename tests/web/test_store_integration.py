"""The hook path with the store: approvals issued (stored first), current approvals honoured,
audit rows without identifiers, feedback linked, and answers kept when the database is down."""

from __future__ import annotations

import copy
import json
from datetime import UTC, date

import pytest

from cds_service.app import create_app
from cds_service.store import Store, StoreUnavailable
from tests.conftest import FIXTURES, load_request, pinned_clock
from tests.e2e.helpers import coverage_infos


def values(body):
    return next(iter(coverage_infos(body).values()))


@pytest.fixture
def store_app(settings):
    app = create_app(settings, clock=pinned_clock)
    return app, app.extensions["cds"].store


def test_covered_order_sign_issues_a_stored_approval(store_app):
    app, store = store_app
    client = app.test_client()
    req = load_request("ra-complete")
    v = values(client.post("/cds-services/anakinra-order-sign", json=req).get_json())
    assert v["covered"] == ["covered"] and v["pa-needed"] == ["satisfied"]
    pa_id = v["satisfied-pa-id"][0]
    assert v["expiry-date"] == ["2027-03-01"]  # 12 months from the order date 2026-03-02
    member = req["prefetch"]["coverage"]["entry"][0]["resource"]["subscriberId"]
    stored = store.current_authorization(store.member_ref(member), "anakinra", date(2026, 3, 2))
    assert stored is not None and stored.pa_id == pa_id and stored.source == "issued-by-service"
    # the same order again: the current approval is reported, not a second one issued
    again = values(client.post("/cds-services/anakinra-order-sign", json=req).get_json())
    assert again["satisfied-pa-id"] == [pa_id]
    assert len(store.list_authorizations(store.member_ref(member))) == 1


def test_an_order_covered_by_the_current_approval_gets_a_renewal_note_not_a_request_for_documentation(store_app):
    """The second signing of the same order falls under the approval the first one was given: the
    coverage information says satisfied, so no card may ask for prior authorization documentation.
    What the renewal will need (continuation.2, clinical benefit) is said once, naming the approval."""
    app, _store = store_app
    client = app.test_client()
    req = load_request("ra-complete")
    first = client.post("/cds-services/anakinra-order-sign", json=req).get_json()
    pa_id = values(first)["satisfied-pa-id"][0]
    body = client.post("/cds-services/anakinra-order-sign", json=req).get_json()
    v = values(body)
    assert v["covered"] == ["covered"] and v["pa-needed"] == ["satisfied"] and v["satisfied-pa-id"] == [pa_id]
    kinds = [c["extension"]["anakinra-cds.finding"] for c in body["cards"]]
    assert "documentation" not in kinds and "criteria" not in kinds
    assert not any("Prior authorization" in c["summary"] for c in body["cards"])
    [note] = [c for c in body["cards"] if c["extension"]["anakinra-cds.finding"] == "renewal"]
    assert note["indicator"] == "info" and pa_id in note["summary"] and "2027-03-01" in note["summary"]
    assert "continuation.2" in note["extension"]["anakinra-cds.clauses"]
    assert "clinical benefit" in note["detail"]
    assert "overrideReasons" not in note  # a note: nothing to override
    # The explanation of that call says the same (it reads the approval on file) and issues nothing.
    explained = client.post("/explain/anakinra-order-sign", json=req).get_json()
    [order] = explained["orders"]
    assert order["determination"] == "covered"
    assert values(explained["response"])["satisfied-pa-id"] == [pa_id]
    assert [c["extension"]["anakinra-cds.finding"] for c in explained["response"]["cards"]] == kinds
    assert len(_store.list_authorizations()) == 1


def test_an_explanation_never_issues_an_approval_even_where_the_hook_would(store_app):
    app, store = store_app
    explained = app.test_client().post("/explain/anakinra-order-sign", json=load_request("ra-complete")).get_json()
    assert explained["orders"][0]["determination"] == "covered"
    v = values(explained["response"])
    assert v["pa-needed"] == ["auth-needed"] and "satisfied-pa-id" not in v
    assert store.list_authorizations() == []
    # ... but it says what the order-sign call would have done (ra-complete: 2026-03-02, 12 months)
    [note] = [r for r in explained["orders"][0]["reasons"] if "would record a plan approval" in r]
    assert "12 months, 2026-03-02 to 2027-03-01" in note and "an explanation records none" in note
    # and the hook itself then does exactly that
    v = values(app.test_client().post("/cds-services/anakinra-order-sign", json=load_request("ra-complete")).get_json())
    assert v["pa-needed"] == ["satisfied"] and len(store.list_authorizations()) == 1
    assert store.list_authorizations()[0].end.isoformat() == "2027-03-01"


def test_an_explanation_promises_no_approval_the_hook_would_not_give(store_app):
    app, _store = store_app
    req = copy.deepcopy(load_request("ra-complete"))
    req["extension"] = {"davinci-crd.configuration": {"unsolicited-determ": False}}
    explained = app.test_client().post("/explain/anakinra-order-sign", json=req).get_json()
    assert explained["orders"][0]["determination"] == "covered"
    assert not any("would record a plan approval" in r for r in explained["orders"][0].get("reasons", []))
    incomplete = (
        app.test_client().post("/explain/anakinra-order-sign", json=load_request("ra-missing-preferred")).get_json()
    )
    assert not any("would record a plan approval" in r for o in incomplete["orders"] for r in o.get("reasons", []))


def test_no_approval_when_unsolicited_determinations_are_off_or_on_order_select(store_app):
    app, store = store_app
    client = app.test_client()
    req = copy.deepcopy(load_request("ra-complete"))
    req["extension"] = {"davinci-crd.configuration": {"unsolicited-determ": False}}
    v = values(client.post("/cds-services/anakinra-order-sign", json=req).get_json())
    assert v["covered"] == ["covered"] and v["pa-needed"] == ["auth-needed"] and "satisfied-pa-id" not in v
    sel = copy.deepcopy(load_request("ra-complete"))
    sel["hook"] = "order-select"
    sel["context"]["selections"] = [f"MedicationRequest/{sel['context']['draftOrders']['entry'][0]['resource']['id']}"]
    v = values(client.post("/cds-services/anakinra-order-select", json=sel).get_json())
    assert "satisfied-pa-id" not in v
    assert store.list_authorizations() == []


def test_imported_current_approval_is_reported_as_satisfied(store_app):
    app, store = store_app
    store.import_authorizations(FIXTURES / "authorizations.json")
    v = values(
        app.test_client().post("/cds-services/anakinra-order-sign", json=load_request("ra-continuation")).get_json()
    )
    assert v["pa-needed"] == ["satisfied"] and v["satisfied-pa-id"] == ["PA-2025-0310-0042"]
    assert v["covered"] == ["covered"]


def test_audit_rows_hold_no_identifiers(store_app):
    app, store = store_app
    client = app.test_client()
    req = load_request("ra-missing-preferred")
    body = client.post("/cds-services/anakinra-order-sign", json=req).get_json()
    client.post("/explain/anakinra-order-sign", json=req)
    calls = store.list_calls(
        since=__import__("datetime").datetime(2000, 1, 1, tzinfo=__import__("datetime").timezone.utc)
    )
    assert [c.kind for c in calls] == ["hook", "explain"]
    row = calls[0]
    assert row.hook_instance == req["hookInstance"] and row.http_status == 200
    assert row.determinations[0]["determination"] == "conditional"
    assert row.policy_revision == "2026-01-01"
    assert set(row.card_uuids) == {c["uuid"] for c in body["cards"]}
    dumped = json.dumps([c.__dict__ for c in calls], default=str)
    assert req["context"]["patientId"] not in dumped
    assert "Smith" not in dumped and "MBR-" not in dumped


def test_on_continuation_the_hook_rests_on_continuation_and_explain_adds_the_pathway_not_applied(store_app):
    """A member with a current plan approval: the hook's answer and its audit row rest on continuation 1 to 6
    only; an explanation of the same request also shows the initiation criteria (`alternative-pathway`), which
    do not decide, and explains the same answer."""
    from datetime import datetime

    app, store = store_app
    store.import_authorizations(FIXTURES / "authorizations.json")
    client = app.test_client()
    req = load_request("ra-continuation")
    body = client.post("/cds-services/anakinra-order-sign", json=req).get_json()
    explained = client.post("/explain/anakinra-order-sign", json=req).get_json()
    hook_row, explain_row = store.list_calls(since=datetime(2000, 1, 1, tzinfo=UTC))
    assert (hook_row.kind, explain_row.kind) == ("hook", "explain")
    assert hook_row.determinations[0]["pathway"] == "continuation"
    hook_clauses = hook_row.clause_outcomes[0]["clauses"]
    assert "continuation.1" in hook_clauses and "continuation.2" in hook_clauses
    assert "alternative-pathway" not in hook_clauses
    assert not [c for c in hook_clauses if c.startswith("initiation")]
    explain_clauses = explain_row.clause_outcomes[0]["clauses"]
    assert explain_clauses["alternative-pathway"] == "not-applicable"
    assert "initiation.1" in explain_clauses and "initiation.1.c" in explain_clauses
    assert {k: v for k, v in explain_clauses.items() if k in hook_clauses} == hook_clauses
    order = explained["orders"][0]
    assert order["pathway"] == "continuation"
    assert "alternative-pathway" in [c["clause"] for c in order["clauses"]]

    def cards(b):  # card uuids are new on every call
        return [{k: c.get(k) for k in ("summary", "detail", "indicator", "extension")} for c in b["cards"]]

    assert cards(body) == cards(explained["response"])

    def decided(b):  # coverage-assertion-ids are new for every decision
        return {k: v for k, v in values(b).items() if k != "coverage-assertion-id"}

    assert decided(body) == decided(explained["response"])
    assert values(body)["coverage-assertion-id"] != values(explained["response"])["coverage-assertion-id"]
    assert values(body)["covered"] == ["covered"] and values(body)["pa-needed"] == ["satisfied"]


def test_feedback_is_stored_once_and_linked(store_app):
    app, store = store_app
    client = app.test_client()
    body = client.post("/cds-services/anakinra-order-sign", json=load_request("office-administered")).get_json()
    card = body["cards"][0]
    item = {
        "card": card["uuid"],
        "outcome": "accepted",
        "outcomeTimestamp": "2026-03-02T15:01:00Z",
        "acceptedSuggestions": [{"id": card["suggestions"][0]["uuid"]}],
    }
    first = client.post("/cds-services/anakinra-order-sign/feedback", json={"feedback": [item]}).get_json()
    second = client.post("/cds-services/anakinra-order-sign/feedback", json={"feedback": [item]}).get_json()
    assert first["stored"] == 1 and second["stored"] == 0
    stored = store.list_feedback(card["uuid"])
    assert len(stored) == 1 and stored[0].audit_id is not None


class DownStore:
    """A store whose database is unreachable."""

    def __init__(self, real):
        self.real = real

    def __getattr__(self, name):
        if name in ("patient_hash", "member_ref"):
            return getattr(self.real, name)
        if name == "health":
            return lambda: {"status": "degraded", "reason": "connection refused"}

        def fail(*a, **k):
            raise StoreUnavailable("connection refused")

        return fail


def test_database_down_answers_without_approval_and_health_is_degraded(settings):
    real = Store.from_settings(settings)
    app = create_app(settings, clock=pinned_clock, store=DownStore(real))
    client = app.test_client()
    resp = client.post("/cds-services/anakinra-order-sign", json=load_request("ra-complete"))
    assert resp.status_code == 200
    v = values(resp.get_json())
    assert v["covered"] == ["covered"] and v["pa-needed"] == ["auth-needed"] and "satisfied-pa-id" not in v
    health = client.get("/health").get_json()
    assert health["status"] == "degraded" and health["database"]["status"] == "degraded"
    fb = client.post(
        "/cds-services/anakinra-order-sign/feedback",
        json={
            "feedback": [
                {
                    "card": "c",
                    "outcome": "overridden",
                    "outcomeTimestamp": "2026-03-02T10:00:00Z",
                    "overrideReason": {"userComment": "n/a"},
                }
            ]
        },
    )
    assert fb.status_code == 503 and fb.get_json()["resourceType"] == "OperationOutcome"


def test_health_ok(store_app):
    app, _ = store_app
    body = app.test_client().get("/health").get_json()
    assert body["status"] == "ok" and body["database"]["status"] == "ok"


def test_previous_plan_approval_selects_the_continuation_pathway(store_app):
    app, store = store_app
    store.import_authorizations(FIXTURES / "authorizations.json")
    req = copy.deepcopy(load_request("ra-missing-preferred"))
    cov = req["prefetch"]["coverage"]["entry"][0]["resource"]
    cov["subscriberId"] = "MBR-RA-EXP-002"  # approved 2024-04-01 to 2025-03-31 (expired)
    explained = app.test_client().post("/explain/anakinra-order-sign", json=req).get_json()
    order = explained["orders"][0]
    assert order["pathway"] == "continuation"
    tops = {c["clause"]: c for c in order["clauses"]}
    assert "continuation" in tops
    cont1 = next(
        n for n in [tops["continuation"], *tops["continuation"].get("children", [])] if n["clause"] == "continuation.1"
    )
    assert cont1["outcome"] == "met"
    assert any(
        "PA-SYN-EXP-0002" in (e.get("reference", "") + e.get("description", "")) for e in cont1.get("evidence", [])
    )
    # explain never issues an approval
    assert store.list_authorizations(store.member_ref("MBR-RA-EXP-002"))[0].pa_id == "PA-SYN-EXP-0002"
    assert len(store.list_authorizations()) == 2


def test_an_approval_that_cannot_be_stored_is_never_answered(settings):
    real = Store.from_settings(settings)
    real.migrate()

    class FailingIssue:
        def __getattr__(self, name):
            if name == "issue_authorization":

                def fail(*a, **k):
                    raise StoreUnavailable("disk full")

                return fail
            return getattr(real, name)

    app = create_app(settings, clock=pinned_clock, store=FailingIssue())
    v = values(app.test_client().post("/cds-services/anakinra-order-sign", json=load_request("ra-complete")).get_json())
    assert v["covered"] == ["covered"] and v["pa-needed"] == ["auth-needed"] and "satisfied-pa-id" not in v
    assert real.list_authorizations() == []


def _import(store, tmp_path, *records):
    path = tmp_path / "approvals.json"
    path.write_text(json.dumps({"authorizations": list(records)}))
    store.import_authorizations(path)


def test_a_current_approval_for_another_indication_does_not_cover_the_order(store_app, tmp_path):
    """A COVID-19 course approved for ten days says nothing of rheumatoid arthritis: an RA order with
    its step therapy not shown stays conditional under it, and the answer cites no approval."""
    app, store = store_app
    req = load_request("ra-missing-preferred")
    member = req["prefetch"]["coverage"]["entry"][0]["resource"]["subscriberId"]
    covid = {
        "pa_id": "PA-SYN-COVID-1",
        "member_id": member,
        "drug": "anakinra",
        "indication": "covid-19",
        "start": "2026-02-27",
        "end": "2026-03-08",
        "status": "approved",
    }
    _import(store, tmp_path, covid, {**covid, "pa_id": "PA-SYN-NOIND-1", "indication": None})
    v = values(app.test_client().post("/cds-services/anakinra-order-sign", json=req).get_json())
    assert v["covered"] == ["conditional"] and v["pa-needed"] == ["auth-needed"] and "satisfied-pa-id" not in v
    # the same member's current RA approval does cover it
    _import(
        store,
        tmp_path,
        {**covid, "pa_id": "PA-SYN-RA-1", "indication": "ra", "start": "2026-01-05", "end": "2027-01-04"},
    )
    v = values(app.test_client().post("/cds-services/anakinra-order-sign", json=req).get_json())
    assert v["covered"] == ["covered"] and v["satisfied-pa-id"] == ["PA-SYN-RA-1"]


def test_a_current_approval_does_not_cover_an_order_beyond_the_limits(store_app):
    app, store = store_app
    store.import_authorizations(FIXTURES / "authorizations.json")
    req = copy.deepcopy(load_request("ra-continuation"))
    draft = req["context"]["draftOrders"]["entry"][0]["resource"]
    draft["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"]["value"] = 200
    draft["dispenseRequest"]["quantity"]["value"] = 56
    v = values(app.test_client().post("/cds-services/anakinra-order-sign", json=req).get_json())
    assert v["covered"] != ["covered"] and "satisfied-pa-id" not in v


@pytest.mark.parametrize("member", [" ", "\t\n"])
def test_a_blank_subscriber_id_is_no_member_not_a_crash(store_app, member):
    # Found by Hypothesis: a whitespace-only subscriberId reached the keyed hash and answered 500.
    app, store = store_app
    req = copy.deepcopy(load_request("ra-complete"))
    cov = req["prefetch"]["coverage"]["entry"][0]["resource"]
    cov["subscriberId"] = member
    cov["identifier"] = [{"value": "   "}]
    resp = app.test_client().post("/cds-services/anakinra-order-sign", json=req)
    assert resp.status_code == 200
    v = values(resp.get_json())
    assert "satisfied-pa-id" not in v  # no member to hold an approval
    assert store.list_authorizations() == []


def test_a_current_approval_does_not_cover_an_order_for_a_member_with_an_active_serious_infection(store_app):
    """An approval vouches for the criteria assessed when it was given, not for the member's state
    today: RA on continuation with an active pneumonia (precautions.serious-infections not met) must
    not be answered covered / satisfied on the strength of the approval on file."""
    app, store = store_app
    store.import_authorizations(FIXTURES / "authorizations.json")
    req = copy.deepcopy(load_request("ra-continuation"))
    conditions = req["prefetch"]["conditions"]
    pneumonia = copy.deepcopy(conditions["entry"][0]["resource"])
    pneumonia["id"] = "ra-continuation-pneumonia"
    pneumonia["code"] = {
        "coding": [
            {
                "system": "http://hl7.org/fhir/sid/icd-10-cm",
                "code": "J18.9",
                "display": "Pneumonia, unspecified organism",
            }
        ],
        "text": "Community-acquired pneumonia",
    }
    pneumonia["onsetDateTime"] = "2026-02-24"
    conditions["entry"].append({"fullUrl": "Condition/ra-continuation-pneumonia", "resource": pneumonia})
    resp = app.test_client().post("/explain/anakinra-order-sign", json=req)
    order = resp.get_json()["orders"][0]
    infection = next(n for n in _walk(order["clauses"]) if n["clause"] == "precautions.serious-infections")
    assert infection["outcome"] == "not-met"
    assert order["determination"] != "covered" and order.get("paNeeded") != "satisfied"
    v = values(app.test_client().post("/cds-services/anakinra-order-sign", json=req).get_json())
    assert v["covered"] != ["covered"] and "satisfied-pa-id" not in v


def _walk(nodes):
    for n in nodes:
        yield n
        yield from _walk(n.get("children", []))
