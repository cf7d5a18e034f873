"""Who may vote in a poll: its target (roster groups, demographic bands, a radius, an on-site
code, departments) and the optional profile fields of citizens it is checked against.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from __future__ import annotations

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
