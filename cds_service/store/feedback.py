"""CDS Hooks feedback: checking the items a client posts, storing each once, linked to the audit row
of the call that returned its card, and reading them back."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from .engine import Database
from .models import AuditCardRow, FeedbackRow
from .public_types import FEEDBACK_OUTCOMES, FeedbackRecord
from .redaction import redact_json


def _dialect_insert(backend: str):
    """The backend's INSERT construct (for ON CONFLICT DO NOTHING, which the generic one lacks)."""
    if backend == "postgresql":
        # PostgreSQL is the optional backend (extra `postgres`). Its dialect package is loaded by the
        # engine when the store is on PostgreSQL; importing it at the top would slow every SQLite
        # start for nothing (benchmarks/README.md, "The store's speed tricks").
        from sqlalchemy.dialects.postgresql import insert as postgresql_insert  # noqa: PLC0415  (see ALLOWED in tests/test_import_placement.py)

        return postgresql_insert
    return sqlite_insert


class InvalidFeedback(ValueError):
    """A feedback item is malformed; the message names the item and field."""


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
    ts = ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)
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


def record_feedback(db: Database, service_id: str, items: list[dict]) -> int:
    """Store feedback items and return how many were new (see `Store.record_feedback`)."""
    if not isinstance(items, list):
        raise InvalidFeedback("feedback must be a list")
    parsed = [_parse_feedback(item, i) for i, item in enumerate(items)]
    if not parsed:
        return 0
    dialect_insert = _dialect_insert(db.backend)
    table = FeedbackRow.__table__
    now = datetime.now(UTC)
    stored = 0
    with db.session(write=True) as session:
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
            stored += len(session.execute(stmt).all())  # no row back: a duplicate
        session.commit()
    return stored


def list_feedback(db: Database, card_uuid: str | None) -> list[FeedbackRecord]:
    """Stored feedback (all, or for one card), oldest first."""
    stmt = select(FeedbackRow).order_by(FeedbackRow.id)
    if card_uuid is not None:
        stmt = stmt.where(FeedbackRow.card_uuid == card_uuid)
    with db.session(write=False) as session:
        return [
            FeedbackRecord(
                id=r.id,
                service_id=r.service_id,
                card_uuid=r.card_uuid,
                outcome=r.outcome,
                outcome_timestamp=r.outcome_timestamp,
                accepted_suggestions=list(r.accepted_suggestions or []),
                override_reason=r.override_reason,
                received_at=r.received_at,
                audit_id=r.audit_id,
            )
            for r in session.scalars(stmt)
        ]
