"""The database connection: URLs, one SQLAlchemy engine per process, the retry window, and the one
exception the hook path sees (`StoreUnavailable`).

- SQLite runs in WAL mode with a busy timeout, and every write transaction starts with BEGIN
  IMMEDIATE (connections opened with the `WRITE_OPTION` execution option), so concurrent writers
  queue instead of failing with "database is locked".
- PostgreSQL (psycopg 3) gets a connect timeout and a statement timeout on every connection.
- The engine is created lazily, once per process. A `Database` created in a gunicorn master and used
  in forked workers disposes the inherited pool in the child (`engine.dispose(close=False)`) before
  first use, so no connection crosses a fork.
"""

from __future__ import annotations

import functools
import logging
import math
import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ParamSpec, TypeVar, cast

from sqlalchemy import create_engine, event
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError
from sqlalchemy.orm import Session

from .json_columns import json_serializer

log = logging.getLogger(__name__)

DEFAULT_SQLITE_NAME = "anakinra-cds.sqlite"
SUPPORTED_BACKENDS = ("sqlite", "postgresql")
WRITE_OPTION = "anakinra_write"  # execution option: this connection will write (SQLite: BEGIN IMMEDIATE)


class StoreUnavailable(RuntimeError):
    """The database cannot be used right now. `reason` is one short line, safe to log
    (driver message only: no SQL, no parameters, no password)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


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
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def database_url_from_settings(settings: Any) -> str:
    """`normalize_database_url(settings.database_url, settings.var_dir)`."""
    return normalize_database_url(settings.database_url, settings.var_dir)


def failure_reason(exc: BaseException) -> str:
    """One short line describing a database failure, without SQL text or parameters."""
    inner = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    message = str(inner).strip().splitlines()[0] if str(inner).strip() else ""
    if isinstance(inner, SQLAlchemyError) and "[SQL:" in message:
        message = message.split("[SQL:")[0].strip()
    reason = f"{type(inner).__name__}: {message}" if message else type(inner).__name__
    return reason[:300]


def sqlite_driver_error(statement: str | None, exc: sqlite3.Error) -> DBAPIError:
    """A sqlite3 error wrapped the way SQLAlchemy wraps it (so `guarded` / `failure_reason` see the same thing)."""
    # SQLAlchemy types `instance` as the wider StatementError; for a driver error (an instance of the driver's
    # base class, sqlite3.Error here) it returns a DBAPIError.
    return cast(DBAPIError, DBAPIError.instance(statement, None, exc, sqlite3.Error))


P = ParamSpec("P")
R = TypeVar("R")


def guarded(method: Callable[P, R]) -> Callable[P, R]:
    """Turn database and filesystem failures into StoreUnavailable (logged once, with the method's name)."""

    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(*args, **kwargs)
        except StoreUnavailable:
            raise
        except (SQLAlchemyError, OSError) as exc:
            reason = failure_reason(exc)
            log.warning("store unavailable (%s): %s", method.__name__, reason)
            raise StoreUnavailable(reason) from exc

    return wrapper


_DATABASES: weakref.WeakSet[Database] = weakref.WeakSet()


def _reset_locks_after_fork() -> None:
    for database in list(_DATABASES):
        database._lock = threading.Lock()


os.register_at_fork(after_in_child=_reset_locks_after_fork)


class Database:
    """One SQLite or PostgreSQL database: this process's engine, pooled connections with the retry
    window, and ORM sessions. Every store module works through one of these."""

    def __init__(
        self,
        url: str,
        *,
        connect_timeout: float = 3.0,
        busy_timeout_ms: int = 5000,
        statement_timeout_ms: int = 5000,
        pool_size: int = 5,
        retry_after_seconds: float = 2.0,
    ):
        """See `Store.__init__` for the arguments. Raises ValueError for a URL that is not SQLite or
        PostgreSQL. Connects lazily."""
        url = normalize_database_url(url) if url.startswith(("postgres://", "postgresql://")) else url
        try:
            parsed = make_url(url)
        except ArgumentError:
            raise ValueError("DATABASE_URL is not a valid database URL") from None
        backend = parsed.get_backend_name()
        if backend not in SUPPORTED_BACKENDS:
            raise ValueError(f"unsupported database {backend!r}: use SQLite or PostgreSQL (postgresql+psycopg://)")
        self.sqlalchemy_url: URL = parsed
        self.backend: str = backend
        self._connect_timeout = connect_timeout
        self._busy_timeout_ms = busy_timeout_ms
        self._statement_timeout_ms = statement_timeout_ms
        self._pool_size = pool_size
        self._engine: Engine | None = None
        self._engine_pid: int | None = None
        self._lock = threading.Lock()
        self._retry_after = retry_after_seconds
        self._down_until = 0.0
        self._down_reason = ""
        _DATABASES.add(self)

    @property
    def url(self) -> str:
        """The database URL with the password hidden."""
        return self.sqlalchemy_url.render_as_string(hide_password=True)

    @property
    def engine_created(self) -> bool:
        """Whether an engine exists yet (nothing has connected before the first call)."""
        return self._engine is not None

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
            return self._create_sqlite_engine()
        engine = create_engine(
            self.sqlalchemy_url,
            pool_pre_ping=True,
            pool_size=self._pool_size,
            max_overflow=10,
            pool_timeout=max(self._connect_timeout, 1.0),
            connect_args={"connect_timeout": max(1, math.ceil(self._connect_timeout))},
            json_serializer=json_serializer,
        )
        statement_ms = int(self._statement_timeout_ms)

        @event.listens_for(engine, "connect")
        def _pg_connect(dbapi_conn, _record):
            with dbapi_conn.cursor() as cur:
                cur.execute(f"SET statement_timeout = {statement_ms}")
            dbapi_conn.commit()

        return engine

    def _create_sqlite_engine(self) -> Engine:
        database = self.sqlalchemy_url.database
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            self.sqlalchemy_url,
            connect_args={"timeout": self._busy_timeout_ms / 1000.0},
            json_serializer=json_serializer,
        )
        busy_ms = int(self._busy_timeout_ms)

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_conn, _record):
            dbapi_conn.isolation_level = None  # SQLAlchemy emits BEGIN itself
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
            statement = "BEGIN IMMEDIATE" if conn.get_execution_options().get(WRITE_OPTION) else "BEGIN"
            # Straight to the driver (every hook call begins twice): conn.exec_driver_sql would cost a
            # whole SQLAlchemy execution. A failure is wrapped the way exec_driver_sql wraps it (e.g.
            # OperationalError "database is locked"), so callers still get StoreUnavailable.
            try:
                conn.connection.driver_connection.execute(statement)
            except sqlite3.Error as exc:
                raise DBAPIError.instance(statement, (), exc, sqlite3.Error) from exc

        return engine

    def dispose(self) -> None:
        """Close this process's pooled connections (the Database stays usable)."""
        if self._engine is not None and self._engine_pid == os.getpid():
            self._engine.dispose()

    def _check_retry_window(self) -> None:
        if self._retry_after > 0:
            remaining = self._down_until - time.monotonic()
            if remaining > 0:
                raise StoreUnavailable(f"{self._down_reason} (next try in {remaining:.1f} s)")

    def _opening_failed(self, exc: BaseException) -> None:
        self._down_reason = failure_reason(exc)
        self._down_until = time.monotonic() + self._retry_after

    def connect(self, probe: bool = False) -> Connection:
        """A pooled connection. After a failed attempt, non-probe callers get StoreUnavailable at once
        until the retry window has passed (a hung database then costs one timeout per window, not one
        per hook call). `probe` (health, migrations) always tries for real."""
        if not probe:
            self._check_retry_window()
        try:
            conn = self.engine.connect()
        except (SQLAlchemyError, OSError) as exc:
            self._opening_failed(exc)
            raise
        self._down_until = 0.0
        return conn

    def raw_connection(self):
        """The pool's DB-API connection wrapper (`close()` returns it to the pool; `detach()` takes it
        out), under the same retry window and error wrapping as `connect`."""
        self._check_retry_window()
        try:
            try:
                conn = self.engine.raw_connection()
            except sqlite3.Error as exc:  # engine.connect() wraps driver errors; the pool does not
                raise sqlite_driver_error(None, exc) from exc
        except (SQLAlchemyError, OSError) as exc:
            self._opening_failed(exc)
            raise
        self._down_until = 0.0
        return conn

    @contextmanager
    def session(self, write: bool) -> Iterator[Session]:
        """An ORM session on one pooled connection (`write`: SQLite takes the write lock at BEGIN)."""
        with self.connect() as pooled:
            conn = pooled.execution_options(**{WRITE_OPTION: True}) if write else pooled
            with Session(bind=conn, expire_on_commit=False, autoflush=False) as session:
                yield session

    @contextmanager
    def write_transaction(self) -> Iterator[Connection]:
        """A Core connection inside one write transaction, committed when the block ends without error."""
        with self.connect() as pooled:
            conn = pooled.execution_options(**{WRITE_OPTION: True})
            with conn.begin():
                yield conn
