"""Command-line subcommands for the store: `audit`, `authorizations import|list`, `db upgrade`.

Wiring (in cds_service/cli.py):

    sub = parser.add_subparsers(dest="command")
    store_commands.add_subcommands(sub, get_settings=config.from_env)
    args = parser.parse_args(argv)
    return args.func(args)          # every handler returns an int exit code

Exit codes: 0 success; 2 bad input (bad date, missing or invalid file, bad configuration,
database without schema); 1 database unavailable. Errors are one line on stderr starting
with "error:", never a traceback.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from .authorization_files import AuthorizationImportError
from .engine import StoreUnavailable
from .pseudonyms import HashKeyError
from .public_types import Authorization, RecordedCall
from .store import Store

EXIT_OK, EXIT_UNAVAILABLE, EXIT_USAGE = 0, 1, 2
MAX_CELL = 60

AUDIT_CSV_COLUMNS = (
    "id",
    "kind",
    "called_at",
    "service_id",
    "hook_instance",
    "determinations",
    "clause_outcomes",
    "coverage_assertion_ids",
    "policy_id",
    "policy_revision",
    "latency_ms",
    "http_status",
    "patient_hash",
    "card_uuids",
)


class _CommandError(Exception):
    def __init__(self, message: str, code: int = EXIT_USAGE):
        super().__init__(message)
        self.code = code


def add_subcommands(subparsers: Any, get_settings: Callable[[], Any]) -> None:
    """Add `audit`, `authorizations` and `db` to an argparse subparsers object.

    `get_settings` is called only when a command runs (returns cds_service.config.Settings).
    Each parser gets `func=handler`; `handler(args) -> int`.
    """
    audit = subparsers.add_parser(
        "audit",
        help="show the audit trail of hook and explain calls",
        description="Audit trail of hook and explain calls (times in UTC). DATE is YYYY-MM-DD "
        "or an ISO 8601 date-time; --until DATE includes that whole day.",
    )
    audit.add_argument("--since", required=True, metavar="DATE", help="first day (or instant) to show")
    audit.add_argument("--until", metavar="DATE", help="last day to show (default: no limit)")
    audit.add_argument("--csv", action="store_true", help="CSV with every column instead of a table")
    audit.set_defaults(func=_guard(_audit, get_settings))

    auth = subparsers.add_parser("authorizations", help="the plan's prior authorization records")
    auth_sub = auth.add_subparsers(dest="authorizations_command", metavar="{import,list}")
    auth.set_defaults(func=_usage(auth))
    imp = auth_sub.add_parser(
        "import",
        help="import records from a CSV or JSON file (see README.md, section Persistence)",
        description="Import authorization records. Columns: pa_id, member_id | member_ref, drug, "
        "indication, start, end, status, coverage_assertion_id. Raw member_id values "
        "are hashed with the service's key; existing pa_ids are updated.",
    )
    imp.add_argument("file", metavar="FILE")
    imp.set_defaults(func=_guard(_auth_import, get_settings))
    lst = auth_sub.add_parser("list", help="list authorization records")
    who = lst.add_mutually_exclusive_group()
    who.add_argument("--member-ref", metavar="HASH", help="only this member (keyed hash)")
    who.add_argument("--member-id", metavar="ID", help="only this member (raw id, hashed with the service's key)")
    lst.set_defaults(func=_guard(_auth_list, get_settings))

    db = subparsers.add_parser("db", help="database schema")
    db_sub = db.add_subparsers(dest="db_command", metavar="{upgrade}")
    db.set_defaults(func=_usage(db))
    up = db_sub.add_parser("upgrade", help="create or upgrade the schema to the newest revision")
    up.set_defaults(func=_guard(_db_upgrade, get_settings))


def _usage(parser: argparse.ArgumentParser) -> Callable[[argparse.Namespace], int]:
    def handler(_args: argparse.Namespace) -> int:
        parser.print_usage(sys.stderr)
        print(f"error: {parser.prog}: choose a subcommand", file=sys.stderr)
        return EXIT_USAGE

    return handler


def _guard(fn: Callable[[argparse.Namespace, Store], int], get_settings: Callable[[], Any]):
    def handler(args: argparse.Namespace) -> int:
        try:
            try:
                store = Store.from_settings(get_settings())
            except (ValueError, HashKeyError, OSError) as exc:
                raise _CommandError(f"configuration: {exc}") from None
            try:
                return fn(args, store)
            finally:
                store.dispose()
        except _CommandError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return exc.code
        except AuthorizationImportError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_USAGE
        except StoreUnavailable as exc:
            print(f"error: database unavailable: {exc.reason}", file=sys.stderr)
            return EXIT_UNAVAILABLE
        except BrokenPipeError:  # `... | head`
            return EXIT_OK

    return handler


# ---------------------------------------------------------------------- helpers


def parse_when(value: str, option: str, *, end_of_day: bool = False) -> datetime:
    """A UTC instant from YYYY-MM-DD (midnight; the next midnight when end_of_day) or an ISO
    8601 date-time (naive taken as UTC). Raises _CommandError naming the option."""
    raw = (value or "").strip()
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        day = None
    if day is not None:
        if end_of_day:
            day = day + timedelta(days=1)
        return datetime.combine(day, time.min, tzinfo=UTC)
    try:
        when = datetime.fromisoformat(raw)
    except ValueError:
        raise _CommandError(f"{option}: not a date (YYYY-MM-DD) or ISO 8601 date-time: {value!r}") from None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def _require_schema(store: Store) -> None:
    if store.current_revision() is None:
        raise _CommandError(
            "the database has no schema yet: run `anakinra-cds db upgrade` (the service also does when it starts)"
        )


def _cell(value: str, max_cell: int) -> str:
    value = value.replace("\n", " ")
    return value if len(value) <= max_cell else value[: max_cell - 1] + "…"


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], max_cell: int = MAX_CELL) -> str:
    cells = [[_cell(str(c), max_cell) for c in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    line = lambda r: "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=False)).rstrip()  # noqa: E731
    out = [line(headers), line(["-" * w for w in widths])]
    out.extend(line(r) for r in cells)
    return "\n".join(out)


def summarize_determinations(determinations: list) -> str:
    """ "MedicationRequest/1=conditional(auth-needed); ..." from the per-order dicts."""
    parts = []
    for d in determinations:
        if isinstance(d, dict) and "determination" in d:
            text = f"{d.get('order', '?')}={d['determination']}"
            pa = d.get("paNeeded") or d.get("pa_needed")
            if pa:
                text += f"({pa})"
            parts.append(text)
        else:
            parts.append(json.dumps(d, separators=(",", ":"), sort_keys=True))
    return "; ".join(parts) or "-"


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


# ---------------------------------------------------------------------- handlers


def _audit(args: argparse.Namespace, store: Store) -> int:
    since = parse_when(args.since, "--since")
    until = parse_when(args.until, "--until", end_of_day=True) if args.until else None
    if until is not None and until <= since:
        raise _CommandError("--until is before --since")
    _require_schema(store)
    calls = store.list_calls(since, until)
    if args.csv:
        _audit_csv(calls)
        return EXIT_OK
    if not calls:
        span = f"since {_iso(since)}" + (f" until {_iso(until)}" if until else "")
        print(f"No audit records {span}.")
        return EXIT_OK
    headers = (
        "time (UTC)",
        "service",
        "hookInstance",
        "determinations",
        "assertion ids",
        "policy revision",
        "latency",
        "status",
    )
    rows = [
        (
            _iso(c.called_at),
            c.service_id if c.kind == "hook" else f"{c.service_id} (explain)",
            c.hook_instance or "-",
            summarize_determinations(c.determinations),
            " ".join(c.coverage_assertion_ids) or "-",
            c.policy_revision or "-",
            f"{c.latency_ms:.0f} ms",
            str(c.http_status),
        )
        for c in calls
    ]
    print(_table(headers, rows, max_cell=100))
    print(f"{len(calls)} call(s)")
    return EXIT_OK


def _audit_csv(calls: list[RecordedCall]) -> None:
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(AUDIT_CSV_COLUMNS)
    dumps = lambda v: json.dumps(v, separators=(",", ":"), sort_keys=True)  # noqa: E731
    for c in calls:
        writer.writerow(
            [
                c.id,
                c.kind,
                _iso(c.called_at),
                c.service_id,
                c.hook_instance or "",
                dumps(c.determinations),
                dumps(c.clause_outcomes),
                " ".join(c.coverage_assertion_ids),
                c.policy_id or "",
                c.policy_revision or "",
                f"{c.latency_ms:.0f}",
                c.http_status,
                c.patient_hash or "",
                " ".join(c.card_uuids),
            ]
        )


def _auth_import(args: argparse.Namespace, store: Store) -> int:
    path = Path(args.file)
    if not path.is_file():
        raise _CommandError(f"{path}: no such file")
    store.migrate()
    result = store.import_authorizations(path)
    print(
        f"Imported {result.total} authorization record(s) from {path} "
        f"({result.inserted} new, {result.updated} updated)."
    )
    return EXIT_OK


def _auth_list(args: argparse.Namespace, store: Store) -> int:
    ref = args.member_ref
    if args.member_id:
        try:
            ref = store.member_ref(args.member_id)
        except ValueError as exc:
            raise _CommandError(str(exc)) from None
    _require_schema(store)
    records: list[Authorization] = store.list_authorizations(ref)
    if not records:
        print("No authorization records" + (" for this member." if ref else "."))
        return EXIT_OK
    headers = (
        "pa_id",
        "member_ref",
        "drug",
        "indication",
        "start",
        "end",
        "status",
        "source",
        "coverage assertion",
        "created (UTC)",
    )
    rows = [
        (
            a.pa_id,
            a.member_ref,
            a.drug,
            a.indication or "-",
            a.start.isoformat(),
            a.end.isoformat(),
            a.status,
            a.source,
            a.coverage_assertion_id or "-",
            _iso(a.created_at),
        )
        for a in records
    ]
    print(_table(headers, rows, max_cell=64))
    print(f"{len(records)} record(s)")
    return EXIT_OK


def _db_upgrade(_args: argparse.Namespace, store: Store) -> int:
    revision = store.migrate()
    print(f"Database schema at revision {revision} (head) on {store.url}.")
    return EXIT_OK
