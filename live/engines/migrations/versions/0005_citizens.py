"""Citizens (known by a keyed reference of their number, never the number), the identity
providers' accounts linked to them, departments, and the hosts who are their officials.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "citizens",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("phone_ref", sa.String(64), nullable=False, unique=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("password_hash", sa.String(200), nullable=True),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
        sa.Column("areas", sa.JSON, nullable=True),
    )
    op.create_table(
        "citizen_logins",
        sa.Column("issuer", sa.String(300), nullable=False),
        sa.Column("subject", sa.String(255), nullable=False),
        sa.Column("citizen_id", sa.String(32), sa.ForeignKey("citizens.id"), nullable=False),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("issuer", "subject", name="pk_citizen_logins"),
    )
    op.create_index("ix_citizen_logins_citizen_id", "citizen_logins", ["citizen_id"])
    op.create_table(
        "departments",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "officials",
        sa.Column("host_id", sa.String(32), sa.ForeignKey("hosts.id"), primary_key=True),
        sa.Column("department_id", sa.String(32), sa.ForeignKey("departments.id"), nullable=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
        sa.CheckConstraint("role IN ('official', 'admin')", name="ck_officials_role"),
    )
    op.create_index("ix_officials_department_id", "officials", ["department_id"])
    op.add_column(
        "hosts",
        sa.Column("must_change_password", sa.Boolean, nullable=False, server_default=sa.false()),
    )


def downgrade() -> None:
    op.drop_column("hosts", "must_change_password")
    op.drop_index("ix_officials_department_id", "officials")
    op.drop_table("officials")
    op.drop_table("departments")
    op.drop_index("ix_citizen_logins_citizen_id", "citizen_logins")
    op.drop_table("citizen_logins")
    op.drop_table("citizens")
