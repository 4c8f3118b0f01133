"""Studio models: the model and provider each studio chose per kind of work

One row per studio and kind of work (image, video, voice, music, text, code) that the
studio moved off its local model; recipes plan the chosen model on the chosen
provider. A kind with no row is done locally. Times are microseconds since the epoch
(UTC).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "studio_models",
        sa.Column("studio", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("model", sa.Text, nullable=False),
        sa.Column("provider", sa.Text, nullable=False),
        sa.Column("chosen_at", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("studio", "kind"),
    )


def downgrade() -> None:
    op.drop_table("studio_models")
