"""The Store: the audit trail, feedback and the plan's authorizations on SQLite or PostgreSQL, behind
one object. Each concern lives in its own module; this class only holds the database and the key, and
turns database failures into `StoreUnavailable`.

Usage from the web layer (one Store per app; safe to create before gunicorn forks):

    store = Store.from_settings(settings)
    store.ensure_schema()                 # migrate() unless already at head; serialised across processes
    call_id = store.record_call(AuditEntry(...))
    store.record_feedback(service_id, body["feedback"])
    auth = store.current_authorization(store.member_ref(member_id), "anakinra", as_of)

Every method the hook path calls (record_call, record_feedback, current_authorization,
previous_authorizations, issue_authorization) raises only `StoreUnavailable` when the
database cannot be used (unreachable, locked past the busy timeout, schema missing, ...),
so the caller can answer without issuing approvals. Wrong arguments are programming
errors and raise ValueError / TypeError (`InvalidFeedback` for bad feedback items).
`health()` never raises.

| module | what it does |
|---|---|
| `engine` | URLs, the per-process engine (SQLite WAL, PostgreSQL timeouts), the retry window, `StoreUnavailable` |
| `schema`, `migration_runner` | the schema revision, creating an empty database at head, alembic migrations, health |
| `audit` | `record_call`, `record_spooled_call`, `list_calls` |
| `feedback` | `record_feedback`, `list_feedback`, `InvalidFeedback` |
| `authorizations` | reading, issuing and importing the plan's approvals |
| `sqlite_fast_path` | on SQLite, `record_call` and `previous_authorizations` on kept sqlite3 connections |
"""

from __future__ import annotations

import logging
import os
from datetime import date, datetime
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.orm import configure_mappers

from . import audit, authorizations, feedback, schema
from .engine import Database, database_url_from_settings, guarded
from .pseudonyms import load_hash_key, member_ref, patient_hash
from .public_types import AuditEntry, Authorization, FeedbackRecord, ImportResult, RecordedCall
from .schema import SCHEMA_HEAD
from .sqlite_fast_path import SQLiteFastPath

log = logging.getLogger(__name__)


class Store:
    """Persistence for the audit trail, feedback and authorizations. See the module doc."""

    def __init__(
        self,
        url: str,
        *,
        hash_key: bytes | None = None,
        connect_timeout: float = 3.0,
        busy_timeout_ms: int = 5000,
        statement_timeout_ms: int = 5000,
        pool_size: int = 5,
        retry_after_seconds: float = 2.0,
        sqlite_fast_path: bool | None = None,
    ):
        """`url`: a SQLAlchemy URL (run DATABASE_URL values through `normalize_database_url`
        first; `from_settings` does). `hash_key`: the HMAC key for member/patient pseudonyms
        (needed by `member_ref`, `patient_hash` and imports of raw member ids).
        `connect_timeout` (PostgreSQL, whole seconds, libpq minimum 2), `busy_timeout_ms`
        (SQLite), `statement_timeout_ms` (PostgreSQL) bound how long a call can hang.
        After a failed connection attempt, calls fail fast with StoreUnavailable for
        `retry_after_seconds` instead of each waiting for the timeout again (0 disables);
        `health()` and `migrate()` always try for real.
        `sqlite_fast_path`: run `record_call` and `previous_authorizations` through
        `sqlite_fast_path` (default: on for SQLite; False: the SQLAlchemy path, as on PostgreSQL;
        True on PostgreSQL is a ValueError).
        Raises ValueError for a URL that is not SQLite or PostgreSQL. Connects lazily."""
        self._db = Database(
            url,
            connect_timeout=connect_timeout,
            busy_timeout_ms=busy_timeout_ms,
            statement_timeout_ms=statement_timeout_ms,
            pool_size=pool_size,
            retry_after_seconds=retry_after_seconds,
        )
        self.backend: str = self._db.backend
        self._hash_key = hash_key
        if sqlite_fast_path is None:
            sqlite_fast_path = self.backend == "sqlite"
        self._fast_path: SQLiteFastPath | None = SQLiteFastPath(self._db) if sqlite_fast_path else None

    @classmethod
    def from_settings(cls, settings: Any, **kwargs) -> Store:
        """A Store for `settings.database_url` (empty -> SQLite in settings.var_dir) with the
        key from `settings.patient_hash_key` or `<var_dir>/patient-hash.key`.
        Raises ValueError (bad URL) or pseudonyms.HashKeyError (bad key)."""
        url = database_url_from_settings(settings)
        key = load_hash_key(settings.patient_hash_key, settings.var_dir)
        store = cls(url, hash_key=key, **kwargs)
        if store.backend != "sqlite" and not settings.patient_hash_key:
            log.warning(
                "CDS_PATIENT_HASH_KEY is not set: using a per-host key file; hosts sharing this "
                "database will compute different member/patient hashes"
            )
        return store

    # ------------------------------------------------------------------ engine

    @property
    def url(self) -> str:
        """The database URL with the password hidden."""
        return self._db.url

    @property
    def engine(self) -> Engine:
        """This process's engine (created on first use; re-pooled after a fork)."""
        return self._db.engine

    @property
    def uses_sqlite_fast_path(self) -> bool:
        return self._fast_path is not None

    def dispose(self) -> None:
        """Close this process's pooled connections and the fast path's idle ones (the Store stays usable)."""
        if self._fast_path is not None:
            self._fast_path.dispose()
        self._db.dispose()

    def warm_up(self) -> None:
        """What the first call would do once, done at start (before gunicorn forks the workers):
        configure the ORM mappers (on the first approval issued otherwise) and compile the SQLite
        fast path's statements. Raises what connecting raises (the caller logs it)."""
        configure_mappers()
        if self._fast_path is not None:
            self._fast_path.warm_up()

    # ------------------------------------------------------------------ pseudonyms

    def member_ref(self, member_id: str) -> str:
        """`pseudonyms.member_ref` with this Store's key (for Coverage subscriber/member ids)."""
        if not self._hash_key:
            raise ValueError("this Store has no hash key (create it with Store.from_settings)")
        return member_ref(self._hash_key, member_id)

    def patient_hash(self, patient_id: str) -> str:
        """`pseudonyms.patient_hash` with this Store's key."""
        if not self._hash_key:
            raise ValueError("this Store has no hash key (create it with Store.from_settings)")
        return patient_hash(self._hash_key, patient_id)

    # ------------------------------------------------------------------ schema

    def head_revision(self) -> str | None:
        """The newest migration revision shipped with this package (asks alembic)."""
        return schema.alembic_runner().head_revision()

    @guarded
    def ensure_schema(self) -> str | None:
        """The database at the newest schema, as at start. Returns the revision now current.
        - Already there (one row in alembic_version, equal to SCHEMA_HEAD): nothing more is read or
          imported.
        - Empty (none of the store's tables, no alembic_version): the tables are created from the
          models and stamped at SCHEMA_HEAD, without alembic. A test checks that this gives the same
          schema as running every migration.
        - Anything else (below head, an unknown revision, tables without a stamp): `migrate()`."""
        if self.schema_revisions() == [SCHEMA_HEAD]:
            return SCHEMA_HEAD
        if schema.create_at_head(self._db) or self.schema_revisions() == [SCHEMA_HEAD]:
            return SCHEMA_HEAD
        return self.migrate()

    @guarded
    def schema_revisions(self) -> list[str]:
        """The rows of alembic_version ([] when the table is missing), read without alembic."""
        return schema.schema_revisions(self._db)

    @guarded
    def migrate(self, revision: str = "head") -> str | None:
        """Run `alembic upgrade <revision>` (default head) in one transaction and return the
        revision now current. Idempotent; concurrent callers (several workers starting) are
        serialised by an advisory lock (PostgreSQL) or the write lock (SQLite)."""
        runner = schema.alembic_runner()
        runner.run(self._db, "upgrade", revision)
        return runner.current_revision(self._db)

    @guarded
    def downgrade(self, revision: str = "base") -> str | None:
        """Run `alembic downgrade <revision>` ("base" drops every table). For operators and tests."""
        runner = schema.alembic_runner()
        runner.run(self._db, "downgrade", revision)
        return runner.current_revision(self._db)

    @guarded
    def current_revision(self) -> str | None:
        """The migration revision the database is at (None for an empty database)."""
        return schema.alembic_runner().current_revision(self._db)

    def health(self) -> dict:
        """`{"status": "ok"}`, or `{"status": "degraded", "reason": "..."}` when the database
        cannot be reached (short connect timeout) or its schema is not at head. Never raises."""
        return schema.health(self._db)

    # ------------------------------------------------------------------ audit

    @guarded
    def record_call(self, entry: AuditEntry) -> int:
        """Store one hook/explain call and return its audit row id (committed on return).

        JSON fields go through `redaction.redact_json` first; text columns are cut to their
        width. Raises StoreUnavailable when the database cannot be written, ValueError when
        the entry holds non-JSON values."""
        values = audit.audit_values(entry)
        if self._fast_path is not None:
            return self._fast_path.record_call(values, entry.card_uuids)
        return audit.record_call(self._db, values, entry.card_uuids)

    @guarded
    def record_spooled_call(self, entry: AuditEntry, spool_id: str) -> bool:
        """Store an audit row that was written to the local spool while the database was down, once:
        the spool id is recorded in `audit_spool_replays` in the same transaction, and an id already there
        is skipped. True when stored now, False when it had been stored before."""
        return audit.record_spooled_call(self._db, entry, spool_id)

    @guarded
    def list_calls(
        self, since: datetime, until: datetime | None = None, limit: int | None = None
    ) -> list[RecordedCall]:
        """Audit rows with since <= called_at < until (until None: no upper bound), oldest first.
        `since` / `until` must be timezone-aware."""
        return audit.list_calls(self._db, since, until, limit)

    # ------------------------------------------------------------------ feedback

    @guarded
    def record_feedback(self, service_id: str, items: list[dict]) -> int:
        """Store CDS Hooks feedback items and return how many were new.

        Idempotent on (card uuid, outcome, outcomeTimestamp): repeats, also concurrent ones,
        are ignored by the unique constraint (INSERT ... ON CONFLICT DO NOTHING). Each row
        is linked to the latest audit row that returned that card (None if unknown).
        All items are checked first: a malformed item raises InvalidFeedback (naming
        `feedback[i].field`) and nothing is stored."""
        return feedback.record_feedback(self._db, service_id, items)

    @guarded
    def list_feedback(self, card_uuid: str | None = None) -> list[FeedbackRecord]:
        """Stored feedback (all, or for one card), oldest first."""
        return feedback.list_feedback(self._db, card_uuid)

    # ------------------------------------------------------------------ authorizations

    @guarded
    def current_authorization(self, member_ref: str, drug: str, as_of: date) -> Authorization | None:
        """The plan's approval for this member and drug whose period contains `as_of`
        (status approved, start <= as_of <= end); the one ending last when several do."""
        return authorizations.current_authorization(self._db, member_ref, drug, as_of)

    @guarded
    def previous_authorizations(self, member_ref: str, drug: str) -> list[Authorization]:
        """Every record (any status, any period) for this member and drug, newest period first.
        Continuation of therapy looks here for an earlier approval by the plan."""
        params = authorizations.previous_params(member_ref, drug)
        if self._fast_path is not None:
            return self._fast_path.previous_authorizations(params)
        return authorizations.previous_authorizations(self._db, params)

    @guarded
    def list_authorizations(self, member_ref: str | None = None) -> list[Authorization]:
        """All records (or one member's), newest created first. For the CLI and auditors."""
        return authorizations.list_authorizations(self._db, member_ref)

    @guarded
    def issue_authorization(
        self,
        member_ref: str,
        drug: str,
        indication: str | None,
        start: date,
        end: date,
        coverage_assertion_id: str | None,
    ) -> Authorization:
        """Record an approval issued by this service and return it AFTER it is committed
        (store first, then answer). The pa_id is "PA-" + 16 random base32 characters
        (80 bits), unique by constraint. Raises StoreUnavailable when it cannot be stored:
        the caller must then not tell the EHR that an authorization exists.

        Idempotent whatever the concurrency: an approved record for the same member, drug and
        indication whose period covers `start` (issued by another worker or instance a moment ago, or
        imported) is returned instead of a second one. The read and the insert run in one transaction
        under a lock per member and drug: on PostgreSQL a transaction-scoped advisory lock, on SQLite
        the database write lock that a write transaction takes at BEGIN (IMMEDIATE)."""
        return authorizations.issue_authorization(
            self._db, member_ref, drug, indication, start, end, coverage_assertion_id
        )

    @guarded
    def import_authorizations(self, path: str | os.PathLike) -> ImportResult:
        """Load authorization records from a CSV or JSON file (format: authorization_files).

        Raw `member_id` values are hashed with this Store's key; `member_ref` values are taken
        as already hashed. A record whose pa_id exists is updated (e.g. a revocation), others
        are inserted, all in one transaction. The file is fully validated first: a bad file
        raises AuthorizationImportError and nothing is stored."""
        return authorizations.import_authorizations(self._db, path, self._hash_key)

    def __repr__(self) -> str:
        return f"Store({self.url!r})"
