"""SQLAlchemy 2 table models of the audit trail, feedback and authorizations.

The schema itself is created by the Alembic migrations in `migrations/versions/`; these
models must match them (tests/store checks that autogenerate finds no difference).
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

# BIGINT ids on PostgreSQL; SQLite only auto-increments an INTEGER PRIMARY KEY.
IdType = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator):
    """A timestamp that is always timezone-aware UTC in Python.

    Naive datetimes are refused. On SQLite (no time zones) the UTC wall time is stored;
    values read back are made aware again.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("naive datetime given where UTC is required")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    pass


class AuditCallRow(Base):
    """One row per hook call and per explain call (table `audit_calls`)."""

    __tablename__ = "audit_calls"
    __table_args__ = (
        Index("ix_audit_calls_called_at", "called_at"),
        Index("ix_audit_calls_hook_instance", "hook_instance"),
        Index("ix_audit_calls_patient_hash", "patient_hash"),
        CheckConstraint("kind IN ('hook', 'explain')", name="ck_audit_calls_kind"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))
    service_id: Mapped[str] = mapped_column(String(128))
    hook_instance: Mapped[str | None] = mapped_column(String(128))
    called_at: Mapped[datetime] = mapped_column(UTCDateTime())
    determinations: Mapped[list] = mapped_column(JSON)
    clause_outcomes: Mapped[list | dict] = mapped_column(JSON)
    coverage_assertion_ids: Mapped[list] = mapped_column(JSON)
    policy_id: Mapped[str | None] = mapped_column(String(128))
    policy_revision: Mapped[str | None] = mapped_column(String(64))
    latency_ms: Mapped[int] = mapped_column(Integer)
    http_status: Mapped[int] = mapped_column(Integer)
    patient_hash: Mapped[str | None] = mapped_column(String(64))

    cards: Mapped[list[AuditCardRow]] = relationship(
        back_populates="call", cascade="all, delete-orphan", order_by="AuditCardRow.position"
    )


class AuditCardRow(Base):
    """The uuid of each card a call returned (table `audit_cards`), indexed for feedback."""

    __tablename__ = "audit_cards"
    __table_args__ = (
        Index("ix_audit_cards_card_uuid", "card_uuid"),
        Index("ix_audit_cards_audit_id", "audit_id"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    audit_id: Mapped[int] = mapped_column(IdType, ForeignKey("audit_calls.id", ondelete="CASCADE"))
    card_uuid: Mapped[str] = mapped_column(String(128))
    position: Mapped[int] = mapped_column(Integer)

    call: Mapped[AuditCallRow] = relationship(back_populates="cards")


class FeedbackRow(Base):
    """One CDS Hooks feedback item (table `feedback`); unique on (card, outcome, outcomeTimestamp)."""

    __tablename__ = "feedback"
    __table_args__ = (
        UniqueConstraint("card_uuid", "outcome", "outcome_timestamp", name="uq_feedback_card_outcome_time"),
        Index("ix_feedback_audit_id", "audit_id"),
        CheckConstraint("outcome IN ('accepted', 'overridden')", name="ck_feedback_outcome"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    service_id: Mapped[str] = mapped_column(String(128))
    card_uuid: Mapped[str] = mapped_column(String(128))
    outcome: Mapped[str] = mapped_column(String(16))
    outcome_timestamp: Mapped[datetime] = mapped_column(UTCDateTime())
    accepted_suggestions: Mapped[list] = mapped_column(JSON)
    override_reason: Mapped[dict | None] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    audit_id: Mapped[int | None] = mapped_column(
        IdType, ForeignKey("audit_calls.id", ondelete="SET NULL"), nullable=True
    )


class AuthorizationRow(Base):
    """The plan's prior authorization records (table `authorizations`)."""

    __tablename__ = "authorizations"
    __table_args__ = (
        UniqueConstraint("pa_id", name="uq_authorizations_pa_id"),
        Index("ix_authorizations_member_drug", "member_ref", "drug"),
        CheckConstraint("status IN ('approved', 'denied', 'revoked')", name="ck_authorizations_status"),
        CheckConstraint("source IN ('issued-by-service', 'imported')", name="ck_authorizations_source"),
        CheckConstraint("period_start <= period_end", name="ck_authorizations_period"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    pa_id: Mapped[str] = mapped_column(String(64))
    member_ref: Mapped[str] = mapped_column(String(64))
    drug: Mapped[str] = mapped_column(String(64))
    indication: Mapped[str | None] = mapped_column(String(64))
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16))
    coverage_assertion_id: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    source: Mapped[str] = mapped_column(String(32))


class AuditSpoolReplayRow(Base):
    """One audit row replayed from the local spool (table `audit_spool_replays`): its spool id, so that a
    replay interrupted between the insert and the spool's own bookkeeping never stores the row twice."""

    __tablename__ = "audit_spool_replays"

    spool_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    audit_id: Mapped[int] = mapped_column(IdType, ForeignKey("audit_calls.id", ondelete="CASCADE"))
    replayed_at: Mapped[datetime] = mapped_column(UTCDateTime())
