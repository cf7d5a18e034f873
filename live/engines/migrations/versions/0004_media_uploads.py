"""Media uploads: which host uploaded which stored image, for the per-host quota and for
removing images no question uses once their grace period is over.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "media_uploads",
        sa.Column("host_id", sa.String(32), sa.ForeignKey("hosts.id"), nullable=False),
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("uploaded_ms", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("host_id", "name", name="pk_media_uploads"),
    )
    op.create_index("ix_media_uploads_name", "media_uploads", ["name"])


def downgrade() -> None:
    op.drop_index("ix_media_uploads_name", "media_uploads")
    op.drop_table("media_uploads")
