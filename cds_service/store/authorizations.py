"""The plan's prior authorization records: reading a member's approvals, issuing one (idempotently,
under a lock per member and drug), and importing the plan's own records from a file.

`previous_authorizations` here is the SQLAlchemy Core path. On SQLite the Store runs the same
statement through `sqlite_fast_path` unless told not to (`Store(..., sqlite_fast_path=False)`).
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import bindparam, select, text
from sqlalchemy.exc import IntegrityError

from .authorization_files import read_authorization_file
from .engine import Database
from .models import AuthorizationRow
from .public_types import AUTHORIZATION_SOURCES, Authorization, ImportResult, is_keyed_hash

_AUTHORIZATIONS = AuthorizationRow.__table__
# Every hook call reads a member's records: the statement is built once, values go in as parameters.
SELECT_PREVIOUS_AUTHORIZATIONS = (
    select(_AUTHORIZATIONS)
    .where(_AUTHORIZATIONS.c.member_ref == bindparam("member_ref"), _AUTHORIZATIONS.c.drug == bindparam("drug"))
    .order_by(_AUTHORIZATIONS.c.period_end.desc(), _AUTHORIZATIONS.c.created_at.desc(), _AUTHORIZATIONS.c.id.desc())
)


def check_member_ref(value: str) -> None:
    if not is_keyed_hash(value):
        raise ValueError("member_ref must be a keyed hash (Store.member_ref(member_id)), never a raw id")


def previous_params(member_ref: str, drug: str) -> dict:
    """The parameters of SELECT_PREVIOUS_AUTHORIZATIONS (member_ref checked, drug lower-cased)."""
    check_member_ref(member_ref)
    return {"member_ref": member_ref, "drug": drug.lower()}


def to_authorization(row: Any) -> Authorization:
    """An AuthorizationRow, or any object with its column attributes, as an Authorization."""
    return Authorization(
        pa_id=row.pa_id,
        member_ref=row.member_ref,
        drug=row.drug,
        indication=row.indication,
        start=row.period_start,
        end=row.period_end,
        status=row.status,
        coverage_assertion_id=row.coverage_assertion_id,
        created_at=row.created_at,
        source=row.source,
    )


def _member_lock_key(member_ref: str, drug: str) -> int:
    """A signed 64-bit PostgreSQL advisory lock key for one member and drug."""
    digest = hashlib.sha256(f"authorization|{member_ref}|{drug}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _new_pa_id() -> str:
    return "PA-" + base64.b32encode(secrets.token_bytes(10)).decode("ascii")


def current_authorization(db: Database, member_ref: str, drug: str, as_of: date) -> Authorization | None:
    """The approval whose period contains `as_of`, the one ending last when several do."""
    check_member_ref(member_ref)
    stmt = (
        select(AuthorizationRow)
        .where(
            AuthorizationRow.member_ref == member_ref,
            AuthorizationRow.drug == drug.lower(),
            AuthorizationRow.status == "approved",
            AuthorizationRow.period_start <= as_of,
            AuthorizationRow.period_end >= as_of,
        )
        .order_by(AuthorizationRow.period_end.desc(), AuthorizationRow.created_at.desc(), AuthorizationRow.id.desc())
        .limit(1)
    )
    with db.session(write=False) as session:
        row = session.scalar(stmt)
        return to_authorization(row) if row is not None else None


def previous_authorizations(db: Database, params: dict) -> list[Authorization]:
    """Every record for `previous_params(...)`, newest period first."""
    with db.connect() as conn:
        return [to_authorization(r) for r in conn.execute(SELECT_PREVIOUS_AUTHORIZATIONS, params)]


def list_authorizations(db: Database, member_ref: str | None) -> list[Authorization]:
    """All records (or one member's), newest created first."""
    stmt = select(AuthorizationRow).order_by(AuthorizationRow.created_at.desc(), AuthorizationRow.id.desc())
    if member_ref is not None:
        stmt = stmt.where(AuthorizationRow.member_ref == member_ref.lower())
    with db.session(write=False) as session:
        return [to_authorization(r) for r in session.scalars(stmt)]


def issue_authorization(
    db: Database,
    member_ref: str,
    drug: str,
    indication: str | None,
    start: date,
    end: date,
    coverage_assertion_id: str | None,
) -> Authorization:
    """Record an approval issued by this service, committed before it is returned (see
    `Store.issue_authorization`): an approved record already covering `start` for the same member,
    drug and indication is returned instead of a second one."""
    check_member_ref(member_ref)
    if not drug or not isinstance(drug, str):
        raise ValueError("drug is required")
    if not isinstance(start, date) or not isinstance(end, date) or start > end:
        raise ValueError("start and end must be dates with start <= end")
    for attempt in range(3):
        row = AuthorizationRow(
            pa_id=_new_pa_id(),
            member_ref=member_ref,
            drug=drug.lower(),
            indication=indication,
            period_start=start,
            period_end=end,
            status="approved",
            coverage_assertion_id=coverage_assertion_id,
            created_at=datetime.now(UTC),
            source=AUTHORIZATION_SOURCES[0],
        )
        try:
            with db.session(write=True) as session:
                if db.backend == "postgresql":
                    session.execute(
                        text("SELECT pg_advisory_xact_lock(:key)"), {"key": _member_lock_key(member_ref, row.drug)}
                    )
                existing = session.scalars(
                    select(AuthorizationRow)
                    .where(
                        AuthorizationRow.member_ref == member_ref,
                        AuthorizationRow.drug == row.drug,
                        AuthorizationRow.status == "approved",
                        AuthorizationRow.indication.is_not_distinct_from(indication),
                        AuthorizationRow.period_start <= start,
                        AuthorizationRow.period_end >= start,
                    )
                    .order_by(AuthorizationRow.period_start.desc(), AuthorizationRow.id)
                    .limit(1)
                ).first()
                if existing is not None:
                    session.rollback()
                    return to_authorization(existing)
                session.add(row)
                session.commit()
        except IntegrityError:
            if attempt == 2:
                raise
            continue  # pa_id collision: draw again
        return to_authorization(row)
    raise AssertionError("unreachable")


def import_authorizations(db: Database, path: str | os.PathLike[str], hash_key: bytes | None) -> ImportResult:
    """Insert or update (by pa_id) every record of a CSV or JSON file, in one transaction."""
    rows = read_authorization_file(path, hash_key)
    inserted = updated = 0
    now = datetime.now(UTC)
    with db.session(write=True) as session:
        existing: dict[str, AuthorizationRow] = {}
        pa_ids = [r.pa_id for r in rows]
        for i in range(0, len(pa_ids), 500):
            chunk = pa_ids[i : i + 500]
            for found in session.scalars(select(AuthorizationRow).where(AuthorizationRow.pa_id.in_(chunk))):
                existing[found.pa_id] = found
        for r in rows:
            target = existing.get(r.pa_id)
            if target is None:
                target = AuthorizationRow(pa_id=r.pa_id, created_at=now)
                session.add(target)
                inserted += 1
            else:
                updated += 1
            target.member_ref = r.member_ref
            target.drug = r.drug
            target.indication = r.indication
            target.period_start = r.start
            target.period_end = r.end
            target.status = r.status
            target.coverage_assertion_id = r.coverage_assertion_id
            target.source = AUTHORIZATION_SOURCES[1]
        session.commit()
    return ImportResult(inserted=inserted, updated=updated)
