"""Documentation (Da Vinci DTR): the context of each conditional decision and the completed questionnaires
(store/documentation.py).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

Timestamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "documentation_contexts",
        sa.Column("assertion_id", sa.String(64), primary_key=True),
        sa.Column("patient_hash", sa.String(64), nullable=False),
        sa.Column("order_ref", sa.String(200), nullable=False),
        sa.Column("coverage_ref", sa.String(200), nullable=True),
        sa.Column("fhir_server", sa.String(500), nullable=True),
        sa.Column("questionnaire", sa.String(300), nullable=False),
        sa.Column("determination", sa.String(16), nullable=False),
        sa.Column("open_clauses", sa.JSON(), nullable=False),
        sa.Column("missing", sa.JSON(), nullable=False),
        sa.Column("prefill", sa.JSON(), nullable=False),
        sa.Column("order_date", sa.Date(), nullable=True),
        sa.Column("created_at", Timestamp, nullable=False),
    )
    op.create_index("ix_documentation_contexts_patient_hash", "documentation_contexts", ["patient_hash"])
    op.create_table(
        "documentation_responses",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("assertion_id", sa.String(64), nullable=True),
        sa.Column("patient_hash", sa.String(64), nullable=False),
        sa.Column("order_ref", sa.String(200), nullable=True),
        sa.Column("questionnaire", sa.String(300), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("stored_at", Timestamp, nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
    )
    op.create_index("ix_documentation_responses_patient_hash", "documentation_responses", ["patient_hash"])
    op.create_index("ix_documentation_responses_assertion_id", "documentation_responses", ["assertion_id"])


def downgrade() -> None:
    op.drop_index("ix_documentation_responses_assertion_id", table_name="documentation_responses")
    op.drop_index("ix_documentation_responses_patient_hash", table_name="documentation_responses")
    op.drop_table("documentation_responses")
    op.drop_index("ix_documentation_contexts_patient_hash", table_name="documentation_contexts")
    op.drop_table("documentation_contexts")
