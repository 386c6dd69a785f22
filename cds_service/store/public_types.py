"""The Store's public data types: plain records that cross its boundary (no SQLAlchemy objects leave the package).

`AuditEntry` is what the web layer hands to `Store.record_call`; `RecordedCall` is what
`Store.list_calls` gives back; `Authorization` is one of the plan's prior authorization
records; `FeedbackRecord` is one stored CDS Hooks feedback item.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

AUDIT_KINDS = ("hook", "explain")
AUTHORIZATION_STATUSES = ("approved", "denied", "revoked")
AUTHORIZATION_SOURCES = ("issued-by-service", "imported")
FEEDBACK_OUTCOMES = ("accepted", "overridden")

_HASH_RE = re.compile(r"[0-9a-f]{64}")


def is_keyed_hash(value: str) -> bool:
    """True when `value` has the shape of `patient_hash` / `member_ref` output (64 lowercase hex)."""
    return isinstance(value, str) and _HASH_RE.fullmatch(value) is not None


def _utc(value: datetime, name: str) -> datetime:
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware (UTC)")
    return value.astimezone(UTC)


@dataclass(frozen=True, kw_only=True)
class AuditEntry:
    """One hook call or explain call, as the audit trail keeps it.

    Fields:
    - `service_id`: the CDS service id (e.g. "anakinra-crd-order-sign").
    - `hook_instance`: the request's `hookInstance` (None for an explain call without one).
    - `called_at`: when the call arrived; timezone-aware, stored in UTC.
    - `http_status`: the status code the service answered with.
    - `latency_ms`: time spent answering, in milliseconds (stored rounded to an int).
    - `kind`: "hook" (a CDS Hooks service call) or "explain".
    - `patient_hash`: `patient_hash(key, patient_id)` or None. NEVER the patient id itself:
      anything that is not a 64-hex keyed hash is refused with ValueError.
    - `policy_id`, `policy_revision`: the guideline the decision was made under.
    - `determinations`: one JSON-able dict per anakinra order. Expected keys (the audit
      command shows them): "order" (e.g. "MedicationRequest/123"), "determination"
      (covered | not-covered | conditional | indeterminate), optionally "paNeeded",
      "pathway", "indication", "satisfiedPaId". `Decision.to_json()` minus "clauses" fits.
    - `clause_outcomes`: JSON-able list or dict of clause results (e.g. per order
      `{"order": ..., "clauses": [...]}` or `{"initiation.1": "met", ...}`).
    - `coverage_assertion_ids`: the coverage-assertion-id values sent back.
    - `card_uuids`: the uuid of every card returned, so feedback can be linked to this call.

    The store redacts, before writing, any string inside determinations / clause outcomes
    that looks like a bearer token, a JWT or a `Patient/<id>` reference (see
    `store.redaction`); callers should not put them there in the first place.
    """

    service_id: str
    hook_instance: str | None
    called_at: datetime
    http_status: int
    latency_ms: float
    kind: str = "hook"
    patient_hash: str | None = None
    policy_id: str | None = None
    policy_revision: str | None = None
    determinations: list[dict] = field(default_factory=list)
    clause_outcomes: list | dict = field(default_factory=list)
    coverage_assertion_ids: list[str] = field(default_factory=list)
    card_uuids: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.service_id or not isinstance(self.service_id, str):
            raise ValueError("service_id is required")
        if self.kind not in AUDIT_KINDS:
            raise ValueError(f"kind must be one of {AUDIT_KINDS}, got {self.kind!r}")
        object.__setattr__(self, "called_at", _utc(self.called_at, "called_at"))
        if self.patient_hash is not None and not is_keyed_hash(self.patient_hash):
            raise ValueError("patient_hash must be patient_hash(key, id) output (64 hex), never a raw id")
        if not isinstance(self.http_status, int) or not 100 <= self.http_status <= 599:
            raise ValueError(f"http_status must be an HTTP status code, got {self.http_status!r}")
        if self.latency_ms is None or self.latency_ms < 0:
            raise ValueError("latency_ms must be >= 0")
        for name in ("coverage_assertion_ids", "card_uuids"):
            values = getattr(self, name)
            if not all(isinstance(v, str) and v for v in values):
                raise ValueError(f"{name} must be a list of non-empty strings")
        if not isinstance(self.determinations, list):
            raise ValueError("determinations must be a list (one entry per order)")


@dataclass(frozen=True, kw_only=True)
class RecordedCall(AuditEntry):
    """An audit row read back by `Store.list_calls`: the entry plus its row id."""

    id: int


@dataclass(frozen=True)
class Authorization:
    """One of the plan's prior authorization records for a member.

    `member_ref` is the keyed hash of the Coverage subscriber/member id (`member_ref(key, id)`),
    `pa_id` is what the coverage-information extension carries as `satisfied-pa-id`.
    The approved period is inclusive on both ends.
    """

    pa_id: str
    member_ref: str
    drug: str
    indication: str | None
    start: date
    end: date
    status: str  # approved | denied | revoked
    coverage_assertion_id: str | None
    created_at: datetime  # UTC
    source: str  # issued-by-service | imported

    def covers(self, as_of: date) -> bool:
        """True when this is an approval whose period contains `as_of`."""
        return self.status == "approved" and self.start <= as_of <= self.end


@dataclass(frozen=True)
class FeedbackRecord:
    """One stored CDS Hooks feedback item (read back by `Store.list_feedback`)."""

    id: int
    service_id: str
    card_uuid: str
    outcome: str
    outcome_timestamp: datetime
    accepted_suggestions: list[str]
    override_reason: dict | None
    received_at: datetime
    audit_id: int | None


@dataclass(frozen=True)
class ImportResult:
    """What `Store.import_authorizations` did."""

    inserted: int
    updated: int

    @property
    def total(self) -> int:
        return self.inserted + self.updated
