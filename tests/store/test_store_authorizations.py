"""The plan's prior authorization records: issue, look up, import."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import pytest

from cds_service.store import AuthorizationImportError, Store, member_ref

FIXTURE = Path(__file__).resolve().parents[2] / "fhir_fixtures" / "authorizations.json"
AS_OF = date(2026, 3, 2)  # the fixtures' order date


def test_issue_then_current(store):
    ref = store.member_ref("MBR-1")
    auth = store.issue_authorization(ref, "anakinra", "ra", date(2026, 1, 1), date(2026, 12, 31), "ca-1")
    assert re.fullmatch(r"PA-[A-Z2-7]{16}", auth.pa_id)
    assert (auth.status, auth.source, auth.indication, auth.coverage_assertion_id) == (
        "approved",
        "issued-by-service",
        "ra",
        "ca-1",
    )
    assert store.current_authorization(ref, "anakinra", date(2026, 6, 15)) == auth
    assert store.current_authorization(ref, "ANAKINRA", date(2026, 1, 1)) == auth  # first day
    assert store.current_authorization(ref, "anakinra", date(2026, 12, 31)) == auth  # last day
    assert store.current_authorization(ref, "anakinra", date(2027, 1, 1)) is None
    assert store.current_authorization(ref, "anakinra", date(2025, 12, 31)) is None
    assert store.current_authorization(store.member_ref("MBR-2"), "anakinra", date(2026, 6, 15)) is None
    assert store.current_authorization(ref, "canakinumab", date(2026, 6, 15)) is None


def test_issued_authorization_is_committed_before_it_is_returned(store, store_url):
    auth = store.issue_authorization(
        store.member_ref("MBR-1"), "anakinra", "ra", date(2026, 1, 1), date(2026, 12, 31), None
    )
    other = Store(store_url)  # another connection pool sees it at once
    try:
        assert [a.pa_id for a in other.previous_authorizations(auth.member_ref, "anakinra")] == [auth.pa_id]
    finally:
        other.dispose()


def test_pa_ids_are_unique(store):
    ids = {
        store.issue_authorization(
            store.member_ref(f"MBR-{i}"), "anakinra", None, date(2026, 1, 1), date(2026, 1, 2), None
        ).pa_id
        for i in range(20)
    }
    assert len(ids) == 20


def test_issuing_is_idempotent_for_what_an_approval_is_for(store):
    """Same member, drug and indication with a period covering the start: the approval on file is returned,
    not a second one. Another indication, another member, or a start outside the period: a new one."""
    ref = store.member_ref("MBR-1")
    first = store.issue_authorization(ref, "anakinra", "ra", date(2026, 3, 2), date(2027, 3, 1), "AKR-1")
    again = store.issue_authorization(ref, "anakinra", "ra", date(2026, 3, 2), date(2027, 3, 1), "AKR-2")
    later = store.issue_authorization(ref, "Anakinra", "ra", date(2026, 6, 1), date(2027, 5, 31), "AKR-3")
    assert again.pa_id == first.pa_id == later.pa_id and again.coverage_assertion_id == "AKR-1"
    others = {
        store.issue_authorization(ref, "anakinra", "nomid", date(2026, 3, 2), date(2027, 3, 1), None).pa_id,
        store.issue_authorization(ref, "anakinra", None, date(2026, 3, 2), date(2027, 3, 1), None).pa_id,
        store.issue_authorization(
            store.member_ref("MBR-2"), "anakinra", "ra", date(2026, 3, 2), date(2027, 3, 1), None
        ).pa_id,
        store.issue_authorization(ref, "anakinra", "ra", date(2027, 3, 2), date(2028, 3, 1), None).pa_id,
    }
    assert len(others) == 4 and first.pa_id not in others
    assert len(store.list_authorizations(ref)) == 4


def test_issue_refuses_bad_arguments(store):
    with pytest.raises(ValueError, match="keyed hash"):
        store.issue_authorization("MBR-1", "anakinra", "ra", date(2026, 1, 1), date(2026, 12, 31), None)
    with pytest.raises(ValueError, match="start"):
        store.issue_authorization(store.member_ref("M"), "anakinra", "ra", date(2026, 2, 1), date(2026, 1, 1), None)
    with pytest.raises(ValueError, match="keyed hash"):
        store.current_authorization("MBR-1", "anakinra", AS_OF)


def test_fixture_import_current_and_expired(store):
    result = store.import_authorizations(FIXTURE)
    assert (result.inserted, result.updated) == (2, 0)
    cont = store.member_ref("MBR-RA-CONT-001")
    expired = store.member_ref("MBR-RA-EXP-002")

    current = store.current_authorization(cont, "anakinra", AS_OF)
    assert current is not None and current.pa_id == "PA-2025-0310-0042"
    assert current.source == "imported" and current.indication == "ra"
    assert current.coverage_assertion_id == "CA-SYN-CONT-0001"

    assert store.current_authorization(expired, "anakinra", AS_OF) is None
    (old,) = store.previous_authorizations(expired, "anakinra")
    assert (old.pa_id, old.end, old.status) == ("PA-SYN-EXP-0002", date(2025, 3, 31), "approved")
    assert old.covers(date(2025, 3, 31)) and not old.covers(AS_OF)

    # importing the same file again changes nothing
    again = store.import_authorizations(FIXTURE)
    assert (again.inserted, again.updated) == (0, 2)
    assert len(store.list_authorizations()) == 2


def test_fixture_documents_its_records():
    doc = json.loads(FIXTURE.read_text())
    assert "README.md" in doc["description"]
    assert {a["member_id"] for a in doc["authorizations"]} == {"MBR-RA-CONT-001", "MBR-RA-EXP-002"}


def test_csv_import_hashes_member_ids_and_takes_member_refs_as_is(store, tmp_path):
    key = store._hash_key
    pre_hashed = member_ref(key, "MBR-B")
    csv_file = tmp_path / "auths.csv"
    csv_file.write_text(
        "pa_id,member_id,member_ref,drug,indication,start,end,status,coverage_assertion_id\n"
        "PA-1,MBR-A,,Anakinra,ra,2026-01-01,2026-12-31,approved,ca-1\n"
        f"PA-2,,{pre_hashed.upper()},anakinra,dira,2026-01-01,2026-12-31,,\n"
        "PA-3,MBR-C,,anakinra,ra,2026-01-01,2026-12-31,denied,\n"
    )
    assert store.import_authorizations(csv_file).inserted == 3
    a = store.current_authorization(member_ref(key, "MBR-A"), "anakinra", date(2026, 5, 1))
    assert a is not None and a.pa_id == "PA-1" and a.drug == "anakinra"
    b = store.current_authorization(pre_hashed, "anakinra", date(2026, 5, 1))
    assert b is not None and b.pa_id == "PA-2" and b.status == "approved" and b.coverage_assertion_id is None
    # denied is on record but never current
    assert store.current_authorization(member_ref(key, "MBR-C"), "anakinra", date(2026, 5, 1)) is None
    assert [x.status for x in store.previous_authorizations(member_ref(key, "MBR-C"), "anakinra")] == ["denied"]
    dump = repr(store.list_authorizations())
    assert "MBR-A" not in dump and "MBR-C" not in dump


def test_reimport_can_revoke(store, tmp_path):
    f = tmp_path / "a.json"
    rec = {"pa_id": "PA-9", "member_id": "MBR-9", "drug": "anakinra", "start": "2026-01-01", "end": "2026-12-31"}
    f.write_text(json.dumps([rec]))
    store.import_authorizations(f)
    ref = store.member_ref("MBR-9")
    assert store.current_authorization(ref, "anakinra", date(2026, 6, 1)) is not None
    f.write_text(json.dumps({"authorizations": [dict(rec, status="revoked")]}))
    assert store.import_authorizations(f).updated == 1
    assert store.current_authorization(ref, "anakinra", date(2026, 6, 1)) is None


def test_current_prefers_the_approval_ending_last(store):
    ref = store.member_ref("MBR-1")
    store.issue_authorization(ref, "anakinra", "ra", date(2026, 1, 1), date(2026, 6, 30), None)
    later = store.issue_authorization(ref, "anakinra", "ra", date(2026, 3, 1), date(2027, 2, 28), None)
    assert store.current_authorization(ref, "anakinra", date(2026, 4, 1)).pa_id == later.pa_id
    assert next(a.pa_id for a in store.previous_authorizations(ref, "anakinra")) == later.pa_id


HEADER = "pa_id,member_id,drug,start,end\n"


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("a.csv", HEADER + "PA-1,M1,anakinra,2026-01-01,2026-13-01\n", r"line 2: 'end' is not a date"),
        (
            "a.csv",
            HEADER + "PA-1,M1,anakinra,2026-01-01,2026-12-31\nPA-2,,anakinra,2026-01-01,2026-12-31\n",
            r"line 3: give exactly one of 'member_id'",
        ),
        ("a.csv", "pa_id,member,drug,start,end\nPA-1,M1,anakinra,2026-01-01,2026-12-31\n", r"unknown column.*'member'"),
        ("a.csv", HEADER + "PA-1,M1,anakinra,2026-01-01,2026-12-31,extra\n", r"line 2: more fields"),
        (
            "a.csv",
            HEADER + "PA-1,M1,anakinra,2026-01-01,2026-12-31\nPA-1,M2,anakinra,2026-01-01,2026-12-31\n",
            r"line 3: pa_id 'PA-1' repeats line 2",
        ),
        ("a.csv", HEADER + "PA-1,M1,anakinra,2026-12-31,2026-01-01\n", r"'start' 2026-12-31 is after 'end'"),
        (
            "a.csv",
            HEADER + "PA-1,M1,anakinra,2026-01-01,2026-12-31\nPA-2,M2,,2026-01-01,2026-12-31\n",
            r"line 3: 'drug' is required",
        ),
        (
            "a.csv",
            "pa_id,member_ref,drug,start,end\nPA-1,MBR-RAW,anakinra,2026-01-01,2026-12-31\n",
            r"'member_ref' must be a 64-hex keyed hash",
        ),
        (
            "a.csv",
            HEADER.replace("end", "end,status") + "PA-1,M1,anakinra,2026-01-01,2026-12-31,pending\n",
            r"'status' must be one of",
        ),
        ("a.csv", "", r"empty CSV"),
        ("a.json", '{"authorizations": [', r"line 1: invalid JSON"),
        ("a.json", '{"records": []}', r"expected a list or an object"),
        (
            "a.json",
            '[{"pa_id": "PA-1", "member_id": "M", "drug": "anakinra", "start": 20260101, "end": "2026-12-31"}]',
            r"authorizations\[0\]: 'start' must be a string",
        ),
        ("a.json", "[]", r"no authorization records"),
    ],
)
def test_bad_files_are_refused_with_a_clear_message_and_nothing_stored(store, tmp_path, name, content, message):
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(AuthorizationImportError, match=message):
        store.import_authorizations(path)
    assert store.list_authorizations() == []


def test_missing_file_is_a_clear_error(store, tmp_path):
    with pytest.raises(AuthorizationImportError, match="no such file"):
        store.import_authorizations(tmp_path / "nope.csv")


def test_error_messages_never_echo_member_ids(store, tmp_path):
    path = tmp_path / "a.csv"
    path.write_text(HEADER + "PA-1,MBR-SECRET-77,anakinra,2026-01-01,someday\n")
    with pytest.raises(AuthorizationImportError) as info:
        store.import_authorizations(path)
    assert "MBR-SECRET-77" not in str(info.value)
