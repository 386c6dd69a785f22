"""The ids of audit rows replayed from the local spool (written while the database was down), so that
each is stored once.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Timestamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "audit_spool_replays",
        sa.Column("spool_id", sa.String(64), primary_key=True),
        sa.Column("audit_id", Id, sa.ForeignKey("audit_calls.id", ondelete="CASCADE"), nullable=False),
        sa.Column("replayed_at", Timestamp, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("audit_spool_replays")
