"""The public square: monitors, prohibited words, comments, reports, the moderation log,
a poll's moderation state, and what citizens are notified of (interests, a saved place,
an inbox, Web Push subscriptions).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_CITIZEN: tuple[tuple[str, Any], ...] = (
    ("interests", sa.JSON),
    ("place_lat", sa.Float),
    ("place_lon", sa.Float),
    ("place_radius_m", sa.Integer),
)
_POLL: tuple[tuple[str, Any], ...] = (
    ("comments", sa.Boolean),
    ("moderation", sa.String(16)),
    ("moderation_reason", sa.String(500)),
    ("moderated_ms", sa.BigInteger),
)


def upgrade() -> None:
    op.create_table(
        "monitors",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("host_id", sa.String(32), sa.ForeignKey("hosts.id"), nullable=True, unique=True),
        sa.Column(
            "citizen_id", sa.String(32), sa.ForeignKey("citizens.id"), nullable=True, unique=True
        ),
        sa.Column("added_by", sa.String(100), nullable=False),
        sa.Column("added_ms", sa.BigInteger, nullable=False),
        sa.CheckConstraint(
            "(host_id IS NULL) <> (citizen_id IS NULL)", name="ck_monitors_one_account"
        ),
    )
    op.create_table(
        "prohibited_words",
        sa.Column("key", sa.String(100), primary_key=True),
        sa.Column("word", sa.String(100), nullable=False),
        sa.Column("added_by", sa.String(100), nullable=False),
        sa.Column("added_ms", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "comments",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("poll_id", sa.String(32), sa.ForeignKey("polls.id"), nullable=False),
        sa.Column("parent_id", sa.String(32), sa.ForeignKey("comments.id"), nullable=True),
        sa.Column("citizen_id", sa.String(32), sa.ForeignKey("citizens.id"), nullable=True),
        sa.Column("host_id", sa.String(32), sa.ForeignKey("hosts.id"), nullable=True),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
        sa.Column("edited_ms", sa.BigInteger, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("status_reason", sa.String(500), nullable=False, server_default=""),
    )
    op.create_index("ix_comments_poll_created", "comments", ["poll_id", "created_ms"])
    op.create_index("ix_comments_parent_id", "comments", ["parent_id"])
    op.create_table(
        "reports",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("target_kind", sa.String(16), nullable=False),
        sa.Column("target_id", sa.String(32), nullable=False),
        sa.Column("citizen_id", sa.String(32), sa.ForeignKey("citizens.id"), nullable=False),
        sa.Column("reason", sa.String(24), nullable=False),
        sa.Column("note", sa.String(500), nullable=False),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
        sa.Column("resolved_ms", sa.BigInteger, nullable=True),
        sa.UniqueConstraint(
            "target_kind", "target_id", "citizen_id", name="uq_reports_target_citizen"
        ),
    )
    op.create_index("ix_reports_resolved_ms", "reports", ["resolved_ms"])
    op.create_table(
        "moderation_log",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at_ms", sa.BigInteger, nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("target_kind", sa.String(16), nullable=False),
        sa.Column("target_id", sa.String(100), nullable=False),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("detail", sa.JSON, nullable=False),
    )
    op.create_table(
        "notifications",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("citizen_id", sa.String(32), sa.ForeignKey("citizens.id"), nullable=False),
        sa.Column("poll_id", sa.String(32), sa.ForeignKey("polls.id"), nullable=False),
        sa.Column("reason", sa.String(16), nullable=False),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
        sa.Column("read_ms", sa.BigInteger, nullable=True),
        sa.UniqueConstraint("citizen_id", "poll_id", name="uq_notifications_citizen_poll"),
    )
    op.create_index(
        "ix_notifications_citizen_created", "notifications", ["citizen_id", "created_ms"]
    )
    op.create_table(
        "push_subscriptions",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("citizen_id", sa.String(32), sa.ForeignKey("citizens.id"), nullable=False),
        sa.Column("endpoint", sa.String(1000), nullable=False, unique=True),
        sa.Column("p256dh", sa.String(200), nullable=False),
        sa.Column("auth", sa.String(64), nullable=False),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
        sa.Column("failures", sa.Integer, nullable=False, server_default="0"),
    )
    op.create_index("ix_push_subscriptions_citizen_id", "push_subscriptions", ["citizen_id"])
    with op.batch_alter_table("citizens") as batch:
        for name, kind in _CITIZEN:
            batch.add_column(sa.Column(name, kind, nullable=True))
    with op.batch_alter_table("polls") as batch:
        for name, kind in _POLL:
            batch.add_column(sa.Column(name, kind, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("polls") as batch:
        for name, _ in reversed(_POLL):
            batch.drop_column(name)
    with op.batch_alter_table("citizens") as batch:
        for name, _ in reversed(_CITIZEN):
            batch.drop_column(name)
    op.drop_index("ix_push_subscriptions_citizen_id", "push_subscriptions")
    op.drop_table("push_subscriptions")
    op.drop_index("ix_notifications_citizen_created", "notifications")
    op.drop_table("notifications")
    op.drop_table("moderation_log")
    op.drop_index("ix_reports_resolved_ms", "reports")
    op.drop_table("reports")
    op.drop_index("ix_comments_parent_id", "comments")
    op.drop_index("ix_comments_poll_created", "comments")
    op.drop_table("comments")
    op.drop_table("prohibited_words")
    op.drop_table("monitors")
