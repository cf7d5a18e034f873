"""Lot drawings: their slots, the commitment to their seed and the revealed seed; each
draw is an entry of the drawing's transparency log (``ledger_entries``).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "draws",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("room_id", sa.String(32), nullable=False),
        sa.Column("log_id", sa.String(32), sa.ForeignKey("ledger_logs.id"), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("slots", sa.JSON, nullable=False),
        sa.Column("commitment", sa.String(64), nullable=False),
        sa.Column("committed_ms", sa.BigInteger, nullable=False),
        sa.Column("seed", sa.String(256), nullable=True),
        sa.Column("revealed_ms", sa.BigInteger, nullable=True),
    )
    op.create_index("ix_draws_room_id", "draws", ["room_id"])


def downgrade() -> None:
    op.drop_index("ix_draws_room_id", "draws")
    op.drop_table("draws")
