"""Citywide polls: each runs its questions in a room of its own; its author is a
citizen (a general poll) or an official of a department (a policy poll). A closed policy
poll's department publishes how its result was reflected.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "polls",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("room_id", sa.String(32), sa.ForeignKey("rooms.id"), nullable=False, unique=True),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("area", sa.String(24), nullable=False),
        sa.Column("tags", sa.JSON, nullable=False),
        sa.Column("visibility", sa.String(16), nullable=False),
        sa.Column("opens_ms", sa.BigInteger, nullable=False),
        sa.Column("closes_ms", sa.BigInteger, nullable=False),
        sa.Column("lat", sa.Float, nullable=True),
        sa.Column("lon", sa.Float, nullable=True),
        sa.Column("image", sa.String(200), nullable=False),
        sa.Column("image_alt", sa.String(300), nullable=False),
        sa.Column("citizen_id", sa.String(32), sa.ForeignKey("citizens.id"), nullable=True),
        sa.Column("host_id", sa.String(32), sa.ForeignKey("hosts.id"), nullable=True),
        sa.Column("department_id", sa.String(32), sa.ForeignKey("departments.id"), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
        sa.Column("opened_ms", sa.BigInteger, nullable=True),
        sa.Column("closed_ms", sa.BigInteger, nullable=True),
        sa.CheckConstraint(
            "kind IN ('general', 'policy_decision', 'policy_reference')", name="ck_polls_kind"
        ),
        sa.CheckConstraint("status IN ('scheduled', 'open', 'closed')", name="ck_polls_status"),
    )
    op.create_index("ix_polls_closes_ms", "polls", ["closes_ms"])
    op.create_index("ix_polls_citizen_id", "polls", ["citizen_id"])
    op.create_index("ix_polls_department_id", "polls", ["department_id"])
    op.create_table(
        "reflections",
        sa.Column("poll_id", sa.String(32), sa.ForeignKey("polls.id"), primary_key=True),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("reflected_on", sa.String(10), nullable=False),
        sa.Column("link", sa.String(500), nullable=False),
        sa.Column("host_id", sa.String(32), sa.ForeignKey("hosts.id"), nullable=False),
        sa.Column("published_ms", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_reflections_published_ms", "reflections", ["published_ms"])


def downgrade() -> None:
    op.drop_index("ix_reflections_published_ms", "reflections")
    op.drop_table("reflections")
    op.drop_index("ix_polls_department_id", "polls")
    op.drop_index("ix_polls_citizen_id", "polls")
    op.drop_index("ix_polls_closes_ms", "polls")
    op.drop_table("polls")
