"""Read models of the projections: history, lineage, and their generations

Every read-model row carries the `generation` that built it, so a rebuild can fill a
new generation beside the live one and take over in one transaction (blue/green);
`read_model_generations` holds each generation's checkpoint and role. Times are
microseconds since the epoch (UTC), which both databases compare exactly.
`history_events` indexes the log by provenance; the payloads stay in `events`.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# On PostgreSQL a commit names its generation once, in a transaction-local setting,
# and COPY leaves the column to this default (see adapters/store/_read_model_postgres).
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
        "read_model_generations",
        _text("projection"),
        _generation(),
        sa.Column("version", sa.Integer, nullable=False),
        _text("role"),
        _big("position"),
        _text("error", nullable=True),
        sa.PrimaryKeyConstraint("projection", "generation"),
    )
    _create_history()
    _create_lineage()


def _create_history() -> None:
    op.create_table(
        "history_events",
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
        _text("node", nullable=True),
        sa.PrimaryKeyConstraint("generation", "scene", "branch", "version"),
    )
    # Actor, execution and time filters narrow one scene's rows (the primary key); only
    # nodes, which a scene has many of, get an index of their own. Each index costs
    # about as much as the row itself when a rebuild lands a million of them.
    op.create_index(
        "history_by_node",
        "history_events",
        ["generation", "scene", "node"],
        postgresql_where=sa.text("node IS NOT NULL"),
        sqlite_where=sa.text("node IS NOT NULL"),
    )
    op.create_table(
        "history_nodes",
        _generation(),
        _big("position"),
        _text("scene"),
        _text("branch"),
        _big("version"),
        _text("node"),
        sa.PrimaryKeyConstraint("generation", "scene", "branch", "version", "node"),
    )
    op.create_index("history_nodes_by_node", "history_nodes", ["generation", "scene", "node"])


def _create_lineage() -> None:
    op.create_table(
        "lineage_intents",
        _generation(),
        _big("position"),
        _text("intent_id"),
        _text("scene"),
        _text("branch"),
        _text("studio"),
        _text("actor"),
        _text("kind"),
        _text("summary"),
        _text("text", nullable=True),
        _big("recorded_at"),
        sa.PrimaryKeyConstraint("generation", "position"),
    )
    op.create_index("lineage_intents_by_id", "lineage_intents", ["generation", "intent_id"])
    op.create_table(
        "lineage_executions",
        _generation(),
        _big("position"),
        _text("execution"),
        _text("intent_id"),
        _text("goal"),
        _text("scene"),
        _text("branch"),
        _text("studio"),
        _text("actor"),
        sa.PrimaryKeyConstraint("generation", "position"),
    )
    op.create_index("lineage_executions_by_id", "lineage_executions", ["generation", "execution"])
    op.create_table(
        "lineage_tasks",
        _generation(),
        _big("position"),
        _text("task"),
        _text("execution"),
        _text("scene"),
        _text("branch"),
        _text("studio"),
        _text("operation"),
        _text("model"),
        _text("provider"),
        _text("lane"),
        _text("content_key"),
        _text("params"),
        _text("description"),
        _text("transform"),
        sa.PrimaryKeyConstraint("generation", "position"),
    )
    op.create_index("lineage_tasks_by_id", "lineage_tasks", ["generation", "task"])
    op.create_table(
        "lineage_inputs",
        _generation(),
        _big("position"),
        sa.Column("n", sa.Integer, nullable=False),
        _text("task"),
        _text("name"),
        _text("input_task", nullable=True),
        _text("input_artifact", nullable=True),
        _text("content_key"),
        sa.PrimaryKeyConstraint("generation", "position", "n"),
    )
    op.create_index("lineage_inputs_by_task", "lineage_inputs", ["generation", "task"])
    op.create_table(
        "lineage_outputs",
        _generation(),
        _big("position"),
        _text("artifact"),
        _text("task"),
        sa.Column("attempt", sa.Integer, nullable=False),
        _text("scene"),
        _text("branch"),
        _text("worker"),
        sa.Column("run_time", sa.Float, nullable=False),
        sa.Column("cost", sa.Float, nullable=False),
        _big("recorded_at"),
        sa.PrimaryKeyConstraint("generation", "position"),
    )
    op.create_index("lineage_outputs_by_artifact", "lineage_outputs", ["generation", "artifact"])
    op.create_index("lineage_outputs_by_task", "lineage_outputs", ["generation", "task"])
    op.create_table(
        "lineage_bindings",
        _generation(),
        _big("position"),
        _text("artifact"),
        _text("scene"),
        _text("branch"),
        _text("node"),
        _text("slot"),
        _text("task", nullable=True),
        _text("studio"),
        _text("actor"),
        _text("intent_id"),
        _text("transform"),
        _big("recorded_at"),
        sa.PrimaryKeyConstraint("generation", "position"),
    )
    op.create_index("lineage_bindings_by_artifact", "lineage_bindings", ["generation", "artifact"])


_TABLES = (
    "lineage_bindings",
    "lineage_outputs",
    "lineage_inputs",
    "lineage_tasks",
    "lineage_executions",
    "lineage_intents",
    "history_nodes",
    "history_events",
    "read_model_generations",
)


def downgrade() -> None:
    for table in _TABLES:
        op.drop_table(table)
