"""The audit trail: what a hook call leaves behind, and the keyed pseudonyms it uses."""

from __future__ import annotations

import stat
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import text

from cds_service.store import AuditEntry, HashKeyError, load_hash_key, member_ref, patient_hash

HASH_KEY = b"audit-tests-key-0123456789abcdef"

T0 = datetime(2026, 3, 1, 14, 30, 0, tzinfo=UTC)
PATIENT_ID = "pat-RA-7731"
JWT = (
    "eyJhbGciOiJFUzM4NCIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJodHRwczovL2VociIsInN1YiI6InBhdC1SQS03NzMxIn0.c2lnbmF0dXJlLWJ5dGVz"
)


def entry(**kw) -> AuditEntry:
    base = dict(
        service_id="anakinra-crd-order-sign",
        hook_instance="d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
        called_at=T0,
        http_status=200,
        latency_ms=87.4,
        patient_hash=patient_hash(HASH_KEY, PATIENT_ID),
        policy_id="kineret-mcg-09-J0000-45",
        policy_revision="2025-10",
        determinations=[{"order": "MedicationRequest/mr-1", "determination": "conditional", "paNeeded": "auth-needed"}],
        clause_outcomes=[
            {"order": "MedicationRequest/mr-1", "clauses": {"initiation.1": "met", "initiation.2": "unknown"}}
        ],
        coverage_assertion_ids=["ca-1111"],
        card_uuids=["card-a", "card-b"],
    )
    base.update(kw)
    return AuditEntry(**base)


def test_record_call_round_trips_every_field(store):
    call_id = store.record_call(entry())
    (got,) = store.list_calls(T0 - timedelta(seconds=1))
    assert got.id == call_id
    assert got.service_id == "anakinra-crd-order-sign"
    assert got.hook_instance == "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea"
    assert got.called_at == T0 and got.called_at.tzinfo is not None
    assert got.http_status == 200 and got.latency_ms == 87
    assert got.patient_hash == patient_hash(HASH_KEY, PATIENT_ID)
    assert (got.policy_id, got.policy_revision) == ("kineret-mcg-09-J0000-45", "2025-10")
    assert got.determinations == entry().determinations
    assert got.clause_outcomes == entry().clause_outcomes
    assert got.coverage_assertion_ids == ["ca-1111"]
    assert got.card_uuids == ["card-a", "card-b"]
    assert got.kind == "hook"


def test_called_at_is_stored_in_utc(store):
    paris = timezone(timedelta(hours=1))
    store.record_call(entry(called_at=datetime(2026, 3, 1, 15, 30, tzinfo=paris), kind="explain"))
    (got,) = store.list_calls(T0)
    assert got.called_at == T0 and got.called_at.utcoffset() == timedelta(0)
    assert got.kind == "explain"


def test_list_calls_window_is_since_inclusive_until_exclusive(store):
    for minutes in (0, 10, 20, 30):
        store.record_call(entry(called_at=T0 + timedelta(minutes=minutes), hook_instance=f"h{minutes}"))
    got = store.list_calls(T0 + timedelta(minutes=10), T0 + timedelta(minutes=30))
    assert [c.hook_instance for c in got] == ["h10", "h20"]
    assert [c.hook_instance for c in store.list_calls(T0 + timedelta(minutes=15))] == ["h20", "h30"]
    assert store.list_calls(T0 + timedelta(hours=1)) == []


def test_no_patient_id_or_token_anywhere_in_the_stored_row(store):
    """Even when the caller slips them into the JSON, the raw row holds neither."""
    leaky = entry(
        determinations=[
            {
                "order": "MedicationRequest/mr-1",
                "determination": "covered",
                "evidence": f"Patient/{PATIENT_ID} weight from http://ehr/fhir/Patient/{PATIENT_ID}",
                "auth": f"Bearer {JWT}",
                "note": JWT,
                "patientId": PATIENT_ID,
            }
        ],
        clause_outcomes={"subject": {"reference": f"Patient/{PATIENT_ID}"}, "fhirAuthorization": {"x": 1}},
    )
    store.record_call(leaky)
    with store.engine.connect() as conn:
        rows = [tuple(r) for r in conn.execute(text("SELECT * FROM audit_calls"))]
        rows += [tuple(r) for r in conn.execute(text("SELECT * FROM audit_cards"))]
    dump = repr(rows)
    assert len(rows) == 3
    assert PATIENT_ID not in dump
    assert "eyJ" not in dump and JWT.split(".")[1] not in dump
    assert patient_hash(HASH_KEY, PATIENT_ID) in dump  # the keyed hash is what links calls
    assert "MedicationRequest/mr-1" in dump  # the rest is kept


def test_audit_entry_refuses_a_raw_patient_id():
    with pytest.raises(ValueError, match="never a raw id"):
        entry(patient_hash=PATIENT_ID)


@pytest.mark.parametrize(
    "bad",
    [
        {"called_at": datetime(2026, 3, 1, 14, 30)},  # naive
        {"http_status": 42},
        {"latency_ms": -1},
        {"kind": "guess"},
        {"service_id": ""},
        {"card_uuids": [""]},
        {"determinations": {"order": "x"}},
    ],
)
def test_audit_entry_validates_its_fields(bad):
    with pytest.raises(ValueError):
        entry(**bad)


def test_record_call_refuses_non_json_values(store):
    with pytest.raises(ValueError, match="JSON"):
        store.record_call(entry(determinations=[{"when": datetime.now(UTC)}]))
    assert store.list_calls(T0 - timedelta(days=1)) == []


def test_list_calls_wants_aware_datetimes(store):
    with pytest.raises(ValueError):
        store.list_calls(datetime(2026, 1, 1))


# ----------------------------------------------------------------------- pseudonyms


def test_patient_hash_is_keyed_and_stable():
    h = patient_hash(b"k1" * 16, "pat-1")
    assert h == patient_hash(b"k1" * 16, "pat-1")
    assert h != patient_hash(b"k2" * 16, "pat-1")
    assert h != patient_hash(b"k1" * 16, "pat-2")
    assert len(h) == 64 and "pat-1" not in h
    # a member id equal to a patient id still gets a different pseudonym
    assert member_ref(b"k1" * 16, "pat-1") != h
    assert member_ref(b"k1" * 16, " MBR-1 ") == member_ref(b"k1" * 16, "MBR-1")


def test_pseudonyms_are_hmac_sha256_hex_so_stored_rows_keep_matching():
    """Rows already stored hold these hashes: they must stay HMAC-SHA256(key, id) in lowercase hex."""
    import hashlib
    import hmac

    key = b"k1" * 16
    assert patient_hash(key, "pat-\u00e9") == hmac.new(key, "pat-\u00e9".encode(), hashlib.sha256).hexdigest()
    assert member_ref(key, "MBR-1") == hmac.new(key, b"member:MBR-1", hashlib.sha256).hexdigest()
    assert (
        patient_hash(b"key-for-known-answer", "p") == "03f5f9e659e995355215b7093641dc6cbcebeac635d06f154c4364edbfb4ddd1"
    )
    # Each hash starts from a fresh copy of the keyed HMAC: repeating, interleaving keys and messages,
    # and more keys than the per-process table keeps (it is cleared when full) change nothing.
    keys = [bytes([i]) * 32 for i in range(40)]
    for _ in range(2):
        for k in keys:
            for pid in ("a", "pat-\u00e9", "a"):
                assert patient_hash(k, pid) == hmac.new(k, pid.encode(), hashlib.sha256).hexdigest()
            assert member_ref(k, " a ") == hmac.new(k, b"member:a", hashlib.sha256).hexdigest()


def test_key_file_is_created_once_with_mode_0600(tmp_path):
    key = load_hash_key("", tmp_path / "var")
    path = tmp_path / "var" / "patient-hash.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(key) == 32
    assert load_hash_key("", tmp_path / "var") == key
    assert [p.name for p in (tmp_path / "var").iterdir()] == ["patient-hash.key"]  # no temp files left


def test_configured_key_wins_and_must_be_long_enough(tmp_path):
    assert load_hash_key("a-configured-key-of-32-characters", tmp_path) == b"a-configured-key-of-32-characters"
    assert not (tmp_path / "patient-hash.key").exists()
    with pytest.raises(HashKeyError, match="at least 16"):
        load_hash_key("short", tmp_path)


def test_corrupt_key_file_is_reported(tmp_path):
    (tmp_path / "patient-hash.key").write_text("not hex\n")
    with pytest.raises(HashKeyError, match="corrupt"):
        load_hash_key("", tmp_path)


def test_oversized_client_values_are_cut_not_fatal(store):
    """hookInstance comes from the EHR: an absurd one must not make the audit write fail."""
    store.record_call(entry(hook_instance="h" * 5000, policy_revision="r" * 500, card_uuids=["c" * 300]))
    (got,) = store.list_calls(T0)
    assert got.hook_instance == "h" * 128
    assert got.policy_revision == "r" * 64
    assert got.card_uuids == ["c" * 128]
