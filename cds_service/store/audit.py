"""The audit trail: one row per hook or explain call (`audit_calls`) and the uuid of each card it
returned (`audit_cards`), written before the call is answered; rows replayed from the local spool;
reading them back for the `audit` command.

`record_call` here is the SQLAlchemy Core path. On SQLite the Store runs the same statements with
the same values through `sqlite_fast_path` unless told not to (`Store(..., sqlite_fast_path=False)`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import cast

from sqlalchemy import Table, insert, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from .engine import Database
from .json_columns import json_checked, str_list
from .models import AuditCallRow, AuditCardRow, AuditSpoolReplayRow
from .public_types import AuditEntry, RecordedCall

# Statements of every hook call, built once: a statement built per call costs more CPU (expression
# construction, a fresh cache key) than executing it. Values go in as parameter dicts.
INSERT_AUDIT_CALL = insert(cast(Table, AuditCallRow.__table__))  # columns: the keys of the parameter dict
INSERT_AUDIT_CARDS = insert(cast(Table, AuditCardRow.__table__))  # executemany with a list of dicts

# The audit_calls columns record_call writes (the keys of `audit_values`), and those of a card row.
AUDIT_CALL_KEYS = (
    "kind",
    "service_id",
    "hook_instance",
    "called_at",
    "determinations",
    "clause_outcomes",
    "coverage_assertion_ids",
    "policy_id",
    "policy_revision",
    "latency_ms",
    "http_status",
    "patient_hash",
)
AUDIT_CARD_KEYS = ("audit_id", "card_uuid", "position")


def audit_values(entry: AuditEntry) -> dict:
    """The audit_calls parameter dict for `entry` (keys: AUDIT_CALL_KEYS): JSON fields checked and
    redacted, text columns cut to their width (hookInstance comes from the client: a 10 kB one must
    not make the write fail). TypeError for anything but an AuditEntry, ValueError for non-JSON values."""
    if not isinstance(entry, AuditEntry):
        raise TypeError("record_call takes an AuditEntry")
    return dict(
        kind=entry.kind,
        service_id=entry.service_id[:128],
        hook_instance=entry.hook_instance[:128] if entry.hook_instance else entry.hook_instance,
        called_at=entry.called_at,
        determinations=json_checked("determinations", entry.determinations),
        clause_outcomes=json_checked("clause_outcomes", entry.clause_outcomes),
        coverage_assertion_ids=str_list(entry.coverage_assertion_ids),
        policy_id=entry.policy_id[:128] if entry.policy_id else entry.policy_id,
        policy_revision=entry.policy_revision[:64] if entry.policy_revision else entry.policy_revision,
        latency_ms=round(entry.latency_ms),
        http_status=entry.http_status,
        patient_hash=entry.patient_hash,
    )


def card_values(audit_id: int, card_uuids: list[str]) -> list[dict]:
    """The audit_cards parameter dicts of one call (keys: AUDIT_CARD_KEYS), uuids cut to their width."""
    return [{"audit_id": audit_id, "card_uuid": u[:128], "position": i} for i, u in enumerate(card_uuids)]


def insert_call(conn: Connection, values: dict, card_uuids: list[str]) -> int:
    """Insert one call and its cards on `conn` (inside the caller's transaction); the new row id."""
    # SQLAlchemy types inserted_primary_key as Optional (None only for a statement that is not an INSERT).
    row_id: int = conn.execute(INSERT_AUDIT_CALL, values).inserted_primary_key[0]  # type: ignore[index]
    if card_uuids:
        conn.execute(INSERT_AUDIT_CARDS, card_values(row_id, card_uuids))
    return row_id


def record_call(db: Database, values: dict, card_uuids: list[str]) -> int:
    """Insert one call (`audit_values`) and its cards in one committed transaction; the row id.
    Core inserts, no ORM unit of work: this runs on every hook call."""
    with db.write_transaction() as conn:
        return insert_call(conn, values, card_uuids)


def record_spooled_call(db: Database, entry: AuditEntry, spool_id: str) -> bool:
    """Store a spooled row once (see `Store.record_spooled_call`). True when stored now."""
    if not isinstance(spool_id, str) or not 0 < len(spool_id) <= 64:
        raise ValueError("spool_id must be a string of 1 to 64 characters")
    values = audit_values(entry)
    replays = cast(Table, AuditSpoolReplayRow.__table__)
    try:
        with db.write_transaction() as conn:
            if conn.execute(select(replays.c.spool_id).where(replays.c.spool_id == spool_id)).first():
                return False
            row_id = insert_call(conn, values, entry.card_uuids)
            conn.execute(insert(replays).values(spool_id=spool_id, audit_id=row_id, replayed_at=datetime.now(UTC)))
    except IntegrityError:
        return False  # stored by a concurrent replay of the same spool
    return True


def _to_recorded_call(row: AuditCallRow) -> RecordedCall:
    return RecordedCall(
        id=row.id,
        kind=row.kind,
        service_id=row.service_id,
        hook_instance=row.hook_instance,
        called_at=row.called_at,
        http_status=row.http_status,
        latency_ms=row.latency_ms,
        patient_hash=row.patient_hash,
        policy_id=row.policy_id,
        policy_revision=row.policy_revision,
        determinations=list(row.determinations or []),
        clause_outcomes=row.clause_outcomes if row.clause_outcomes is not None else [],
        coverage_assertion_ids=list(row.coverage_assertion_ids or []),
        card_uuids=[c.card_uuid for c in row.cards],
    )


def list_calls(db: Database, since: datetime, until: datetime | None, limit: int | None) -> list[RecordedCall]:
    """Audit rows with since <= called_at < until (until None: no upper bound), oldest first."""
    for name, value in (("since", since), ("until", until)):
        if value is not None and (not isinstance(value, datetime) or value.tzinfo is None):
            raise ValueError(f"{name} must be a timezone-aware datetime")
    stmt = (
        select(AuditCallRow)
        .options(selectinload(AuditCallRow.cards))
        .where(AuditCallRow.called_at >= since)
        .order_by(AuditCallRow.called_at, AuditCallRow.id)
    )
    if until is not None:
        stmt = stmt.where(AuditCallRow.called_at < until)
    if limit is not None:
        stmt = stmt.limit(limit)
    with db.session(write=False) as session:
        return [_to_recorded_call(r) for r in session.scalars(stmt)]
