"""The Store: audit trail, feedback and the plan's authorizations on SQLite or PostgreSQL.

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

Processes: the SQLAlchemy engine is created lazily, once per process. A Store created in a
gunicorn master and used in forked workers disposes the inherited pool in the child
(`engine.dispose(close=False)`) before first use, so no connection crosses a fork.
SQLite runs in WAL mode with a busy timeout, and every write transaction starts with
BEGIN IMMEDIATE, so concurrent writers queue instead of failing with "database is locked".
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import logging
import math
import os
import secrets
import sqlite3
import threading
import time
import weakref
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Iterator

import orjson
from sqlalchemy import (
    Column,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    bindparam,
    create_engine,
    event,
    insert,
    inspect,
    select,
    text,
)
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, configure_mappers, selectinload

from .authorization_files import read_authorization_file
from .models import AuditCallRow, AuditCardRow, AuditSpoolReplayRow, AuthorizationRow, Base, FeedbackRow
from .pseudonyms import load_hash_key, member_ref, patient_hash
from .records import (
    AUTHORIZATION_SOURCES,
    FEEDBACK_OUTCOMES,
    AuditEntry,
    Authorization,
    FeedbackRecord,
    ImportResult,
    RecordedCall,
    is_keyed_hash,
)
from .redaction import NotPlainJSON, redact_json, redact_plain_json

log = logging.getLogger(__name__)

PACKAGE_DIR = Path(__file__).resolve().parent
ALEMBIC_INI = PACKAGE_DIR / "alembic.ini"
MIGRATIONS_DIR = PACKAGE_DIR / "migrations"
DEFAULT_SQLITE_NAME = "anakinra-cds.sqlite"
# The newest migration's revision (migrations/versions). A test checks it against alembic's own
# head, so a new migration cannot ship without it. Knowing it lets the service start, and /health
# answer, without importing alembic when the database is already at head (0.12 to 0.25 s of the
# start, measured with `python -X importtime`).
SCHEMA_HEAD = "0003"
_VERSION_TABLE = "alembic_version"
SUPPORTED_BACKENDS = ("sqlite", "postgresql")
_WRITE_OPTION = "anakinra_write"            # execution option: this connection will write
_MIGRATION_LOCK_KEY = 0x616E616B            # pg advisory lock id ("anak")


class StoreUnavailable(RuntimeError):
    """The database cannot be used right now. `reason` is one short line, safe to log
    (driver message only: no SQL, no parameters, no password)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class InvalidFeedback(ValueError):
    """A feedback item is malformed; the message names the item and field."""


def normalize_database_url(url: str, var_dir: str | os.PathLike = "var") -> str:
    """The SQLAlchemy URL to use for a DATABASE_URL value.

    Empty -> `sqlite:///<var_dir>/anakinra-cds.sqlite` (absolute path); `postgres://` and
    `postgresql://` -> `postgresql+psycopg://` (psycopg 3). Other URLs are returned unchanged.
    """
    url = (url or "").strip()
    if not url:
        path = (Path(var_dir) / DEFAULT_SQLITE_NAME).resolve()
        return f"sqlite:///{path}"
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def database_url_from_settings(settings: Any) -> str:
    """`normalize_database_url(settings.database_url, settings.var_dir)`."""
    return normalize_database_url(settings.database_url, settings.var_dir)


def _reason(exc: BaseException) -> str:
    """One short line describing a database failure, without SQL text or parameters."""
    inner = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    message = str(inner).strip().splitlines()[0] if str(inner).strip() else ""
    if isinstance(inner, SQLAlchemyError) and "[SQL:" in message:
        message = message.split("[SQL:")[0].strip()
    reason = f"{type(inner).__name__}: {message}" if message else type(inner).__name__
    return reason[:300]


def _guarded(method):
    """Turn database and filesystem failures into StoreUnavailable."""

    @functools.wraps(method)
    def wrapper(self: "Store", *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except StoreUnavailable:
            raise
        except (SQLAlchemyError, OSError) as exc:
            reason = _reason(exc)
            log.warning("store unavailable (%s): %s", method.__name__, reason)
            raise StoreUnavailable(reason) from exc

    return wrapper


_STORES: "weakref.WeakSet[Store]" = weakref.WeakSet()
# Direct-path connections a forked child inherited: the parent's, never used or closed in the child
# (referenced here so that no finaliser closes them either).
_INHERITED: list = []


def _reset_locks_after_fork() -> None:
    for store in list(_STORES):
        store._lock = threading.Lock()
        if store._direct_free:
            _INHERITED.extend(store._direct_free)
        store._direct_free = []


os.register_at_fork(after_in_child=_reset_locks_after_fork)


@dataclass(frozen=True)
class _Feedback:
    card: str
    outcome: str
    outcome_timestamp: datetime
    accepted_suggestions: list[str]
    override_reason: dict | None


def _parse_feedback(item: Any, index: int) -> _Feedback:
    where = f"feedback[{index}]"
    if not isinstance(item, dict):
        raise InvalidFeedback(f"{where} must be an object")
    card = item.get("card")
    if not isinstance(card, str) or not card.strip() or len(card) > 128:
        raise InvalidFeedback(f"{where}.card must be the card's uuid (a non-empty string up to 128 characters)")
    outcome = item.get("outcome")
    if outcome not in FEEDBACK_OUTCOMES:
        raise InvalidFeedback(f"{where}.outcome must be one of {', '.join(FEEDBACK_OUTCOMES)}")
    raw_ts = item.get("outcomeTimestamp")
    if not isinstance(raw_ts, str) or not raw_ts.strip():
        raise InvalidFeedback(f"{where}.outcomeTimestamp is required (ISO 8601, UTC)")
    try:
        ts = datetime.fromisoformat(raw_ts.strip().replace("z", "Z"))
    except ValueError:
        raise InvalidFeedback(f"{where}.outcomeTimestamp is not an ISO 8601 date-time") from None
    ts = ts.replace(tzinfo=timezone.utc) if ts.tzinfo is None else ts.astimezone(timezone.utc)
    accepted = item.get("acceptedSuggestions") or []
    if not isinstance(accepted, list):
        raise InvalidFeedback(f"{where}.acceptedSuggestions must be a list")
    ids: list[str] = []
    for j, s in enumerate(accepted):
        sid = s.get("id") if isinstance(s, dict) else None
        if not isinstance(sid, str) or not sid:
            raise InvalidFeedback(f"{where}.acceptedSuggestions[{j}].id must be a suggestion uuid")
        ids.append(sid)
    reason = item.get("overrideReason")
    if reason is not None and not isinstance(reason, dict):
        raise InvalidFeedback(f"{where}.overrideReason must be an object")
    return _Feedback(card.strip(), outcome, ts, ids, redact_json(reason) if reason else None)


def _member_lock_key(member_ref: str, drug: str) -> int:
    """A signed 64-bit PostgreSQL advisory lock key for one member and drug."""
    digest = hashlib.sha256(f"authorization|{member_ref}|{drug}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _to_authorization(row: AuthorizationRow) -> Authorization:
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


class _PlainJSON:
    """A value `redaction.redact_plain_json` accepted, on its way to a JSON column: the engine's
    serializer writes it with orjson. Every other JSON value is written with json.dumps as before."""

    __slots__ = ("value",)

    def __init__(self, value: Any):
        self.value = value

    def __repr__(self) -> str:
        return f"_PlainJSON({self.value!r})"


def _json_serializer(value: Any) -> str:
    """The engines' JSON serializer (SQLAlchemy's JSON type and psycopg call it)."""
    if type(value) is _PlainJSON:
        # Hot path (every audit row): orjson is several times faster than json.dumps; the
        # document differs only in whitespace and escapes, so it reads back identically.
        try:
            return orjson.dumps(value.value).decode()
        except TypeError:                # e.g. a lone surrogate: orjson refuses it, json escapes it
            return json.dumps(value.value)
    return json.dumps(value)


def _json_checked(name: str, value: Any) -> Any:
    try:
        # Hot path: exact JSON types are checked and redacted in one walk (json.dumps cannot fail on them).
        return _PlainJSON(redact_plain_json(value))
    except NotPlainJSON:
        pass                             # anything else: the general check and redaction, as before
    try:
        json.dumps(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} is not JSON-serialisable: {exc}") from None
    return redact_json(value)


def _str_list(values: Any) -> Any:
    """`list(values)`, marked for orjson when every item is exactly a str (coverage_assertion_ids)."""
    values = list(values)
    return _PlainJSON(values) if all(type(v) is str for v in values) else values


# Hot-path statements (every hook call), built once: a statement built per call costs more CPU
# (expression construction, a fresh cache key) than executing it. Values go in as parameter dicts.
_AUDIT_CALLS = AuditCallRow.__table__
_AUDIT_CARDS = AuditCardRow.__table__
_AUTHORIZATIONS = AuthorizationRow.__table__
_INSERT_AUDIT_CALL = insert(_AUDIT_CALLS)        # columns: the keys of the parameter dict
_INSERT_AUDIT_CARDS = insert(_AUDIT_CARDS)       # executemany with a list of dicts
_SELECT_PREVIOUS_AUTHORIZATIONS = (
    select(_AUTHORIZATIONS)
    .where(_AUTHORIZATIONS.c.member_ref == bindparam("member_ref"), _AUTHORIZATIONS.c.drug == bindparam("drug"))
    .order_by(_AUTHORIZATIONS.c.period_end.desc(), _AUTHORIZATIONS.c.created_at.desc(), _AUTHORIZATIONS.c.id.desc())
)


# The audit_calls columns record_call writes (the keys of its parameter dict).
_AUDIT_CALL_KEYS = (
    "kind", "service_id", "hook_instance", "called_at", "determinations", "clause_outcomes",
    "coverage_assertion_ids", "policy_id", "policy_revision", "latency_ms", "http_status", "patient_hash",
)
_AUDIT_CARD_KEYS = ("audit_id", "card_uuid", "position")


def _positional_params(compiled, dialect):
    """A function turning a parameter dict into the DB-API tuple for `compiled`: keys in the
    compiled statement's positional order, each value through its type's bind processor (what
    SQLAlchemy applies when it executes the statement: UTCDateTime -> naive UTC, JSON -> the
    engine's json_serializer). Processors are looked up once, here."""
    steps = tuple(
        (name, compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect))
        for name in compiled.positiontup
    )

    def params(values: dict) -> tuple:
        return tuple([values[name] if proc is None else proc(values[name]) for name, proc in steps])

    return params


class _RowAttrs:
    """Attribute access to one result row by column key (what `_to_authorization` reads)."""

    def __init__(self, names, values):
        self.__dict__.update(zip(names, values))


class _SQLiteStatements:
    """record_call's and previous_authorizations' statements compiled once for an SQLite engine's
    dialect, to run on a DB-API connection of its own (`Store._sqlite_direct`). Compiled from the same
    Core statements the SQLAlchemy path executes, with the same column keys, and values converted by
    the same type processors, so the rows written and the objects read back are identical."""

    def __init__(self, dialect):
        self.dialect = dialect
        # Compiled the way Connection.execute compiles them: column keys sorted, executemany flagged.
        call = _INSERT_AUDIT_CALL.compile(dialect=dialect, column_keys=sorted(_AUDIT_CALL_KEYS))
        cards = _INSERT_AUDIT_CARDS.compile(dialect=dialect, column_keys=sorted(_AUDIT_CARD_KEYS),
                                            for_executemany=True)
        select_ = _SELECT_PREVIOUS_AUTHORIZATIONS.compile(dialect=dialect)
        for compiled in (call, cards, select_):
            if compiled.positiontup is None:              # sqlite3 is qmark: always positional
                raise RuntimeError(f"{dialect.name}: expected a positional paramstyle")
        self.insert_call = call.string
        self.call_params = _positional_params(call, dialect)
        self.insert_cards = cards.string
        self.card_params = _positional_params(cards, dialect)
        self.select_previous = select_.string
        self.select_params = _positional_params(select_, dialect)
        columns = _SELECT_PREVIOUS_AUTHORIZATIONS.selected_columns
        self._names = tuple(c.key for c in columns)
        # sqlite3 reports no column types (cursor.description type_code is None), as SQLAlchemy sees it.
        self._result_procs = tuple(c.type.dialect_impl(dialect).result_processor(dialect, None) for c in columns)

    def authorization(self, row: tuple) -> Authorization:
        """One select row -> Authorization (Date -> date, UTCDateTime -> aware UTC, as SQLAlchemy reads them)."""
        values = [value if proc is None else proc(value) for proc, value in zip(self._result_procs, row)]
        return _to_authorization(_RowAttrs(self._names, values))


def _driver_error(statement: str | None, exc: sqlite3.Error) -> DBAPIError:
    """A sqlite3 error wrapped the way SQLAlchemy wraps it (so `_guarded` / `_reason` see the same thing)."""
    return DBAPIError.instance(statement, None, exc, sqlite3.Error)


def _rollback_and_close(conn) -> None:
    """After a failure on a direct-path connection: roll back and close it (never reused). The
    original error is what the caller reports."""
    try:
        conn.rollback()
    except Exception:                               # noqa: BLE001 - already failing
        pass
    _close_quietly(conn)


def _close_quietly(conn) -> None:
    """Close a direct-path connection that is done with (after a failure, or not kept)."""
    try:
        conn.close()
    except Exception:                               # noqa: BLE001 - closing is best effort
        pass


# Idle direct-path connections kept per Store and process (a gunicorn sync worker needs one).
_DIRECT_IDLE = 8


def _new_pa_id() -> str:
    return "PA-" + base64.b32encode(secrets.token_bytes(10)).decode("ascii")


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
    ):
        """`url`: a SQLAlchemy URL (run DATABASE_URL values through `normalize_database_url`
        first; `from_settings` does). `hash_key`: the HMAC key for member/patient pseudonyms
        (needed by `member_ref`, `patient_hash` and imports of raw member ids).
        `connect_timeout` (PostgreSQL, whole seconds, libpq minimum 2), `busy_timeout_ms`
        (SQLite), `statement_timeout_ms` (PostgreSQL) bound how long a call can hang.
        After a failed connection attempt, calls fail fast with StoreUnavailable for
        `retry_after_seconds` instead of each waiting for the timeout again (0 disables);
        `health()` and `migrate()` always try for real.
        Raises ValueError for a URL that is not SQLite or PostgreSQL. Connects lazily."""
        url = normalize_database_url(url) if url.startswith(("postgres://", "postgresql://")) else url
        try:
            parsed = make_url(url)
        except ArgumentError:
            raise ValueError("DATABASE_URL is not a valid database URL") from None
        backend = parsed.get_backend_name()
        if backend not in SUPPORTED_BACKENDS:
            raise ValueError(f"unsupported database {backend!r}: use SQLite or PostgreSQL (postgresql+psycopg://)")
        self._url = parsed
        self.backend: str = backend
        self._hash_key = hash_key
        self._connect_timeout = connect_timeout
        self._busy_timeout_ms = busy_timeout_ms
        self._statement_timeout_ms = statement_timeout_ms
        self._pool_size = pool_size
        self._engine: Engine | None = None
        self._engine_pid: int | None = None
        self._lock = threading.Lock()
        self._head: str | None = None
        self._retry_after = retry_after_seconds
        self._down_until = 0.0
        self._down_reason = ""
        # SQLite: record_call and previous_authorizations (every hook call) run on a DB-API connection
        # kept open between calls, with statements compiled once, skipping SQLAlchemy's per-execution
        # work (measured in process: record_call ~350 -> ~250 us CPU, previous_authorizations ~77 ->
        # ~25 us) and its pool (`_direct_connection`).
        # False: the SQLAlchemy Core path (PostgreSQL always; tests compare both on SQLite).
        self._sqlite_direct = backend == "sqlite"
        self._sqlite_statements: _SQLiteStatements | None = None
        # The direct path's own connections, idle, in this process (see `_direct_connection`).
        self._direct_free: list = []
        _STORES.add(self)

    @classmethod
    def from_settings(cls, settings: Any, **kwargs) -> "Store":
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
        return self._url.render_as_string(hide_password=True)

    @property
    def engine(self) -> Engine:
        """This process's engine (created on first use; re-pooled after a fork)."""
        pid = os.getpid()
        engine = self._engine
        if engine is not None and self._engine_pid == pid:
            return engine
        with self._lock:
            if self._engine is None:
                self._engine = self._create_engine()
            elif self._engine_pid != pid:
                # Inherited from the parent: leave its connections to it, start a fresh pool.
                self._engine.dispose(close=False)
            self._engine_pid = pid
            return self._engine

    def _create_engine(self) -> Engine:
        if self.backend == "sqlite":
            database = self._url.database
            if database and database != ":memory:" and not database.startswith("file:"):
                Path(database).parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(
                self._url, connect_args={"timeout": self._busy_timeout_ms / 1000.0},
                json_serializer=_json_serializer,
            )
            busy_ms = int(self._busy_timeout_ms)

            @event.listens_for(engine, "connect")
            def _sqlite_connect(dbapi_conn, _record):
                dbapi_conn.isolation_level = None          # SQLAlchemy emits BEGIN itself
                cur = dbapi_conn.cursor()
                try:
                    cur.execute(f"PRAGMA busy_timeout = {busy_ms}")
                    cur.execute("PRAGMA journal_mode = WAL")
                    cur.execute("PRAGMA synchronous = NORMAL")
                    cur.execute("PRAGMA foreign_keys = ON")
                finally:
                    cur.close()

            @event.listens_for(engine, "begin")
            def _sqlite_begin(conn):
                statement = "BEGIN IMMEDIATE" if conn.get_execution_options().get(_WRITE_OPTION) else "BEGIN"
                # Straight to the driver (every hook call begins twice): conn.exec_driver_sql would
                # cost a whole SQLAlchemy execution. A failure is wrapped the way exec_driver_sql
                # wraps it (e.g. OperationalError "database is locked"), so callers still get
                # StoreUnavailable.
                try:
                    conn.connection.driver_connection.execute(statement)
                except sqlite3.Error as exc:
                    raise DBAPIError.instance(statement, (), exc, sqlite3.Error) from exc

            return engine

        engine = create_engine(
            self._url,
            pool_pre_ping=True,
            pool_size=self._pool_size,
            max_overflow=10,
            pool_timeout=max(self._connect_timeout, 1.0),
            connect_args={"connect_timeout": max(1, math.ceil(self._connect_timeout))},
            json_serializer=_json_serializer,
        )
        statement_ms = int(self._statement_timeout_ms)

        @event.listens_for(engine, "connect")
        def _pg_connect(dbapi_conn, _record):
            with dbapi_conn.cursor() as cur:
                cur.execute(f"SET statement_timeout = {statement_ms}")
            dbapi_conn.commit()

        return engine

    def dispose(self) -> None:
        """Close this process's pooled connections and the direct path's idle ones (the Store stays usable)."""
        while self._direct_free:
            try:
                conn = self._direct_free.pop()
            except IndexError:                          # another thread took the last one
                break
            _close_quietly(conn)
        if self._engine is not None and self._engine_pid == os.getpid():
            self._engine.dispose()

    def _connect(self, probe: bool = False, raw: bool = False):
        """A pooled connection (`raw`: the pool's DB-API connection, `close()` returns it). After
        a failed attempt, non-probe callers get StoreUnavailable at once until the retry window
        has passed (a hung database then costs one timeout per window, not one per hook call)."""
        if not probe and self._retry_after > 0:
            remaining = self._down_until - time.monotonic()
            if remaining > 0:
                raise StoreUnavailable(f"{self._down_reason} (next try in {remaining:.1f} s)")
        try:
            if not raw:
                conn = self.engine.connect()
            else:
                try:
                    conn = self.engine.raw_connection()
                except sqlite3.Error as exc:        # engine.connect() wraps driver errors; the pool does not
                    raise _driver_error(None, exc) from exc
        except (SQLAlchemyError, OSError) as exc:
            self._down_reason = _reason(exc)
            self._down_until = time.monotonic() + self._retry_after
            raise
        self._down_until = 0.0
        return conn

    def _direct_connection(self) -> sqlite3.Connection:
        """A DB-API connection for the SQLite direct path, kept open between calls: an idle one from
        this process's free list, else a new pool connection detached from the pool (so every connect
        setting, the retry window and the error wrapping of `_connect` apply to it). Hand it back with
        `_direct_release`, or close it after a failure. Measured in process (two apps sharing one
        database, as two workers do): checking a connection out of SQLAlchemy's pool and back in,
        twice per hook call, cost 3 to 5% of the call's CPU.
        The list is per process (emptied in a forked child) and shared by threads: `pop` and `append`
        are atomic, and a connection is used by one thread at a time."""
        try:
            return self._direct_free.pop()
        except IndexError:
            pass
        pooled = self._connect(raw=True)
        pooled.detach()                                 # the pool forgets it: ours to keep and to close
        return pooled.dbapi_connection

    def _direct_release(self, conn) -> None:
        """Back to the free list after a successful call (at most _DIRECT_IDLE kept; the rest closed)."""
        if len(self._direct_free) < _DIRECT_IDLE:
            self._direct_free.append(conn)
        else:
            _close_quietly(conn)

    def _compiled_for_sqlite(self) -> _SQLiteStatements:
        """The direct path's statements for this engine's dialect, compiled on first use (after a
        connection exists, so the dialect has been initialised against the database)."""
        statements = self._sqlite_statements
        dialect = self.engine.dialect
        if statements is None or statements.dialect is not dialect:
            statements = self._sqlite_statements = _SQLiteStatements(dialect)
        return statements

    def warm_up(self) -> None:
        """What the first call would do once, done at start (before gunicorn forks the workers):
        configure the ORM mappers (about 27 ms, on the first approval issued) and, for the SQLite
        direct path, compile its statements (about 9 ms). The statements are compiled on a fresh
        connection, as on first use, so the dialect has met the database; that connection is closed,
        not kept: each worker opens its own. Raises what connecting raises (the caller logs it)."""
        configure_mappers()
        if self._sqlite_direct:
            db = self._direct_connection()
            try:
                self._compiled_for_sqlite()
            finally:
                _close_quietly(db)

    @contextmanager
    def _session(self, write: bool) -> Iterator[Session]:
        with self._connect() as conn:
            if write:
                conn = conn.execution_options(**{_WRITE_OPTION: True})
            with Session(bind=conn, expire_on_commit=False, autoflush=False) as session:
                yield session

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

    def _alembic_config(self):
        from alembic.config import Config

        cfg = Config(str(ALEMBIC_INI))
        cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
        cfg.attributes["store"] = self
        return cfg

    def head_revision(self) -> str:
        """The newest migration revision shipped with this package."""
        if self._head is None:
            from alembic.script import ScriptDirectory

            self._head = ScriptDirectory.from_config(self._alembic_config()).get_current_head()
        return self._head

    def _run_alembic(self, action: str, revision: str) -> None:
        from alembic import command

        cfg = self._alembic_config()
        with self._connect(probe=True) as conn:
            conn = conn.execution_options(**{_WRITE_OPTION: True})   # SQLite: BEGIN IMMEDIATE
            with conn.begin():
                if self.backend == "postgresql":
                    conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATION_LOCK_KEY})
                cfg.attributes["connection"] = conn
                getattr(command, action)(cfg, revision)

    @_guarded
    def ensure_schema(self) -> str | None:
        """The database at the newest schema, as at start. Returns the revision now current.
        - Already there (one row in alembic_version, equal to SCHEMA_HEAD): nothing more is read or
          imported.
        - Empty (none of the store's tables, no alembic_version): the tables are created from the
          models and stamped at SCHEMA_HEAD (`_create_at_head`), without alembic. A test checks
          that this gives the same schema as running every migration.
        - Anything else (below head, an unknown revision, tables without a stamp): `migrate()`."""
        if self.schema_revisions() == [SCHEMA_HEAD]:
            return SCHEMA_HEAD
        if self._create_at_head() or self.schema_revisions() == [SCHEMA_HEAD]:
            return SCHEMA_HEAD
        return self.migrate()

    def _create_at_head(self) -> bool:
        """On an empty database, the head schema from the models plus alembic_version stamped at
        SCHEMA_HEAD, in one transaction under the migration lock (as `migrate`, so workers starting
        together are serialised). This is Alembic's own recipe for a new database (create_all, then
        stamp head), minus importing and running alembic: 0.2 to 0.3 s of a first start on a slow
        VM. Returns False, changing nothing, when any of the store's tables or alembic_version
        already exists."""
        with self._connect(probe=True) as conn:
            conn = conn.execution_options(**{_WRITE_OPTION: True})   # SQLite: BEGIN IMMEDIATE
            with conn.begin():
                if self.backend == "postgresql":
                    conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATION_LOCK_KEY})
                existing = set(inspect(conn).get_table_names())
                if existing & (set(Base.metadata.tables) | {_VERSION_TABLE}):
                    return False
                Base.metadata.create_all(conn)
                # The version table as alembic defines it (alembic.runtime.migration), stamped.
                version = Table(_VERSION_TABLE, MetaData(), Column("version_num", String(32), nullable=False),
                                PrimaryKeyConstraint("version_num", name=f"{_VERSION_TABLE}_pkc"))
                version.create(conn)
                conn.execute(version.insert().values(version_num=SCHEMA_HEAD))
        return True

    @_guarded
    def schema_revisions(self) -> list[str]:
        """The rows of alembic_version ([] when the table is missing), read without alembic."""
        with self._connect(probe=True) as conn:
            if not inspect(conn).has_table(_VERSION_TABLE):
                return []
            return [row[0] for row in conn.execute(text(f"SELECT version_num FROM {_VERSION_TABLE}"))]

    @_guarded
    def migrate(self, revision: str = "head") -> str | None:
        """Run `alembic upgrade <revision>` (default head) in one transaction and return the
        revision now current. Idempotent; concurrent callers (several workers starting) are
        serialised by an advisory lock (PostgreSQL) or the write lock (SQLite)."""
        self._run_alembic("upgrade", revision)
        return self._revision(probe=True)

    @_guarded
    def downgrade(self, revision: str = "base") -> str | None:
        """Run `alembic downgrade <revision>` ("base" drops every table). For operators and tests."""
        self._run_alembic("downgrade", revision)
        return self._revision(probe=True)

    @_guarded
    def current_revision(self) -> str | None:
        """The migration revision the database is at (None for an empty database)."""
        return self._revision(probe=True)

    def _revision(self, probe: bool) -> str | None:
        from alembic.runtime.migration import MigrationContext

        with self._connect(probe=probe) as conn:
            return MigrationContext.configure(conn).get_current_revision()

    def health(self) -> dict:
        """`{"status": "ok"}`, or `{"status": "degraded", "reason": "..."}` when the database
        cannot be reached (short connect timeout) or its schema is not at head. Never raises."""
        try:
            revisions = self.schema_revisions()
        except StoreUnavailable as exc:
            return {"status": "degraded", "reason": exc.reason}
        except Exception as exc:                      # noqa: BLE001 - health must answer
            return {"status": "degraded", "reason": _reason(exc)}
        if revisions != [SCHEMA_HEAD]:
            return {
                "status": "degraded",
                "reason": f"database schema at {', '.join(revisions) or 'nothing'}, expected {SCHEMA_HEAD} "
                          "(run `anakinra-cds db upgrade`)",
            }
        return {"status": "ok"}

    # ------------------------------------------------------------------ audit

    @_guarded
    def record_call(self, entry: AuditEntry) -> int:
        """Store one hook/explain call and return its audit row id (committed on return).

        JSON fields go through `redaction.redact_json` first; text columns are cut to their
        width (hookInstance comes from the client: a 10 kB one must not make the write fail).
        Raises StoreUnavailable when the
        database cannot be written, ValueError when the entry holds non-JSON values."""
        values = self._audit_values(entry)
        if self._sqlite_direct:
            return self._record_call_sqlite(values, entry.card_uuids)
        # Core inserts (no ORM unit of work): this runs on every hook call.
        with self._connect() as conn:
            conn = conn.execution_options(**{_WRITE_OPTION: True})
            with conn.begin():
                return self._insert_call(conn, values, entry.card_uuids)

    @_guarded
    def record_spooled_call(self, entry: AuditEntry, spool_id: str) -> bool:
        """Store an audit row that was written to the local spool while the database was down, once:
        the spool id is recorded in `audit_spool_replays` in the same transaction, and an id already there
        is skipped. True when stored now, False when it had been stored before."""
        if not isinstance(spool_id, str) or not 0 < len(spool_id) <= 64:
            raise ValueError("spool_id must be a string of 1 to 64 characters")
        values = self._audit_values(entry)
        replays = AuditSpoolReplayRow.__table__
        try:
            with self._connect() as conn:
                conn = conn.execution_options(**{_WRITE_OPTION: True})
                with conn.begin():
                    if conn.execute(select(replays.c.spool_id).where(replays.c.spool_id == spool_id)).first():
                        return False
                    row_id = self._insert_call(conn, values, entry.card_uuids)
                    conn.execute(insert(replays).values(spool_id=spool_id, audit_id=row_id,
                                                        replayed_at=datetime.now(timezone.utc)))
        except IntegrityError:
            return False                                # stored by a concurrent replay of the same spool
        return True

    @staticmethod
    def _insert_call(conn, values: dict, card_uuids: list[str]) -> int:
        row_id = conn.execute(_INSERT_AUDIT_CALL, values).inserted_primary_key[0]
        if card_uuids:
            conn.execute(_INSERT_AUDIT_CARDS, [
                {"audit_id": row_id, "card_uuid": u[:128], "position": i} for i, u in enumerate(card_uuids)])
        return row_id

    @staticmethod
    def _audit_values(entry: AuditEntry) -> dict:
        if not isinstance(entry, AuditEntry):
            raise TypeError("record_call takes an AuditEntry")
        return dict(                                  # keys: _AUDIT_CALL_KEYS (the direct path's insert)
            kind=entry.kind,
            service_id=entry.service_id[:128],
            hook_instance=entry.hook_instance[:128] if entry.hook_instance else entry.hook_instance,
            called_at=entry.called_at,
            determinations=_json_checked("determinations", entry.determinations),
            clause_outcomes=_json_checked("clause_outcomes", entry.clause_outcomes),
            coverage_assertion_ids=_str_list(entry.coverage_assertion_ids),
            policy_id=entry.policy_id[:128] if entry.policy_id else entry.policy_id,
            policy_revision=entry.policy_revision[:64] if entry.policy_revision else entry.policy_revision,
            latency_ms=int(round(entry.latency_ms)),
            http_status=entry.http_status,
            patient_hash=entry.patient_hash,
        )

    def _record_call_sqlite(self, values: dict, card_uuids: list[str]) -> int:
        """record_call on SQLite through a direct-path DB-API connection (`_direct_connection`):
        BEGIN IMMEDIATE (writers queue on the busy timeout), both inserts, COMMIT; the same
        statements and values as the Core path. On any failure: rollback, and the connection is
        closed (the next call opens a fresh one); sqlite3 errors are wrapped as SQLAlchemy would
        wrap them, so `_guarded` raises StoreUnavailable."""
        db = self._direct_connection()
        statements = self._compiled_for_sqlite()
        statement = "BEGIN IMMEDIATE"
        try:
            db.execute(statement)
            statement = statements.insert_call
            row_id = db.execute(statement, statements.call_params(values)).lastrowid
            if card_uuids:
                statement = statements.insert_cards
                card_params = statements.card_params
                db.executemany(statement, [
                    card_params({"audit_id": row_id, "card_uuid": u[:128], "position": i})
                    for i, u in enumerate(card_uuids)])
            statement = "COMMIT"
            db.commit()
        except BaseException as exc:
            _rollback_and_close(db)
            if isinstance(exc, sqlite3.Error):
                raise _driver_error(statement, exc) from exc
            raise
        self._direct_release(db)
        return row_id

    @_guarded
    def list_calls(
        self, since: datetime, until: datetime | None = None, limit: int | None = None
    ) -> list[RecordedCall]:
        """Audit rows with since <= called_at < until (until None: no upper bound), oldest first.
        `since` / `until` must be timezone-aware."""
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
        with self._session(write=False) as session:
            return [_to_recorded_call(r) for r in session.scalars(stmt)]

    # ------------------------------------------------------------------ feedback

    @_guarded
    def record_feedback(self, service_id: str, items: list[dict]) -> int:
        """Store CDS Hooks feedback items and return how many were new.

        Idempotent on (card uuid, outcome, outcomeTimestamp): repeats, also concurrent ones,
        are ignored by the unique constraint (INSERT ... ON CONFLICT DO NOTHING). Each row
        is linked to the latest audit row that returned that card (None if unknown).
        All items are checked first: a malformed item raises InvalidFeedback (naming
        `feedback[i].field`) and nothing is stored."""
        if not isinstance(items, list):
            raise InvalidFeedback("feedback must be a list")
        parsed = [_parse_feedback(item, i) for i, item in enumerate(items)]
        if not parsed:
            return 0
        if self.backend == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as dialect_insert
        else:
            from sqlalchemy.dialects.sqlite import insert as dialect_insert
        table = FeedbackRow.__table__
        now = datetime.now(timezone.utc)
        stored = 0
        with self._session(write=True) as session:
            for fb in parsed:
                audit_id = session.scalar(
                    select(AuditCardRow.audit_id)
                    .where(AuditCardRow.card_uuid == fb.card)
                    .order_by(AuditCardRow.audit_id.desc())
                    .limit(1)
                )
                stmt = (
                    dialect_insert(table)
                    .values(
                        service_id=service_id,
                        card_uuid=fb.card,
                        outcome=fb.outcome,
                        outcome_timestamp=fb.outcome_timestamp,
                        accepted_suggestions=fb.accepted_suggestions,
                        override_reason=fb.override_reason,
                        received_at=now,
                        audit_id=audit_id,
                    )
                    .on_conflict_do_nothing(index_elements=["card_uuid", "outcome", "outcome_timestamp"])
                    .returning(table.c.id)
                )
                stored += len(session.execute(stmt).all())      # no row back: a duplicate
            session.commit()
        return stored

    @_guarded
    def list_feedback(self, card_uuid: str | None = None) -> list[FeedbackRecord]:
        """Stored feedback (all, or for one card), oldest first."""
        stmt = select(FeedbackRow).order_by(FeedbackRow.id)
        if card_uuid is not None:
            stmt = stmt.where(FeedbackRow.card_uuid == card_uuid)
        with self._session(write=False) as session:
            return [
                FeedbackRecord(
                    id=r.id, service_id=r.service_id, card_uuid=r.card_uuid, outcome=r.outcome,
                    outcome_timestamp=r.outcome_timestamp,
                    accepted_suggestions=list(r.accepted_suggestions or []),
                    override_reason=r.override_reason, received_at=r.received_at, audit_id=r.audit_id,
                )
                for r in session.scalars(stmt)
            ]

    # ------------------------------------------------------------------ authorizations

    @staticmethod
    def _check_member_ref(value: str) -> None:
        if not is_keyed_hash(value):
            raise ValueError("member_ref must be a keyed hash (Store.member_ref(member_id)), never a raw id")

    @_guarded
    def current_authorization(self, member_ref: str, drug: str, as_of: date) -> Authorization | None:
        """The plan's approval for this member and drug whose period contains `as_of`
        (status approved, start <= as_of <= end); the one ending last when several do."""
        self._check_member_ref(member_ref)
        stmt = (
            select(AuthorizationRow)
            .where(
                AuthorizationRow.member_ref == member_ref,
                AuthorizationRow.drug == drug.lower(),
                AuthorizationRow.status == "approved",
                AuthorizationRow.period_start <= as_of,
                AuthorizationRow.period_end >= as_of,
            )
            .order_by(
                AuthorizationRow.period_end.desc(), AuthorizationRow.created_at.desc(), AuthorizationRow.id.desc()
            )
            .limit(1)
        )
        with self._session(write=False) as session:
            row = session.scalar(stmt)
            return _to_authorization(row) if row is not None else None

    @_guarded
    def previous_authorizations(self, member_ref: str, drug: str) -> list[Authorization]:
        """Every record (any status, any period) for this member and drug, newest period first.
        Continuation of therapy looks here for an earlier approval by the plan."""
        self._check_member_ref(member_ref)
        params = {"member_ref": member_ref, "drug": drug.lower()}   # prebuilt Core select: every hook call
        if self._sqlite_direct:
            return self._previous_authorizations_sqlite(params)
        with self._connect() as conn:
            return [_to_authorization(r) for r in conn.execute(_SELECT_PREVIOUS_AUTHORIZATIONS, params)]

    def _previous_authorizations_sqlite(self, params: dict) -> list[Authorization]:
        """previous_authorizations on SQLite through a direct-path DB-API connection. One SELECT in
        autocommit mode reads one snapshot by itself, so no BEGIN / ROLLBACK around it."""
        conn = self._direct_connection()
        statements = self._compiled_for_sqlite()
        try:
            rows = conn.execute(statements.select_previous, statements.select_params(params)).fetchall()
        except BaseException as exc:
            _rollback_and_close(conn)
            if isinstance(exc, sqlite3.Error):
                raise _driver_error(statements.select_previous, exc) from exc
            raise
        self._direct_release(conn)
        return [statements.authorization(row) for row in rows]

    @_guarded
    def list_authorizations(self, member_ref: str | None = None) -> list[Authorization]:
        """All records (or one member's), newest created first. For the CLI and auditors."""
        stmt = select(AuthorizationRow).order_by(AuthorizationRow.created_at.desc(), AuthorizationRow.id.desc())
        if member_ref is not None:
            stmt = stmt.where(AuthorizationRow.member_ref == member_ref.lower())
        with self._session(write=False) as session:
            return [_to_authorization(r) for r in session.scalars(stmt)]

    @_guarded
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
        self._check_member_ref(member_ref)
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
                created_at=datetime.now(timezone.utc),
                source=AUTHORIZATION_SOURCES[0],
            )
            try:
                with self._session(write=True) as session:
                    if self.backend == "postgresql":
                        session.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                                        {"key": _member_lock_key(member_ref, row.drug)})
                    existing = session.scalars(
                        select(AuthorizationRow)
                        .where(AuthorizationRow.member_ref == member_ref, AuthorizationRow.drug == row.drug,
                               AuthorizationRow.status == "approved",
                               AuthorizationRow.indication.is_not_distinct_from(indication),
                               AuthorizationRow.period_start <= start, AuthorizationRow.period_end >= start)
                        .order_by(AuthorizationRow.period_start.desc(), AuthorizationRow.id)
                        .limit(1)
                    ).first()
                    if existing is not None:
                        session.rollback()
                        return _to_authorization(existing)
                    session.add(row)
                    session.commit()
            except IntegrityError:
                if attempt == 2:
                    raise
                continue                            # pa_id collision: draw again
            return _to_authorization(row)
        raise AssertionError("unreachable")

    @_guarded
    def import_authorizations(self, path: str | os.PathLike) -> ImportResult:
        """Load authorization records from a CSV or JSON file (format: authorization_files).

        Raw `member_id` values are hashed with this Store's key; `member_ref` values are taken
        as already hashed. A record whose pa_id exists is updated (e.g. a revocation), others
        are inserted, all in one transaction. The file is fully validated first: a bad file
        raises AuthorizationImportError and nothing is stored."""
        rows = read_authorization_file(path, self._hash_key)
        inserted = updated = 0
        now = datetime.now(timezone.utc)
        with self._session(write=True) as session:
            existing: dict[str, AuthorizationRow] = {}
            pa_ids = [r.pa_id for r in rows]
            for i in range(0, len(pa_ids), 500):
                chunk = pa_ids[i:i + 500]
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

    def __repr__(self) -> str:
        return f"Store({self.url!r})"
