"""The embedded event store: one SQLite file through aiosqlite.

SQLite has one writer at a time, which makes the global position easy: each append
runs in a `BEGIN IMMEDIATE` transaction (the database write lock, taken up front so
two writers never deadlock upgrading a read lock), reads the highest position inside
it and numbers its events max+1, max+2, ... Commits happen in position order, so
the log is dense and a reader of "position > P" can never skip a late committer.
Inside one process an asyncio.Lock queues writers, so they wait on the loop rather
than in SQLite's sleeping busy handler; across processes `busy_timeout` does.
Subscribers poll, and are woken at once by appends made through the same store.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import URL, Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from adapters.store._base import (
    SqlEventStore,
    select_append,
    select_head_position,
    select_head_version,
)
from adapters.store._rows import DEFAULT_MAX_EVENT_BYTES, EncodedEvent, encode_events
from adapters.store._tables import appends, streams
from adapters.store._tables import events as events_table
from engine.errors import ConcurrencyConflict, StoreError
from engine.events import NewEvent
from engine.ports import AppendResult, StreamId

BUSY_TIMEOUT_MS = 10_000

_PRAGMAS = (
    # First, so that even switching a new file to WAL waits for other connections.
    f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}",
    # Readers never block the writer, nor the writer readers.
    "PRAGMA journal_mode=WAL",
    # WAL with synchronous=NORMAL may lose the last commits on power loss; an
    # acknowledged append must survive, so every commit syncs the WAL.
    "PRAGMA synchronous=FULL",
)


def create_sqlite_engine(url: URL) -> AsyncEngine:
    """An engine whose connections begin a transaction only when asked to.

    Plain reads run in autocommit (each statement is its own consistent snapshot);
    a connection with the execution option `sqlite_begin="IMMEDIATE"` (or
    "DEFERRED") starts a real transaction, which pysqlite would otherwise begin
    lazily and DEFERRED, or not at all before DDL.
    """
    engine = create_async_engine(url)

    @event.listens_for(engine.sync_engine, "connect")
    def _configure(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in _PRAGMAS:
            cursor.execute(pragma)
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get("sqlite_begin")
        if mode is not None:
            conn.exec_driver_sql(f"BEGIN {mode}")

    return engine


class SqliteEventStore(SqlEventStore):
    """`engine.ports.EventStore` on one SQLite file; positions are known at append."""

    def __init__(
        self,
        url: URL,
        *,
        max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES,
        poll_interval: float = 0.05,
    ) -> None:
        super().__init__(
            create_sqlite_engine(url), max_event_bytes=max_event_bytes, poll_interval=poll_interval
        )
        self._write_lock = asyncio.Lock()

    @asynccontextmanager
    async def _writing(self) -> AsyncIterator[AsyncConnection]:
        async with self._write_lock, self._engine.connect() as conn:
            await conn.execution_options(sqlite_begin="IMMEDIATE")
            async with conn.begin():
                yield conn

    async def append(
        self,
        stream: StreamId,
        events: Sequence[NewEvent],
        expected_version: int,
        idempotency_key: str | None = None,
    ) -> AppendResult:
        rows = encode_events(events, self._max_event_bytes)
        try:
            async with self._writing() as conn:
                if idempotency_key is not None:
                    earlier = await select_append(conn, idempotency_key)
                    if earlier is not None:
                        return earlier
                head = await select_head_version(conn, stream)
                if head != expected_version:
                    raise ConcurrencyConflict(str(stream), expected_version, head)
                result = await _insert(conn, stream, rows, expected_version, idempotency_key)
        except IntegrityError as exc:
            # Only an event id stored before gets here: versions and keys are
            # checked above while holding the write lock.
            raise StoreError(f"append to {stream} refused: {exc.orig}") from exc
        self._wakeups.wake_all()
        return result


async def _insert(
    conn: AsyncConnection,
    stream: StreamId,
    rows: list[EncodedEvent],
    expected_version: int,
    idempotency_key: str | None,
) -> AppendResult:
    """Number the events after the highest position (we hold the write lock) and insert."""
    top = await select_head_position(conn)
    await conn.execute(
        events_table.insert(),
        [
            {
                "position": top + n,
                "scene": stream.scene,
                "branch": stream.branch,
                "version": expected_version + n,
                "event_id": row.event_id,
                "type": row.type,
                "schema_version": row.schema_version,
                "data": row.data,
                "metadata": row.metadata,
                "studio": row.studio,
                "idempotency_key": idempotency_key,
                "recorded_at": row.recorded_at,
            }
            for n, row in enumerate(rows, start=1)
        ],
    )
    result = AppendResult(
        scene=stream.scene,
        branch=stream.branch,
        first_version=expected_version + 1,
        last_version=expected_version + len(rows),
        first_position=top + 1,
        last_position=top + len(rows),
    )
    await _record(conn, result, idempotency_key, {row.studio for row in rows})
    return result


async def _record(
    conn: AsyncConnection, result: AppendResult, idempotency_key: str | None, studios: set[str]
) -> None:
    """Write what a repeat of the key returns, and the stream's row on its first append."""
    if idempotency_key is not None:
        await conn.execute(
            appends.insert().values(
                idempotency_key=idempotency_key,
                scene=result.scene,
                branch=result.branch,
                first_version=result.first_version,
                last_version=result.last_version,
                first_position=result.first_position,
                last_position=result.last_position,
            )
        )
    if result.first_version == 1:
        await conn.execute(
            sqlite.insert(streams)
            .values(
                [
                    {"scene": result.scene, "branch": result.branch, "studio": studio}
                    for studio in sorted(studios)
                ]
            )
            .on_conflict_do_nothing()
        )
