"""The store's CLI: audit, authorizations import|list, db upgrade (exit codes and output)."""

from __future__ import annotations

import argparse
import csv
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cds_service.config import Settings
from cds_service.store import AuditEntry, Store, commands

FIXTURE = Path(__file__).resolve().parents[2] / "fhir_fixtures" / "authorizations.json"
T0 = datetime(2026, 3, 1, 14, 30, tzinfo=UTC)
HASH_KEY = "cli-tests-key-0123456789abcdef"


def run(settings: Settings, *argv: str) -> int:
    parser = argparse.ArgumentParser(prog="anakinra-cds")
    sub = parser.add_subparsers(dest="command")
    commands.add_subcommands(sub, get_settings=lambda: settings)
    args = parser.parse_args(list(argv))
    return args.func(args)


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(database_url="", var_dir=str(tmp_path / "var"), patient_hash_key=HASH_KEY)


@pytest.fixture
def store(settings):
    s = Store.from_settings(settings)
    s.migrate()
    yield s
    s.dispose()


def _calls(store: Store) -> None:
    store.record_call(
        AuditEntry(
            service_id="anakinra-crd-order-sign",
            hook_instance="hook-inst-1",
            called_at=T0,
            http_status=200,
            latency_ms=87.4,
            policy_id="kineret-mcg-09-J0000-45",
            policy_revision="2025-10",
            determinations=[
                {"order": "MedicationRequest/mr-1", "determination": "conditional", "paNeeded": "auth-needed"},
                {"order": "MedicationRequest/mr-2", "determination": "not-covered"},
            ],
            coverage_assertion_ids=["ca-1", "ca-2"],
            card_uuids=["card-1"],
        )
    )
    store.record_call(
        AuditEntry(
            service_id="anakinra-crd-order-sign",
            hook_instance="hook-inst-2",
            called_at=T0 + timedelta(days=1),
            http_status=503,
            latency_ms=12,
            kind="explain",
        )
    )


def test_audit_table(settings, store, capsys):
    _calls(store)
    assert run(settings, "audit", "--since", "2026-03-01", "--until", "2026-03-01") == 0
    out = capsys.readouterr().out
    header = out.splitlines()[0]
    for column in (
        "time (UTC)",
        "service",
        "hookInstance",
        "determinations",
        "assertion ids",
        "policy revision",
        "latency",
        "status",
    ):
        assert column in header
    row = out.splitlines()[2]
    for value in (
        "2026-03-01T14:30:00Z",
        "anakinra-crd-order-sign",
        "hook-inst-1",
        "MedicationRequest/mr-1=conditional(auth-needed); MedicationRequest/mr-2=not-covered",
        "ca-1 ca-2",
        "2025-10",
        "87 ms",
        "200",
    ):
        assert value in row
    assert "hook-inst-2" not in out  # --until 2026-03-01 ends with that day
    assert "1 call(s)" in out


def test_audit_csv_has_every_column(settings, store, capsys):
    _calls(store)
    assert run(settings, "audit", "--since", "2026-03-01T00:00:00Z", "--csv") == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [r["hook_instance"] for r in rows] == ["hook-inst-1", "hook-inst-2"]
    assert tuple(rows[0].keys()) == commands.AUDIT_CSV_COLUMNS
    assert rows[0]["coverage_assertion_ids"] == "ca-1 ca-2"
    assert '"paNeeded":"auth-needed"' in rows[0]["determinations"]
    assert rows[1]["kind"] == "explain" and rows[1]["http_status"] == "503"
    assert rows[0]["card_uuids"] == "card-1"


def test_audit_with_nothing_to_show(settings, store, capsys):
    assert run(settings, "audit", "--since", "2030-01-01") == 0
    assert "No audit records since 2030-01-01T00:00:00Z" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["audit", "--since", "last tuesday"], "--since: not a date"),
        (["audit", "--since", "2026-03-01", "--until", "2026-02-30"], "--until: not a date"),
        (["audit", "--since", "2026-03-02", "--until", "2026-03-01"], "--until is before --since"),
    ],
)
def test_audit_bad_dates_exit_2_with_one_line(settings, store, capsys, argv, message):
    assert run(settings, *argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_audit_before_any_schema_says_what_to_do(settings, capsys):
    assert run(settings, "audit", "--since", "2026-03-01") == 2
    assert "db upgrade" in capsys.readouterr().err


def test_db_upgrade(settings, capsys):
    assert run(settings, "db", "upgrade") == 0
    assert "revision 0003" in capsys.readouterr().out
    assert run(settings, "db", "upgrade") == 0  # idempotent


def test_import_fixture_then_list(settings, capsys):
    assert run(settings, "authorizations", "import", str(FIXTURE)) == 0  # creates the schema if needed
    assert "Imported 2 authorization record(s)" in capsys.readouterr().out
    assert run(settings, "authorizations", "import", str(FIXTURE)) == 0
    assert "(0 new, 2 updated)" in capsys.readouterr().out

    assert run(settings, "authorizations", "list") == 0
    out = capsys.readouterr().out
    assert "PA-2025-0310-0042" in out and "PA-SYN-EXP-0002" in out and "2 record(s)" in out
    assert "MBR-RA-CONT-001" not in out  # only keyed hashes are shown

    assert run(settings, "authorizations", "list", "--member-id", "MBR-RA-CONT-001") == 0
    out = capsys.readouterr().out
    assert "PA-2025-0310-0042" in out and "PA-SYN-EXP-0002" not in out
    ref = Store.from_settings(settings).member_ref("MBR-RA-EXP-002")
    assert run(settings, "authorizations", "list", "--member-ref", ref) == 0
    out = capsys.readouterr().out
    assert "PA-SYN-EXP-0002" in out and "PA-2025-0310-0042" not in out and ref in out


def test_import_missing_file_exits_2(settings, tmp_path, capsys):
    assert run(settings, "authorizations", "import", str(tmp_path / "nope.csv")) == 2
    err = capsys.readouterr().err
    assert "nope.csv: no such file" in err and len(err.strip().splitlines()) == 1


def test_import_bad_csv_exits_2_naming_the_line(settings, tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "pa_id,member_id,drug,start,end\nPA-1,M1,anakinra,2026-01-01,2026-12-31\n"
        "PA-2,M2,anakinra,01/02/2026,2026-12-31\n"
    )
    assert run(settings, "authorizations", "import", str(bad)) == 2
    err = capsys.readouterr().err
    assert "bad.csv line 3: 'start' is not a date" in err and "Traceback" not in err
    assert run(settings, "authorizations", "list") == 0
    assert "No authorization records." in capsys.readouterr().out  # nothing half-imported


def test_unreachable_database_exits_1(tmp_path, capsys):
    settings = Settings(
        database_url="postgresql://postgres@127.0.0.1:1/x", var_dir=str(tmp_path), patient_hash_key=HASH_KEY
    )
    assert run(settings, "db", "upgrade") == 1
    err = capsys.readouterr().err
    assert err.startswith("error: database unavailable:") and len(err.strip().splitlines()) == 1


def test_bad_configuration_exits_2(tmp_path, capsys):
    settings = Settings(database_url="mysql://x@127.0.0.1/db", var_dir=str(tmp_path), patient_hash_key=HASH_KEY)
    assert run(settings, "audit", "--since", "2026-01-01") == 2
    assert "error: configuration:" in capsys.readouterr().err
    short_key = Settings(database_url="", var_dir=str(tmp_path), patient_hash_key="short")
    assert run(short_key, "db", "upgrade") == 2


def test_group_without_subcommand_exits_2(settings, capsys):
    assert run(settings, "authorizations") == 2
    assert run(settings, "db") == 2
    assert "choose a subcommand" in capsys.readouterr().err
