"""Checkpoints of log followers, and the work cache

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "checkpoints",
        sa.Column("name", sa.Text, primary_key=True),
        sa.Column("position", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "work_cache",
        sa.Column("studio", sa.Text, primary_key=True),
        sa.Column("content_key", sa.Text, primary_key=True),
        sa.Column("artifact", sa.Text, nullable=False),
        sa.Column("task", sa.Text, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("work_cache")
    op.drop_table("checkpoints")
