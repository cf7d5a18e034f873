"""Live core: hosts, rooms, questions, ballots.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "hosts",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("email", sa.String(320), nullable=False, unique=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "rooms",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("number", sa.String(6), nullable=False, index=True),
        sa.Column("title", sa.String(500), nullable=False),
        sa.Column("password", sa.String(200), nullable=False),
        sa.Column("join_key", sa.String(64), nullable=False, unique=True),
        sa.Column("presenter_token", sa.String(64), nullable=False),
        sa.Column("owner_id", sa.String(32), sa.ForeignKey("hosts.id"), nullable=True),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "questions",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("room_id", sa.String(32), sa.ForeignKey("rooms.id"), nullable=False, index=True),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("spec", sa.JSON, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("revealed", sa.Boolean, nullable=False),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
        sa.Column("opened_ms", sa.BigInteger, nullable=True),
        sa.Column("closed_ms", sa.BigInteger, nullable=True),
        sa.Column("archived_count", sa.Integer, nullable=True),
        sa.Column("tally_total", sa.Integer, nullable=True),
        sa.Column("finalized_ms", sa.BigInteger, nullable=True),
    )
    op.create_table(
        "ballots",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer, "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("question_id", sa.String(32), nullable=False),
        sa.Column("ballot_id", sa.String(40), nullable=False),
        sa.Column("voter_ref", sa.String(64), nullable=False),
        sa.Column("choices", sa.JSON, nullable=False),
        sa.Column("cast_ms", sa.BigInteger, nullable=False),
        sa.Column("nonce", sa.String(32), nullable=False),
        sa.Column("receipt", sa.String(64), nullable=False),
        sa.UniqueConstraint("question_id", "ballot_id", name="uq_ballots_question_ballot"),
    )
    op.create_index("ix_ballots_question", "ballots", ["question_id"])


def downgrade() -> None:
    op.drop_table("ballots")
    op.drop_table("questions")
    op.drop_table("rooms")
    op.drop_table("hosts")
