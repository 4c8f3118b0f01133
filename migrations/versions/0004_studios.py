"""Studios, their API keys, scene ownership, artifact access, and webhooks

Tenancy lives in tables rather than events: keys are secrets kept as hashes and
revoked in place, and webhook deliveries are an operational log with leases and
retries, none of which is scene history a merge or a replay should see. Times are
microseconds since the epoch (UTC), as in the read models.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _text(name: str, nullable: bool = False) -> sa.Column[str]:
    return sa.Column(name, sa.Text, nullable=nullable)


def _micros(name: str, nullable: bool = False) -> sa.Column[int]:
    return sa.Column(name, sa.BigInteger, nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "studios",
        _text("id"),
        _text("name"),
        _micros("created_at"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "api_keys",
        _text("id"),
        _text("studio"),
        _text("name"),
        _text("actor"),
        _text("secret_hash"),
        sa.Column("rate_per_second", sa.Float, nullable=False),
        sa.Column("burst", sa.Integer, nullable=False),
        _micros("created_at"),
        _micros("revoked_at", nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("api_keys_by_studio", "api_keys", ["studio"])
    op.create_table(
        "scene_owners",
        _text("scene"),
        _text("studio"),
        _micros("claimed_at"),
        sa.PrimaryKeyConstraint("scene"),
    )
    op.create_table(
        "studio_artifacts",
        _text("studio"),
        _text("artifact"),
        sa.PrimaryKeyConstraint("studio", "artifact"),
    )
    _create_webhooks()


def _create_webhooks() -> None:
    op.create_table(
        "webhooks",
        _text("id"),
        _text("studio"),
        _text("url"),
        _text("secret"),
        _text("events"),
        _micros("created_at"),
        _micros("deleted_at", nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("webhooks_by_studio", "webhooks", ["studio"])
    op.create_table(
        "webhook_deliveries",
        _text("id"),
        _text("webhook"),
        _text("studio"),
        _text("event"),
        _text("execution"),
        _text("scene"),
        _text("branch"),
        _micros("position"),
        _text("body"),
        _text("status"),
        sa.Column("attempts", sa.Integer, nullable=False),
        _micros("created_at"),
        _micros("next_attempt_at"),
        _micros("lease_until", nullable=True),
        _micros("delivered_at", nullable=True),
        sa.Column("last_status_code", sa.Integer, nullable=True),
        _text("last_error", nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("webhook", "position", name="webhook_deliveries_once"),
    )
    op.create_index("webhook_deliveries_due", "webhook_deliveries", ["status", "next_attempt_at"])
    op.create_index("webhook_deliveries_by_webhook", "webhook_deliveries", ["webhook", "position"])
    op.create_table(
        "webhook_attempts",
        _text("delivery"),
        sa.Column("attempt", sa.Integer, nullable=False),
        _micros("at"),
        sa.Column("status_code", sa.Integer, nullable=True),
        _text("error", nullable=True),
        sa.Column("duration_ms", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint("delivery", "attempt"),
    )


_TABLES = (
    "webhook_attempts",
    "webhook_deliveries",
    "webhooks",
    "studio_artifacts",
    "scene_owners",
    "api_keys",
    "studios",
)


def downgrade() -> None:
    for table in _TABLES:
        op.drop_table(table)
