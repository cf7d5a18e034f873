"""The integrity ledger: one transparency log per poll, its entries and its checkpoints.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ledger_logs",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("question_id", sa.String(32), nullable=False),
        sa.Column("origin", sa.String(300), nullable=False, unique=True),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("receipts", sa.Boolean, nullable=False),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
        sa.Column("verification", sa.String(16), nullable=True),
        sa.Column("problem", sa.String(32), nullable=True),
        sa.Column("problem_fields", sa.JSON, nullable=True),
        sa.Column("verified_ms", sa.BigInteger, nullable=True),
    )
    op.create_index("ix_ledger_logs_question_id", "ledger_logs", ["question_id"])
    op.create_table(
        "ledger_entries",
        sa.Column("log_id", sa.String(32), sa.ForeignKey("ledger_logs.id"), nullable=False),
        sa.Column("idx", sa.Integer, nullable=False),
        sa.Column("stream_id", sa.String(40), nullable=False),
        sa.Column("entry", sa.LargeBinary, nullable=False),
        sa.Column("leaf_hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("log_id", "idx", name="pk_ledger_entries"),
        sa.UniqueConstraint("log_id", "stream_id", name="uq_ledger_entries_stream"),
    )
    op.create_index("ix_ledger_entries_leaf_hash", "ledger_entries", ["leaf_hash"])
    op.create_table(
        "ledger_checkpoints",
        sa.Column("log_id", sa.String(32), sa.ForeignKey("ledger_logs.id"), nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("root", sa.String(64), nullable=False),
        sa.Column("note", sa.LargeBinary, nullable=False),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("log_id", "size", name="pk_ledger_checkpoints"),
    )
    op.create_table(
        "ledger_witnessed",
        sa.Column("log_id", sa.String(32), sa.ForeignKey("ledger_logs.id"), nullable=False),
        sa.Column("witness", sa.String(200), nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("log_id", "witness", name="pk_ledger_witnessed"),
    )
    with op.batch_alter_table("questions") as batch:
        batch.add_column(sa.Column("log_id", sa.String(32), nullable=True))
    with op.batch_alter_table("ballots") as batch:
        batch.add_column(sa.Column("leaf_index", sa.Integer, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("ballots") as batch:
        batch.drop_column("leaf_index")
    with op.batch_alter_table("questions") as batch:
        batch.drop_column("log_id")
    op.drop_table("ledger_witnessed")
    op.drop_table("ledger_checkpoints")
    op.drop_table("ledger_entries")
    op.drop_table("ledger_logs")
