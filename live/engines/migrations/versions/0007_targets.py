"""Who may vote in a poll: its target (roster groups, demographic bands, a radius, an on-site
code, departments) and the optional profile fields of citizens it is checked against.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


_PROFILE = (
    ("birth_year", sa.Integer),
    ("gender", sa.String(16)),
    ("district", sa.String(24)),
    ("job", sa.String(24)),
)


def upgrade() -> None:
    with op.batch_alter_table("citizens") as batch:
        for name, kind in _PROFILE:
            batch.add_column(sa.Column(name, kind, nullable=True))
    with op.batch_alter_table("polls") as batch:
        batch.add_column(sa.Column("target", sa.JSON, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("polls") as batch:
        batch.drop_column("target")
    with op.batch_alter_table("citizens") as batch:
        for name, _ in reversed(_PROFILE):
            batch.drop_column(name)
