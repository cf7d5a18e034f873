"""Co-hosts: who may run a room, and the invitations that make a co-host.

Every room with an owner gets its owner's row in ``room_hosts``.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "room_hosts",
        sa.Column("room_id", sa.String(32), sa.ForeignKey("rooms.id"), nullable=False),
        sa.Column("host_id", sa.String(32), sa.ForeignKey("hosts.id"), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("room_id", "host_id", name="pk_room_hosts"),
        sa.CheckConstraint("role IN ('owner', 'cohost')", name="ck_room_hosts_role"),
    )
    op.create_index("ix_room_hosts_host_id", "room_hosts", ["host_id"])
    op.create_table(
        "invitations",
        sa.Column("token", sa.String(64), primary_key=True),
        sa.Column("room_id", sa.String(32), sa.ForeignKey("rooms.id"), nullable=False),
        sa.Column("created_by", sa.String(32), sa.ForeignKey("hosts.id"), nullable=False),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
        sa.Column("accepted_by", sa.String(32), sa.ForeignKey("hosts.id"), nullable=True),
        sa.Column("accepted_ms", sa.BigInteger, nullable=True),
    )
    op.create_index("ix_invitations_room_id", "invitations", ["room_id"])
    op.execute(
        "INSERT INTO room_hosts (room_id, host_id, role, created_ms) "
        "SELECT id, owner_id, 'owner', created_ms FROM rooms WHERE owner_id IS NOT NULL"
    )


def downgrade() -> None:
    op.drop_table("invitations")
    op.drop_table("room_hosts")
