"""Roster groups of phone numbers (keyed references only), their members, and the polls that
target them.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "roster_groups",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("host_id", sa.String(32), sa.ForeignKey("hosts.id"), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("host_id", "name", name="uq_roster_groups_host_name"),
    )
    op.create_table(
        "roster_members",
        sa.Column("group_id", sa.String(32), sa.ForeignKey("roster_groups.id"), nullable=False),
        sa.Column("phone_ref", sa.String(64), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("added_ms", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("group_id", "phone_ref", name="pk_roster_members"),
    )
    op.create_index("ix_roster_members_phone_ref", "roster_members", ["phone_ref"])
    op.create_table(
        "roster_polls",
        sa.Column("poll_id", sa.String(32), sa.ForeignKey("polls.id"), nullable=False),
        sa.Column("group_id", sa.String(32), sa.ForeignKey("roster_groups.id"), nullable=False),
        sa.PrimaryKeyConstraint("poll_id", "group_id", name="pk_roster_polls"),
    )
    op.create_index("ix_roster_polls_group_id", "roster_polls", ["group_id"])


def downgrade() -> None:
    op.drop_index("ix_roster_polls_group_id", "roster_polls")
    op.drop_table("roster_polls")
    op.drop_index("ix_roster_members_phone_ref", "roster_members")
    op.drop_table("roster_members")
    op.drop_table("roster_groups")
