"""The event store's tables as SQLAlchemy Core objects, shared by both adapters.

These describe the columns the adapters read and write; the DDL itself (indexes,
and the PostgreSQL sequencer function) is owned by
`migrations/versions/0001_event_store.py`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Dialect,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    Text,
    TypeDecorator,
)


class IsoTimestamp(TypeDecorator[datetime]):
    """A UTC timestamp kept as ISO 8601 text on SQLite.

    SQLAlchemy's SQLite DATETIME drops the UTC offset. Reading hands each value
    straight to `datetime.fromisoformat` (C code, no Python frame per row).
    """

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> str | None:
        return None if value is None else as_utc(value).isoformat()

    def result_processor(
        self, dialect: Dialect, coltype: object
    ) -> Callable[[Any], datetime | None]:
        return datetime.fromisoformat


def as_utc(value: datetime) -> datetime:
    """Aware UTC; a naive datetime is taken to be UTC already (the engine's clock is UTC)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


Timestamp = DateTime(timezone=True).with_variant(IsoTimestamp(), "sqlite")

metadata = MetaData()

# One row per event. `position` is the global order: assigned inside the write
# transaction on SQLite, by the sequencer after commit on PostgreSQL (NULL until then).
# `data` and `metadata` are the msgspec JSON as text, handed to msgspec undecoded.
events = Table(
    "events",
    metadata,
    Column("id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True),
    Column("position", BigInteger, nullable=True),
    Column("scene", Text, nullable=False),
    Column("branch", Text, nullable=False),
    Column("version", BigInteger, nullable=False),
    Column("event_id", Text, nullable=False),
    Column("type", Text, nullable=False),
    Column("schema_version", Integer, nullable=False),
    Column("data", Text, nullable=False),
    Column("metadata", Text, nullable=False),
    Column("studio", Text, nullable=False),
    Column("idempotency_key", Text, nullable=True),
    Column("recorded_at", Timestamp, nullable=False),
)

# One row per append made with an idempotency key: what a repeat of the key returns.
appends = Table(
    "appends",
    metadata,
    Column("idempotency_key", Text, primary_key=True),
    Column("scene", Text, nullable=False),
    Column("branch", Text, nullable=False),
    Column("first_version", BigInteger, nullable=False),
    Column("last_version", BigInteger, nullable=False),
    Column("first_position", BigInteger, nullable=True),
    Column("last_position", BigInteger, nullable=True),
)

# One row per stream (and studio of its events), written by the stream's first
# append, so listing scenes and branches never scans the log.
streams = Table(
    "streams",
    metadata,
    Column("scene", Text, primary_key=True),
    Column("branch", Text, primary_key=True),
    Column("studio", Text, primary_key=True),
)

# Every snapshot ever saved; loading takes the newest at or below a version.
snapshots = Table(
    "snapshots",
    metadata,
    Column("scene", Text, primary_key=True),
    Column("branch", Text, primary_key=True),
    Column("version", BigInteger, primary_key=True),
    Column("schema", Integer, nullable=False),
    Column("data", LargeBinary, nullable=False),
)

# Where each follower of the log (dispatcher, projection) has got to.
checkpoints = Table(
    "checkpoints",
    metadata,
    Column("name", Text, primary_key=True),
    Column("position", BigInteger, nullable=False),
)

# Content key -> the artifact a task made for it, per studio: the work cache that
# lets equal work be reused across scenes, runs and restarts.
work_cache = Table(
    "work_cache",
    metadata,
    Column("studio", Text, primary_key=True),
    Column("content_key", Text, primary_key=True),
    Column("artifact", Text, nullable=False),
    Column("task", Text, nullable=False),
)
