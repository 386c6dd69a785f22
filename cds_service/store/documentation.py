"""Documentation (Da Vinci DTR): the context of each conditional decision, and the completed questionnaires.

At order-sign time the service remembers, per coverage-assertion-id, what it needs to build the documentation
package later: the order and coverage references, the EHR's `fhirServer`, the decision's open clauses and missing
items, the answers it can pre-fill (with their sources). No token is kept, and the patient only as the keyed
pseudonym (`patient_hash`): a package or a response is only ever matched to the same patient's pseudonym.

A completed QuestionnaireResponse is kept without its `subject` (the pseudonym stands for it) and with every JSON
value scrubbed by `redaction.redact_json` (no `Patient/<id>`, no token); it is read back, at the next hook call for
the same patient, by the context (coverage-assertion-id) or the order.

Tables `documentation_contexts` and `documentation_responses` (migration 0003), on the Store's own engine:
`DocumentationStore(store)`.
"""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import JSON, ColumnElement, Date, Index, Select, String, delete, or_, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Mapped, Session, mapped_column

from .engine import StoreUnavailable
from .models import Base, UTCDateTime
from .redaction import redact_json
from .store import Store

#: contexts and responses older than this are not read (and `purge` removes them)
KEEP_DAYS = 90


class DocumentationContextRow(Base):
    """What a conditional decision needs for its documentation package later (table `documentation_contexts`)."""

    __tablename__ = "documentation_contexts"
    __table_args__ = (Index("ix_documentation_contexts_patient_hash", "patient_hash"),)

    assertion_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    patient_hash: Mapped[str] = mapped_column(String(64))
    order_ref: Mapped[str] = mapped_column(String(200))
    coverage_ref: Mapped[str | None] = mapped_column(String(200))
    fhir_server: Mapped[str | None] = mapped_column(String(500))
    questionnaire: Mapped[str] = mapped_column(String(300))
    determination: Mapped[str] = mapped_column(String(16))
    open_clauses: Mapped[list] = mapped_column(JSON)
    missing: Mapped[list] = mapped_column(JSON)
    prefill: Mapped[list] = mapped_column(JSON)
    order_date: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class DocumentationResponseRow(Base):
    """A completed documentation QuestionnaireResponse (table `documentation_responses`), without its subject."""

    __tablename__ = "documentation_responses"
    __table_args__ = (
        Index("ix_documentation_responses_patient_hash", "patient_hash"),
        Index("ix_documentation_responses_assertion_id", "assertion_id"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    assertion_id: Mapped[str | None] = mapped_column(String(64))
    patient_hash: Mapped[str] = mapped_column(String(64))
    order_ref: Mapped[str | None] = mapped_column(String(200))
    questionnaire: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(16))
    stored_at: Mapped[datetime] = mapped_column(UTCDateTime())
    body: Mapped[dict] = mapped_column(JSON)


@dataclass(frozen=True)
class DocumentationContext:
    assertion_id: str
    patient_hash: str
    order_ref: str
    questionnaire: str  # the version-specific canonical
    determination: str
    coverage_ref: str | None = None
    fhir_server: str | None = None
    open_clauses: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    prefill: list = field(default_factory=list)
    order_date: date | None = None
    created_at: datetime | None = None


class DocumentationStore:
    """The documentation tables, on `store`'s engine. Database trouble raises StoreUnavailable."""

    def __init__(self, store: Store, clock=lambda: datetime.now(UTC)):
        self._store = store
        self._clock = clock

    def _session(self) -> Session:
        engine = self._store.engine
        if not isinstance(engine, Engine):  # a store that is down (or a stand-in for one) has none
            raise StoreUnavailable("the store has no database engine")
        return Session(bind=engine, expire_on_commit=False, autoflush=False)

    def _run(self, work):
        try:
            with self._session() as session:
                out = work(session)
                session.commit()
                return out
        except (SQLAlchemyError, OSError) as exc:
            raise StoreUnavailable(type(exc).__name__) from exc

    def _read(self, query: Select[Any]) -> list[Any]:
        """The first column of every row of a SELECT, on a connection of the store's pool."""
        engine = self._store.engine
        if not isinstance(engine, Engine):
            raise StoreUnavailable("the store has no database engine")
        try:
            with engine.connect() as conn:
                return list(conn.execute(query).scalars())
        except (SQLAlchemyError, OSError) as exc:
            raise StoreUnavailable(type(exc).__name__) from exc

    # ------------------------------------------------------------------ contexts

    def remember(self, ctx: DocumentationContext) -> None:
        """Keep (or replace) the context of one decision, keyed by its coverage-assertion-id."""
        if not ctx.assertion_id or len(ctx.assertion_id) > 64:
            raise ValueError("a coverage-assertion-id of 1 to 64 characters is needed")

        def work(session: Session) -> None:
            session.merge(
                DocumentationContextRow(
                    assertion_id=ctx.assertion_id,
                    patient_hash=ctx.patient_hash,
                    order_ref=ctx.order_ref[:200],
                    coverage_ref=(ctx.coverage_ref or None) and ctx.coverage_ref[:200],
                    fhir_server=(ctx.fhir_server or None) and ctx.fhir_server[:500],
                    questionnaire=ctx.questionnaire,
                    determination=ctx.determination,
                    open_clauses=list(ctx.open_clauses),
                    missing=redact_json(list(ctx.missing)),
                    prefill=redact_json(ctx.prefill),
                    order_date=ctx.order_date,
                    created_at=self._clock(),
                )
            )

        self._run(work)

    def context(self, assertion_id: str) -> DocumentationContext | None:
        """The context of `assertion_id` (None when unknown, or older than KEEP_DAYS)."""
        if not isinstance(assertion_id, str) or not assertion_id or len(assertion_id) > 64:
            return None
        row = self._run(lambda s: s.get(DocumentationContextRow, assertion_id))
        if row is None or row.created_at < self._clock() - timedelta(days=KEEP_DAYS):
            return None
        return DocumentationContext(
            row.assertion_id,
            row.patient_hash,
            row.order_ref,
            row.questionnaire,
            row.determination,
            row.coverage_ref,
            row.fhir_server,
            tuple(row.open_clauses or ()),
            tuple(row.missing or ()),
            list(row.prefill or ()),
            row.order_date,
            row.created_at,
        )

    def latest_context_for_order(self, patient_hash: str, order_ref: str) -> DocumentationContext | None:
        """The newest context kept for this order of this patient (pseudonym), if any."""
        query = (
            select(DocumentationContextRow.assertion_id)
            .where(DocumentationContextRow.patient_hash == patient_hash, DocumentationContextRow.order_ref == order_ref)
            .order_by(DocumentationContextRow.created_at.desc())
            .limit(1)
        )
        found = self._run(lambda s: s.scalars(query).first())
        return self.context(found) if found else None

    # ------------------------------------------------------------------ responses

    def store_response(self, qr: dict, *, patient_hash: str, assertion_id: str | None, order_ref: str | None) -> str:
        """Keep a QuestionnaireResponse (its subject dropped, its JSON scrubbed); returns the id it is kept
        under (also set as the kept resource's `id`: evidence cites `QuestionnaireResponse/<id>#<linkId>`)."""
        if not isinstance(qr, dict) or qr.get("resourceType") != "QuestionnaireResponse":
            raise ValueError("not a QuestionnaireResponse")
        if not isinstance(qr.get("questionnaire"), str) or not isinstance(qr.get("status"), str):
            raise ValueError("a QuestionnaireResponse needs `questionnaire` and `status`")
        rid = str(uuid.uuid4())
        body = copy.deepcopy(qr)
        body.pop("subject", None)
        body["id"] = rid
        body = redact_json(body)

        def work(session: Session) -> None:
            session.add(
                DocumentationResponseRow(
                    id=rid,
                    assertion_id=assertion_id,
                    patient_hash=patient_hash,
                    order_ref=order_ref,
                    questionnaire=qr["questionnaire"][:300],
                    status=qr["status"][:16],
                    stored_at=self._clock(),
                    body=body,
                )
            )

        self._run(work)
        return rid

    def responses_for(
        self, patient_hash: str, *, assertion_ids=(), order_ref: str | None = None, patient_ref: str | None = None
    ) -> list[dict]:
        """The completed responses of this patient (pseudonym) kept for one of `assertion_ids` or for `order_ref`,
        oldest first; with `patient_ref`, each is given back its subject (it is this patient's by its pseudonym)."""
        ids = [a for a in assertion_ids if isinstance(a, str) and a]
        if not ids and not order_ref:
            return []
        since = self._clock() - timedelta(days=KEEP_DAYS)
        keyed: list[ColumnElement[bool]] = []
        if ids:
            keyed.append(DocumentationResponseRow.assertion_id.in_(ids))
        if order_ref:
            keyed.append(DocumentationResponseRow.order_ref == order_ref)
        table = DocumentationResponseRow.__table__
        query = (
            select(table.c.body)
            .where(
                DocumentationResponseRow.patient_hash == patient_hash,
                DocumentationResponseRow.status == "completed",
                DocumentationResponseRow.stored_at >= since,
                or_(*keyed),
            )
            .order_by(DocumentationResponseRow.stored_at)
        )
        # Read on every order-sign: a plain SELECT of the JSON column on a pooled connection, without an ORM
        # session (the ORM path cost about a fifth of a whole hook call on the large chart: benchmarks/README.md).
        bodies = self._read(query)
        out = []
        for stored in bodies:
            body = copy.deepcopy(stored)
            if patient_ref:
                body["subject"] = {"reference": patient_ref}
            out.append(body)
        return out

    def purge(self) -> int:
        """Remove contexts and responses older than KEEP_DAYS; returns how many rows went."""
        since = self._clock() - timedelta(days=KEEP_DAYS)

        def work(session: Session) -> int:
            a = session.execute(delete(DocumentationContextRow).where(DocumentationContextRow.created_at < since))
            b = session.execute(delete(DocumentationResponseRow).where(DocumentationResponseRow.stored_at < since))
            return int(getattr(a, "rowcount", 0) or 0) + int(getattr(b, "rowcount", 0) or 0)

        return self._run(work)


__all__ = ["KEEP_DAYS", "DocumentationContext", "DocumentationStore"]
