"""The SQLite fast path: the two statements of every hook call (`record_call`'s inserts and
`previous_authorizations`' select) run on a sqlite3 connection kept open between calls, compiled once,
skipping SQLAlchemy's per-execution work and its pool. What it saves is measured in
benchmarks/README.md ("The store's speed tricks").

Same statements, same rows: the statements are compiled from the Core statements the plain path
executes (`audit.INSERT_AUDIT_CALL`, `audit.INSERT_AUDIT_CARDS`,
`authorizations.SELECT_PREVIOUS_AUTHORIZATIONS`), with the same column keys, and values go through
the same type processors (UTCDateTime -> naive UTC, JSON -> the engine's serializer; Date and
UTCDateTime back). sqlite3 errors are wrapped as SQLAlchemy wraps them, so callers see the same
StoreUnavailable reasons. tests/store/test_store_sqlite_fast_path.py holds the two paths to that.

Connections: opened through the engine's pool (so every connect setting, the retry window and the
error wrapping apply), then detached from it and kept on a per-process free list. A connection that
failed is rolled back and closed, never reused. A forked child starts with an empty list and leaves
the parent's connections alone.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import weakref
from collections.abc import Callable
from typing import Any, cast

from sqlalchemy.engine import Dialect

from .audit import AUDIT_CALL_KEYS, AUDIT_CARD_KEYS, INSERT_AUDIT_CALL, INSERT_AUDIT_CARDS, card_values
from .authorizations import SELECT_PREVIOUS_AUTHORIZATIONS, to_authorization
from .engine import Database, sqlite_driver_error
from .public_types import Authorization

# Idle connections kept per Store and process (a gunicorn sync worker needs one).
_MAX_IDLE = 8

_FAST_PATHS: weakref.WeakSet[SQLiteFastPath] = weakref.WeakSet()
# Connections a forked child inherited: the parent's, never used or closed in the child (referenced
# here so that no finaliser closes them either).
_INHERITED: list = []


def _forget_connections_after_fork() -> None:
    for fast_path in list(_FAST_PATHS):
        if fast_path.idle:
            _INHERITED.extend(fast_path.idle)
        fast_path.idle = []


os.register_at_fork(after_in_child=_forget_connections_after_fork)


def _positional_params(compiled: Any, dialect: Dialect) -> Callable[[dict], tuple]:
    """A function turning a parameter dict into the DB-API tuple for `compiled`: keys in the compiled
    statement's positional order, each value through its type's bind processor (what SQLAlchemy
    applies when it executes the statement). Processors are looked up once, here."""
    steps = tuple(
        (name, compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)) for name in compiled.positiontup
    )

    def params(values: dict) -> tuple:
        return tuple([values[name] if proc is None else proc(values[name]) for name, proc in steps])

    return params


class _RowAttrs:
    """Attribute access to one result row by column key (what `to_authorization` reads)."""

    def __init__(self, names, values):
        self.__dict__.update(zip(names, values, strict=True))


class CompiledStatements:
    """The fast path's statements compiled for one SQLite dialect, with their parameter converters."""

    def __init__(self, dialect: Dialect):
        self.dialect = dialect
        # Compiled the way Connection.execute compiles them: column keys sorted, executemany flagged.
        call = INSERT_AUDIT_CALL.compile(dialect=dialect, column_keys=sorted(AUDIT_CALL_KEYS))
        cards = INSERT_AUDIT_CARDS.compile(dialect=dialect, column_keys=sorted(AUDIT_CARD_KEYS), for_executemany=True)
        select_ = SELECT_PREVIOUS_AUTHORIZATIONS.compile(dialect=dialect)
        for compiled in (call, cards, select_):
            if compiled.positiontup is None:  # sqlite3 is qmark: always positional
                raise RuntimeError(f"{dialect.name}: expected a positional paramstyle")
        self.insert_call = call.string
        self.call_params = _positional_params(call, dialect)
        self.insert_cards = cards.string
        self.card_params = _positional_params(cards, dialect)
        self.select_previous = select_.string
        self.select_params = _positional_params(select_, dialect)
        columns = SELECT_PREVIOUS_AUTHORIZATIONS.selected_columns
        self._names = tuple(c.key for c in columns)
        # sqlite3 reports no column types (cursor.description type_code is None), as SQLAlchemy sees it.
        self._result_procs = tuple(c.type.dialect_impl(dialect).result_processor(dialect, None) for c in columns)

    def authorization(self, row: tuple) -> Authorization:
        """One select row -> Authorization (Date -> date, UTCDateTime -> aware UTC, as SQLAlchemy reads them)."""
        values = [value if proc is None else proc(value) for proc, value in zip(self._result_procs, row, strict=True)]
        return to_authorization(_RowAttrs(self._names, values))


def _rollback_and_close(conn) -> None:
    """After a failure: roll back and close the connection (never reused). The original error is what
    the caller reports."""
    with contextlib.suppress(Exception):
        conn.rollback()
    _close_quietly(conn)


def _close_quietly(conn) -> None:
    with contextlib.suppress(Exception):
        conn.close()


class SQLiteFastPath:
    """`record_call` and `previous_authorizations` for one SQLite `Database`, on kept connections."""

    def __init__(self, db: Database):
        if db.backend != "sqlite":
            raise ValueError("the SQLite fast path needs an SQLite database")
        self._db = db
        self.statements: CompiledStatements | None = None  # compiled on first use
        self.idle: list[sqlite3.Connection] = []  # this process's idle connections
        _FAST_PATHS.add(self)

    def connection(self) -> sqlite3.Connection:
        """An idle connection of this process, else a new pool connection detached from the pool. Hand
        it back with `release`, or close it after a failure. The list is shared by threads: `pop` and
        `append` are atomic, and a connection is used by one thread at a time."""
        try:
            return self.idle.pop()
        except IndexError:
            pass
        pooled = self._db.raw_connection()
        pooled.detach()  # the pool forgets it: ours to keep and to close
        return pooled.dbapi_connection

    def release(self, conn: sqlite3.Connection) -> None:
        """Back to the free list after a successful call (at most _MAX_IDLE kept; the rest closed)."""
        if len(self.idle) < _MAX_IDLE:
            self.idle.append(conn)
        else:
            _close_quietly(conn)

    def compiled(self) -> CompiledStatements:
        """The statements for this engine's dialect, compiled on first use (after a connection exists,
        so the dialect has been initialised against the database)."""
        statements = self.statements
        dialect = self._db.engine.dialect
        if statements is None or statements.dialect is not dialect:
            statements = self.statements = CompiledStatements(dialect)
        return statements

    def warm_up(self) -> None:
        """Compile the statements at start, on a fresh connection as on first use; that connection is
        closed, not kept: each forked worker opens its own."""
        conn = self.connection()
        try:
            self.compiled()
        finally:
            _close_quietly(conn)

    def dispose(self) -> None:
        """Close this process's idle connections (the fast path stays usable)."""
        while self.idle:
            try:
                conn = self.idle.pop()
            except IndexError:  # another thread took the last one
                break
            _close_quietly(conn)

    def record_call(self, values: dict, card_uuids: list[str]) -> int:
        """`audit.record_call`: BEGIN IMMEDIATE (writers queue on the busy timeout), both inserts,
        COMMIT. On any failure: rollback, and the connection is closed (the next call opens a fresh one)."""
        db = self.connection()
        statements = self.compiled()
        statement = "BEGIN IMMEDIATE"
        try:
            db.execute(statement)
            statement = statements.insert_call
            row_id = cast(int, db.execute(statement, statements.call_params(values)).lastrowid)
            if card_uuids:
                statement = statements.insert_cards
                db.executemany(statement, [statements.card_params(card) for card in card_values(row_id, card_uuids)])
            statement = "COMMIT"
            db.commit()
        except BaseException as exc:
            _rollback_and_close(db)
            if isinstance(exc, sqlite3.Error):
                raise sqlite_driver_error(statement, exc) from exc
            raise
        self.release(db)
        return row_id

    def previous_authorizations(self, params: dict) -> list[Authorization]:
        """`authorizations.previous_authorizations`. One SELECT in autocommit mode reads one snapshot
        by itself, so no BEGIN / ROLLBACK around it."""
        conn = self.connection()
        statements = self.compiled()
        try:
            rows = conn.execute(statements.select_previous, statements.select_params(params)).fetchall()
        except BaseException as exc:
            _rollback_and_close(conn)
            if isinstance(exc, sqlite3.Error):
                raise sqlite_driver_error(statements.select_previous, exc) from exc
            raise
        self.release(conn)
        return [statements.authorization(row) for row in rows]
