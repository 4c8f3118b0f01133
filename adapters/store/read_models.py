"""The projections' read models (`projections.ports.ReadModelStore`) on SQLite or PostgreSQL.

    open_read_models(url, schema=None) -> SqlReadModels   same URLs as `open_store`;
                                        beside=store: on SQLite, commit through the
                                        event store's writer when it is the same file

Exactly once: `commit` moves a generation's checkpoint and writes the batch's rows
in one transaction, the checkpoint first, as a compare-and-set on (projection,
generation, position, role). When another runner moved the checkpoint, or a
rebuild retired the generation, the update finds no row and nothing is written.
A process that dies mid-batch loses the whole transaction, so its successor
starts again from the last committed checkpoint: no event is lost or folded twice.

Commits are the hot path (a rebuild lands millions of rows), so they skip
SQLAlchemy: SQLite through the stdlib writer thread (`_read_model_sqlite`),
PostgreSQL through asyncpg's COPY (`_read_model_postgres`). Queries, generations
and drops go through SQLAlchemy Core here, shared by both.
"""

from __future__ import annotations

from adapters.store._read_model_base import SqlReadModels
from adapters.store._read_model_postgres import COMMITTERS, QUERIERS, PostgresReadModels
from adapters.store._read_model_sqlite import SqliteReadModels
from adapters.store._url import parse_store_url
from adapters.store.sqlite import SqliteEventStore
from engine.ports import EventStore

__all__ = ["PostgresReadModels", "SqlReadModels", "SqliteReadModels", "open_read_models"]


def open_read_models(
    url: str,
    *,
    schema: str | None = None,
    pool_size: int = QUERIERS,
    committers: int = COMMITTERS,
    beside: EventStore | None = None,
) -> SqlReadModels:
    """Read models in the database at `url` (migrated to 0003 or later); on PostgreSQL
    with at most `pool_size` connections for queries and `committers` for commits.
    `beside`: the process's event store; on SQLite, when it is the same file, commits
    go through its writer thread (close the read models before the store)."""
    backend, parsed = parse_store_url(url)
    if backend == "sqlite":
        if schema is not None:
            raise ValueError("schema is a PostgreSQL option; SQLite has one schema per file")
        writer = beside.writer_of(parsed) if isinstance(beside, SqliteEventStore) else None
        return SqliteReadModels(parsed, writer)
    return PostgresReadModels(parsed, schema, pool_size=pool_size, committers=committers)
