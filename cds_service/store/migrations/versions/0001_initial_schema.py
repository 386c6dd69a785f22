"""Audit trail, feedback and authorizations.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# BIGINT ids on PostgreSQL; SQLite only auto-increments an INTEGER PRIMARY KEY.
Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Timestamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "audit_calls",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("service_id", sa.String(128), nullable=False),
        sa.Column("hook_instance", sa.String(128), nullable=True),
        sa.Column("called_at", Timestamp, nullable=False),
        sa.Column("determinations", sa.JSON(), nullable=False),
        sa.Column("clause_outcomes", sa.JSON(), nullable=False),
        sa.Column("coverage_assertion_ids", sa.JSON(), nullable=False),
        sa.Column("policy_id", sa.String(128), nullable=True),
        sa.Column("policy_revision", sa.String(64), nullable=True),
        sa.Column("latency_ms", sa.Integer(), nullable=False),
        sa.Column("http_status", sa.Integer(), nullable=False),
        sa.Column("patient_hash", sa.String(64), nullable=True),
        sa.CheckConstraint("kind IN ('hook', 'explain')", name="ck_audit_calls_kind"),
    )
    op.create_index("ix_audit_calls_called_at", "audit_calls", ["called_at"])
    op.create_index("ix_audit_calls_hook_instance", "audit_calls", ["hook_instance"])
    op.create_index("ix_audit_calls_patient_hash", "audit_calls", ["patient_hash"])

    op.create_table(
        "audit_cards",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("audit_id", Id, sa.ForeignKey("audit_calls.id", ondelete="CASCADE"), nullable=False),
        sa.Column("card_uuid", sa.String(128), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
    )
    op.create_index("ix_audit_cards_card_uuid", "audit_cards", ["card_uuid"])
    op.create_index("ix_audit_cards_audit_id", "audit_cards", ["audit_id"])

    op.create_table(
        "feedback",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("service_id", sa.String(128), nullable=False),
        sa.Column("card_uuid", sa.String(128), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("outcome_timestamp", Timestamp, nullable=False),
        sa.Column("accepted_suggestions", sa.JSON(), nullable=False),
        sa.Column("override_reason", sa.JSON(), nullable=True),
        sa.Column("received_at", Timestamp, nullable=False),
        sa.Column("audit_id", Id, sa.ForeignKey("audit_calls.id", ondelete="SET NULL"), nullable=True),
        sa.UniqueConstraint("card_uuid", "outcome", "outcome_timestamp", name="uq_feedback_card_outcome_time"),
        sa.CheckConstraint("outcome IN ('accepted', 'overridden')", name="ck_feedback_outcome"),
    )
    op.create_index("ix_feedback_audit_id", "feedback", ["audit_id"])

    op.create_table(
        "authorizations",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("pa_id", sa.String(64), nullable=False),
        sa.Column("member_ref", sa.String(64), nullable=False),
        sa.Column("drug", sa.String(64), nullable=False),
        sa.Column("indication", sa.String(64), nullable=True),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("coverage_assertion_id", sa.String(128), nullable=True),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.UniqueConstraint("pa_id", name="uq_authorizations_pa_id"),
        sa.CheckConstraint("status IN ('approved', 'denied', 'revoked')", name="ck_authorizations_status"),
        sa.CheckConstraint("source IN ('issued-by-service', 'imported')", name="ck_authorizations_source"),
        sa.CheckConstraint("period_start <= period_end", name="ck_authorizations_period"),
    )
    op.create_index("ix_authorizations_member_drug", "authorizations", ["member_ref", "drug"])


def downgrade() -> None:
    op.drop_index("ix_authorizations_member_drug", table_name="authorizations")
    op.drop_table("authorizations")
    op.drop_index("ix_feedback_audit_id", table_name="feedback")
    op.drop_table("feedback")
    op.drop_index("ix_audit_cards_audit_id", table_name="audit_cards")
    op.drop_index("ix_audit_cards_card_uuid", table_name="audit_cards")
    op.drop_table("audit_cards")
    op.drop_index("ix_audit_calls_patient_hash", table_name="audit_calls")
    op.drop_index("ix_audit_calls_hook_instance", table_name="audit_calls")
    op.drop_index("ix_audit_calls_called_at", table_name="audit_calls")
    op.drop_table("audit_calls")
