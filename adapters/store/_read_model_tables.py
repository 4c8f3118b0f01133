"""The projections' read-model tables as SQLAlchemy Core objects (DDL: migrations 0003
and 0007).

Every table but `read_model_generations` starts with the `generation` column: the
generation of its projection that wrote the row (see `adapters.store.read_models`).
They live in the event store's database, beside `events`.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Float, Integer, MetaData, Table, Text

metadata = MetaData()


def _generation() -> Column[int]:
    return Column("generation", Integer, primary_key=True)


def _text(name: str, nullable: bool = False) -> Column[str]:
    return Column(name, Text, nullable=nullable)


def _big(name: str, key: bool = False) -> Column[int]:
    return Column(name, BigInteger, nullable=False, primary_key=key)


generations = Table(
    "read_model_generations",
    metadata,
    Column("projection", Text, primary_key=True),
    Column("generation", Integer, primary_key=True),
    Column("version", Integer, nullable=False),
    _text("role"),
    _big("position"),
    _text("error", nullable=True),
)

history_events = Table(
    "history_events",
    metadata,
    _generation(),
    _big("position"),
    Column("scene", Text, primary_key=True),
    Column("branch", Text, primary_key=True),
    _big("version", key=True),
    _big("recorded_at"),
    _text("type"),
    _text("studio"),
    _text("actor"),
    _text("intent_id"),
    _text("execution_id"),
    _text("transform"),
    Column("transform_version", Integer, nullable=False),
    _text("node", nullable=True),
)

history_nodes = Table(
    "history_nodes",
    metadata,
    _generation(),
    _big("position"),
    Column("scene", Text, primary_key=True),
    Column("branch", Text, primary_key=True),
    _big("version", key=True),
    Column("node", Text, primary_key=True),
)

lineage_intents = Table(
    "lineage_intents",
    metadata,
    _generation(),
    _big("position", key=True),
    _text("intent_id"),
    _text("scene"),
    _text("branch"),
    _text("studio"),
    _text("actor"),
    _text("kind"),
    _text("summary"),
    _text("text", nullable=True),
    _big("recorded_at"),
)

lineage_executions = Table(
    "lineage_executions",
    metadata,
    _generation(),
    _big("position", key=True),
    _text("execution"),
    _text("intent_id"),
    _text("goal"),
    _text("scene"),
    _text("branch"),
    _text("studio"),
    _text("actor"),
)

lineage_tasks = Table(
    "lineage_tasks",
    metadata,
    _generation(),
    _big("position", key=True),
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
)

lineage_inputs = Table(
    "lineage_inputs",
    metadata,
    _generation(),
    _big("position", key=True),
    Column("n", Integer, primary_key=True),
    _text("task"),
    _text("name"),
    _text("input_task", nullable=True),
    _text("input_artifact", nullable=True),
    _text("content_key"),
)

lineage_outputs = Table(
    "lineage_outputs",
    metadata,
    _generation(),
    _big("position", key=True),
    _text("artifact"),
    _text("task"),
    Column("attempt", Integer, nullable=False),
    _text("scene"),
    _text("branch"),
    _text("worker"),
    Column("run_time", Float, nullable=False),
    Column("cost", Float, nullable=False),
    _big("recorded_at"),
)

lineage_bindings = Table(
    "lineage_bindings",
    metadata,
    _generation(),
    _big("position", key=True),
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
)

execution_events = Table(
    "execution_events",
    metadata,
    _generation(),
    _big("position", key=True),
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
    Column("transform_version", Integer, nullable=False),
    _text("execution", nullable=True),
    _text("task", nullable=True),
    _text("content_key", nullable=True),
    _text("goal", nullable=True),
    _text("cause", nullable=True),
)

# Tables that index the log: a query on one also reads each row's payload (its
# `schema_version` and `data`) from the event it names, by position, so the read
# model never stores the log a second time.
INDEXES_THE_LOG = frozenset({"history_events", "execution_events"})

# The tables projections write, by name; `generations` is the adapter's own.
READ_MODEL_TABLES: dict[str, Table] = {
    table.name: table
    for table in (
        history_events,
        history_nodes,
        lineage_intents,
        lineage_executions,
        lineage_tasks,
        lineage_inputs,
        lineage_outputs,
        lineage_bindings,
        execution_events,
    )
}
