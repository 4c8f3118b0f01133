"""The executions read model: finished executions and their tasks, found by id

Scene state holds running executions only; a finished one is read from here, folded
from its events as the state held it (`projections.executions`). `execution_events`
indexes the log: one row per event of an execution or a task (and per fork, so that
a branch finds its ancestors'), with the ids a query looks up by; the payloads stay
in `events`.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As in 0003: on PostgreSQL a commit names its generation in a transaction-local
# setting, and COPY leaves the column to this default.
_GENERATION_OF_COMMIT = "current_setting('scenestate.generation')::integer"


def _generation() -> sa.Column[int]:
    postgres = op.get_bind().dialect.name == "postgresql"
    default = sa.text(_GENERATION_OF_COMMIT) if postgres else None
    return sa.Column("generation", sa.Integer, nullable=False, server_default=default)


def _text(name: str, nullable: bool = False) -> sa.Column[str]:
    return sa.Column(name, sa.Text, nullable=nullable)


def _big(name: str) -> sa.Column[int]:
    return sa.Column(name, sa.BigInteger, nullable=False)


def upgrade() -> None:
    op.create_table(
        "execution_events",
        _generation(),
        _big("position"),
        _text("scene"),
        _text("branch"),
        _big("version"),
        _big("recorded_at"),
        _text("type"),
        _text("studio"),
        _text("actor"),
        _text("intent_id"),
        _text("execution_id"),
        _text("transform"),
        sa.Column("transform_version", sa.Integer, nullable=False),
        _text("execution", nullable=True),
        _text("task", nullable=True),
        _text("content_key", nullable=True),
        _text("goal", nullable=True),
        _text("cause", nullable=True),
        sa.PrimaryKeyConstraint("generation", "position"),
    )
    for name, columns in _INDEXES.items():
        op.create_index(f"execution_events_by_{name}", "execution_events", columns)


_INDEXES = {
    "execution": ["generation", "scene", "execution"],
    "task": ["generation", "scene", "task"],
    "content_key": ["generation", "scene", "content_key"],
    "cause": ["generation", "scene", "cause"],
    "type": ["generation", "scene", "branch", "type"],
}


def downgrade() -> None:
    op.drop_table("execution_events")
