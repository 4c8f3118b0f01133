"""What both SQL event stores share: every read (through SQLAlchemy Core), scene
listing and the subscription loop. The adapters add every write (`append`,
snapshots, checkpoints, the work cache), where the two databases differ most, and
(PostgreSQL) the sequencing pass before global reads."""

from __future__ import annotations

import asyncio
import contextlib
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Collection, Mapping, Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from adapters.store._failures import translates_failures
from adapters.store._rows import APPEND_COLUMNS, EVENT_COLUMNS, append_result, decode_rows
from adapters.store._tables import appends, checkpoints, events, snapshots, streams, work_cache
from adapters.store._wakeups import Wakeups
from adapters.store.following import follow_in_batches, landed_positions
from engine.events import NewEvent, RecordedEvent
from engine.planning import CachedWork
from engine.ports import AppendResult, StoredSnapshot, StreamId

# Rows per query when reading a stream: big enough that round trips do not matter,
# small enough that one query never holds a whole long stream in driver buffers.
STREAM_READ_BATCH = 5000


async def select_append(conn: AsyncConnection, idempotency_key: str) -> AppendResult | None:
    query = select(*APPEND_COLUMNS).where(appends.c.idempotency_key == idempotency_key)
    row = (await conn.execute(query)).first()
    return None if row is None else append_result(row, duplicate=True)


async def select_head_version(conn: AsyncConnection, stream: StreamId) -> int:
    query = select(func.coalesce(func.max(events.c.version), 0)).where(
        events.c.scene == stream.scene, events.c.branch == stream.branch
    )
    return int((await conn.execute(query)).scalar_one())


async def select_head_position(conn: AsyncConnection) -> int:
    query = select(func.coalesce(func.max(events.c.position), 0))
    return int((await conn.execute(query)).scalar_one())


class SqlEventStore(ABC):
    """The shared half of `engine.ports.EventStore` over SQLAlchemy Core. Every store
    built on it raises `engine.errors.Unavailable` for a failing database."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        translates_failures()(cls)

    def __init__(
        self, database: AsyncEngine, *, max_event_bytes: int, poll_interval: float
    ) -> None:
        if max_event_bytes < 1:
            raise ValueError("max_event_bytes must be positive")
        self._database = database
        self._max_event_bytes = max_event_bytes
        self._poll_interval = poll_interval
        self._wakeups = Wakeups()

    @abstractmethod
    async def append(
        self,
        stream: StreamId,
        events: Sequence[NewEvent],
        expected_version: int,
        idempotency_key: str | None = None,
    ) -> AppendResult: ...

    @abstractmethod
    async def save_snapshot(self, snapshot: StoredSnapshot) -> None:
        """Store a snapshot; saving one version again (a newer schema) replaces it."""

    @abstractmethod
    async def prune_snapshots(self, stream: StreamId, keep: int) -> None:
        """Delete all but the newest `keep` snapshots of a stream."""

    @abstractmethod
    async def save_checkpoint(self, name: str, position: int) -> None:
        """Record the position a follower of the log named `name` has processed."""

    @abstractmethod
    async def remember_work(self, studio: str, works: Mapping[str, CachedWork]) -> None:
        """Remember the artifacts made for content keys; the first one recorded stays."""

    async def _before_global_read(self) -> None:  # noqa: B027 (a hook, empty on SQLite)
        """Make recently committed events readable by position (PostgreSQL sequences)."""

    async def _read_news(self, after_position: int, limit: int, woken: bool) -> list[RecordedEvent]:
        """A subscriber's read: `read_all`, or less where a wake-up (`woken`) already
        means that what it announced is readable (PostgreSQL)."""
        return await self.read_all(after_position, limit)

    async def _listen(self) -> None:  # noqa: B027 (a hook, empty on SQLite)
        """Make sure wake-ups from other processes reach this store's subscribers."""

    async def find_append(self, idempotency_key: str) -> AppendResult | None:
        async with self._database.connect() as conn:
            return await select_append(conn, idempotency_key)

    async def head_version(self, stream: StreamId) -> int:
        async with self._database.connect() as conn:
            return await select_head_version(conn, stream)

    async def read_stream(
        self, stream: StreamId, after_version: int = 0, up_to_version: int | None = None
    ) -> list[RecordedEvent]:
        query = (
            select(*EVENT_COLUMNS)
            .where(events.c.scene == stream.scene, events.c.branch == stream.branch)
            .order_by(events.c.version)
            .limit(STREAM_READ_BATCH)
        )
        if up_to_version is not None:
            query = query.where(events.c.version <= up_to_version)
        found: list[RecordedEvent] = []
        async with self._database.connect() as conn:
            while True:
                rows = (await conn.execute(query.where(events.c.version > after_version))).all()
                found.extend(decode_rows(rows))
                if len(rows) < STREAM_READ_BATCH:
                    return found
                after_version = rows[-1][3]

    async def head_position(self) -> int:
        await self._before_global_read()
        async with self._database.connect() as conn:
            return await select_head_position(conn)

    async def read_all(self, after_position: int, limit: int = 1000) -> list[RecordedEvent]:
        if limit < 1:
            raise ValueError("limit must be positive")
        await self._before_global_read()
        query = (
            select(*EVENT_COLUMNS)
            .where(events.c.position > after_position)
            .order_by(events.c.position)
            .limit(limit)
        )
        async with self._database.connect() as conn:
            return decode_rows((await conn.execute(query)).all())

    async def subscribe(
        self, after_position: int, batch_size: int = 1000
    ) -> AsyncIterator[RecordedEvent]:
        """Every event after `after_position`, in order, forever: catch up, then follow."""
        position = after_position
        with self._wakeups.register() as woken:
            while True:
                await self._listen()
                # Cleared before reading: news that arrives during the read re-runs it.
                news = woken.is_set()
                woken.clear()
                batch = await self._read_news(position, batch_size, news)
                for event in batch:
                    yield event
                if batch:
                    last = batch[-1].position
                    assert last is not None  # read_all only returns sequenced events
                    position = last
                if len(batch) < batch_size:
                    # Not asyncio.wait_for: on Python 3.11 it swallows a cancellation
                    # that arrives just as the wait ends, and the subscription then
                    # never stops.
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(self._poll_interval):
                            await woken.wait()

    async def follow(
        self, after_position: int, batch_size: int = 1000
    ) -> AsyncIterator[list[RecordedEvent]]:
        async for batch in follow_in_batches(self, after_position, batch_size):
            yield batch

    async def positions_of(
        self, stream: StreamId, first_version: int, last_version: int
    ) -> tuple[int, int]:
        return await landed_positions(self, stream, first_version, last_version)

    async def load_snapshot(
        self, stream: StreamId, up_to_version: int | None = None
    ) -> StoredSnapshot | None:
        query = (
            select(snapshots.c.version, snapshots.c.schema, snapshots.c.data)
            .where(snapshots.c.scene == stream.scene, snapshots.c.branch == stream.branch)
            .order_by(snapshots.c.version.desc())
            .limit(1)
        )
        if up_to_version is not None:
            query = query.where(snapshots.c.version <= up_to_version)
        async with self._database.connect() as conn:
            row = (await conn.execute(query)).first()
        if row is None:
            return None
        version, schema, data = row
        return StoredSnapshot(stream.scene, stream.branch, version, schema, bytes(data))

    async def list_scenes(self, studio: str | None = None) -> list[str]:
        query = select(streams.c.scene).distinct().order_by(streams.c.scene)
        if studio is not None:
            query = query.where(streams.c.studio == studio)
        async with self._database.connect() as conn:
            return list((await conn.execute(query)).scalars())

    async def load_checkpoint(self, name: str) -> int:
        """The position a follower of the log named `name` has processed (0: none)."""
        query = select(checkpoints.c.position).where(checkpoints.c.name == name)
        async with self._database.connect() as conn:
            position = (await conn.execute(query)).scalar()
        return 0 if position is None else int(position)

    async def find_work(self, studio: str, keys: Collection[str]) -> dict[str, CachedWork]:
        if not keys:
            return {}
        query = select(work_cache.c.content_key, work_cache.c.artifact, work_cache.c.task).where(
            work_cache.c.studio == studio, work_cache.c.content_key.in_(list(keys))
        )
        async with self._database.connect() as conn:
            rows = (await conn.execute(query)).all()
        return {key: CachedWork(artifact, task) for key, artifact, task in rows}

    async def list_branches(self, scene: str) -> list[str]:
        query = (
            select(streams.c.branch)
            .distinct()
            .where(streams.c.scene == scene)
            .order_by(streams.c.branch)
        )
        async with self._database.connect() as conn:
            return list((await conn.execute(query)).scalars())

    async def close(self) -> None:
        await self._database.dispose()
