"""Raw baselines for `bench.store`: the same rows written and read with plain asyncpg and
sqlite3, with no engine, no SQLAlchemy and no adapter in between.

Writes go to tables made by the store's own migration (in another PostgreSQL schema,
or another SQLite file), so columns, unique constraints and indexes are identical by
construction. A raw row is written finished, its position taken at insert time (a
sequence on PostgreSQL, a counter on SQLite): the cheapest row a store could write.
Reads fetch the engine's own rows in the same pages the store reads and decode them
with msgspec directly, then fold them with the engine's reducers like the engine does.
"""

from __future__ import annotations

import asyncio
import itertools
import sqlite3
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import msgspec
from sqlalchemy.engine import make_url

from adapters.store import migrate, open_store
from adapters.store.sqlite import _PRAGMAS as SQLITE_PRAGMAS  # the store's, not a copy
from engine.events import AnyEvent, EventMetadata, NewEvent, RecordedEvent
from engine.ports import EventStore
from engine.reducers import apply
from engine.scene import SceneState

# The events of a writer's next append, given how many.
NextBatch = Callable[[int], list[NewEvent]]
Row = tuple[Any, ...]

READ_ALL_PAGE = 1000  # subscribe()'s default batch
STREAM_PAGE = 5000  # the store's read_stream page (adapters.store._base)

_encode = msgspec.json.encode
_payloads = msgspec.json.Decoder(AnyEvent)
_metadatas = msgspec.json.Decoder(EventMetadata)

_COLUMNS = (
    "position, scene, branch, version, event_id, type, schema_version, data, metadata, "
    "studio, recorded_at"
)
_READ_COLUMNS = (
    "event_id, scene, branch, version, position, recorded_at, metadata, type, schema_version, data"
)

PG_SEQUENCE = "CREATE SEQUENCE raw_positions"
_PG_INSERT_ONE = (
    f"INSERT INTO events ({_COLUMNS}) "
    "VALUES (nextval('raw_positions'), $1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
)
_PG_INSERT_MANY = f"""
INSERT INTO events ({_COLUMNS})
SELECT nextval('raw_positions'), $1, $2, $3 + e.n, e.event_id, e.type, e.schema_version,
       e.data, e.metadata, e.studio, e.recorded_at
FROM unnest($4::text[], $5::text[], $6::integer[], $7::text[], $8::text[], $9::text[],
            $10::timestamptz[])
     WITH ORDINALITY AS e(event_id, type, schema_version, data, metadata, studio,
                          recorded_at, n)
"""
_PG_READ_STREAM = (
    f"SELECT {_READ_COLUMNS} FROM events WHERE scene = $1 AND branch = $2 AND version > $3 "
    "ORDER BY version LIMIT $4"
)
_PG_READ_ALL = f"SELECT {_READ_COLUMNS} FROM events WHERE position > $1 ORDER BY position LIMIT $2"

_SQLITE_INSERT = f"INSERT INTO events ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
_SQLITE_READ_STREAM = (
    f"SELECT {_READ_COLUMNS} FROM events WHERE scene = ? AND branch = ? AND version > ? "
    "ORDER BY version LIMIT ?"
)
_SQLITE_READ_ALL = (
    f"SELECT {_READ_COLUMNS} FROM events WHERE position > ? ORDER BY position LIMIT ?"
)


def encode_row(scene: str, version: int, event: NewEvent) -> Row:
    """The columns after `position`, as a plain application would encode them."""
    payload = event.payload
    return (
        scene,
        "main",
        version,
        event.event_id,
        type(payload).__name__,
        1,
        _encode(payload).decode(),
        _encode(event.metadata).decode(),
        event.metadata.studio,
        event.recorded_at.astimezone(UTC),
    )


# --- PostgreSQL -------------------------------------------------------------------------


async def pg_connect(dsn: str, schema: str) -> asyncpg.Connection:
    # The same session settings as the store's connections.
    settings = {"search_path": schema, "jit": "off", "application_name": "scenestate-bench"}
    return await asyncpg.connect(dsn, server_settings=settings)


async def pg_append_rate(
    conns: Sequence[asyncpg.Connection], seconds: float, batch: int, next_batch: NextBatch, tag: str
) -> float:
    """Events/s with one writer per connection, each on its own scene, until `seconds`."""

    async def writer(index: int, conn: asyncpg.Connection) -> int:
        scene, version = f"{tag}-{index}", 0
        while time.perf_counter() < deadline:
            events = next_batch(batch)
            if batch == 1:
                await conn.execute(_PG_INSERT_ONE, *encode_row(scene, version + 1, events[0]))
            else:
                await conn.execute(_PG_INSERT_MANY, scene, "main", version, *_columns(events))
            version += len(events)
        return version

    start = time.perf_counter()
    deadline = start + seconds
    written = await asyncio.gather(*(writer(i, c) for i, c in enumerate(conns)))
    return sum(written) / (time.perf_counter() - start)


async def pg_short_streams_time(
    conns: Sequence[asyncpg.Connection],
    streams: range,
    events_per_stream: int,
    next_batch: NextBatch,
    tag: str,
) -> float:
    """Seconds to write `streams` (numbers) of `events_per_stream` one-event appends
    each, dealt out to one writer per connection, each stream's events in a row."""

    async def writer(index: int, conn: asyncpg.Connection) -> None:
        for stream in streams[index :: len(conns)]:
            scene = f"{tag}-{stream}"
            for version in range(1, events_per_stream + 1):
                row = encode_row(scene, version, next_batch(1)[0])
                await conn.execute(_PG_INSERT_ONE, *row)

    start = time.perf_counter()
    await asyncio.gather(*(writer(i, c) for i, c in enumerate(conns)))
    return time.perf_counter() - start


def _columns(events: list[NewEvent]) -> list[list[Any]]:
    rows = [encode_row("", 0, e)[3:] for e in events]
    return [list(column) for column in zip(*rows, strict=True)]


async def pg_read_fold(
    conn: asyncpg.Connection, scene: str, after: int, count: int, *, by_position: bool, page: int
) -> SceneState:
    """Fold `count` events of `scene` read by version, or by position, after `after`."""
    state = SceneState(scene=scene)
    while count > 0:
        limit = min(page, count)
        if by_position:
            rows = await conn.fetch(_PG_READ_ALL, after, limit)
        else:
            rows = await conn.fetch(_PG_READ_STREAM, scene, "main", after, limit)
        state = fold_rows(state, rows)
        count -= len(rows)
        if len(rows) < limit:
            break
        after = rows[-1][4 if by_position else 3]
    return state


# --- SQLite -----------------------------------------------------------------------------


def sqlite_connect(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    for pragma in SQLITE_PRAGMAS:
        conn.execute(pragma)
    return conn


def sqlite_append_rate(
    path: str, writers: int, seconds: float, batch: int, next_batch: NextBatch, tag: str
) -> float:
    """Events/s with `writers` threads, each with its own connection and scene; every
    append is one BEGIN IMMEDIATE transaction, as in the store."""
    conns = [sqlite_connect(path) for _ in range(writers)]
    top = conns[0].execute("SELECT coalesce(max(position), 0) FROM events").fetchone()[0]
    positions = itertools.count(top + 1)  # next() is atomic under the GIL
    ready = threading.Barrier(writers + 1)
    written = [0] * writers
    deadline = 0.0

    def writer(index: int) -> None:
        conn, scene, version = conns[index], f"{tag}-{index}", 0
        ready.wait()
        while time.perf_counter() < deadline:
            rows = [
                (next(positions), *encode_row(scene, version + n, event))
                for n, event in enumerate(next_batch(batch), start=1)
            ]
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(_SQLITE_INSERT, [_sqlite_row(r) for r in rows])
            conn.execute("COMMIT")
            version += len(rows)
        written[index] = version

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(writers)]
    for thread in threads:
        thread.start()
    start = time.perf_counter()
    deadline = start + seconds
    ready.wait()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    for conn in conns:
        conn.close()
    return sum(written) / elapsed


def sqlite_short_streams_time(
    path: str, streams: range, events_per_stream: int, next_batch: NextBatch, tag: str
) -> float:
    """Seconds for one writer to write `streams` (numbers) of `events_per_stream`
    one-event appends each, every append its own BEGIN IMMEDIATE transaction."""
    conn = sqlite_connect(path)
    top = conn.execute("SELECT coalesce(max(position), 0) FROM events").fetchone()[0]
    start = time.perf_counter()
    for stream in streams:
        scene = f"{tag}-{stream}"
        for version in range(1, events_per_stream + 1):
            top += 1
            row = (top, *encode_row(scene, version, next_batch(1)[0]))
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(_SQLITE_INSERT, _sqlite_row(row))
            conn.execute("COMMIT")
    elapsed = time.perf_counter() - start
    conn.close()
    return elapsed


def _sqlite_row(row: Row) -> Row:
    # ISO 8601 text, as the store keeps timestamps on SQLite
    return (*row[:-1], row[-1].isoformat())


def sqlite_read_fold(
    conn: sqlite3.Connection, scene: str, after: int, count: int, *, by_position: bool, page: int
) -> SceneState:
    """Fold `count` events of `scene` read by version, or by position, after `after`."""
    state = SceneState(scene=scene)
    while count > 0:
        limit = min(page, count)
        if by_position:
            rows = conn.execute(_SQLITE_READ_ALL, (after, limit)).fetchall()
        else:
            rows = conn.execute(_SQLITE_READ_STREAM, (scene, "main", after, limit)).fetchall()
        state = fold_rows(state, ((*r[:5], datetime.fromisoformat(r[5]), *r[6:]) for r in rows))
        count -= len(rows)
        if len(rows) < limit:
            break
        after = rows[-1][4 if by_position else 3]
    return state


# --- decoding ---------------------------------------------------------------------------


def fold_rows(state: SceneState, rows: Iterable[Sequence[Any]]) -> SceneState:
    """Decode rows in `_READ_COLUMNS` order with msgspec and apply each event."""
    metadata_json: object = None
    metadata: EventMetadata | None = None
    for event_id, scene, branch, version, position, recorded_at, meta, _, _, data in rows:
        if meta != metadata_json:
            metadata, metadata_json = _metadatas.decode(meta), meta
        assert metadata is not None
        event = RecordedEvent(
            event_id,
            scene,
            branch,
            version,
            position,
            recorded_at,
            metadata,
            _payloads.decode(data),
        )
        state = apply(state, event)
    return state


# --- the databases ----------------------------------------------------------------------

RawAppend = Callable[[int, float, int, NextBatch, str], Awaitable[float]]
RawRead = Callable[[str, int, int, bool], Awaitable[SceneState]]
# (writers, stream numbers, events per stream, next_batch, tag) -> seconds
RawShortStreams = Callable[[int, range, int, NextBatch, str], Awaitable[float]]


@dataclass
class Backend:
    """One database: the engine's store on it, and the raw side of every baseline."""

    name: str
    store: EventStore
    raw_append: RawAppend  # (writers, seconds, batch, next_batch, tag) -> events/s
    raw_read: RawRead  # (scene, after, count, by_position) -> folded state
    raw_short_streams: RawShortStreams
    # Wait until every appended event has its position (PostgreSQL's sequencer).
    settle: Callable[[], Awaitable[None]]
    # After bulk writes: what autovacuum would have done by the time anyone reads.
    steady: Callable[[], Awaitable[None]]


async def _nothing() -> None:
    return None


@asynccontextmanager
async def sqlite_backend(directory: Path) -> AsyncIterator[Backend]:
    engine_file, raw_file = str(directory / "store.db"), str(directory / "raw.db")
    await migrate(f"sqlite+aiosqlite:///{engine_file}")
    await migrate(f"sqlite+aiosqlite:///{raw_file}")  # the same DDL, by construction
    store = open_store(f"sqlite+aiosqlite:///{engine_file}")
    reader = sqlite_connect(engine_file)

    async def raw_append(
        writers: int, seconds: float, batch: int, next_batch: NextBatch, tag: str
    ) -> float:
        return await asyncio.to_thread(
            sqlite_append_rate, raw_file, writers, seconds, batch, next_batch, tag
        )

    async def raw_read(scene: str, after: int, count: int, by_position: bool) -> SceneState:
        page = READ_ALL_PAGE if by_position else STREAM_PAGE
        return await asyncio.to_thread(
            sqlite_read_fold, reader, scene, after, count, by_position=by_position, page=page
        )

    async def raw_short_streams(
        writers: int, streams: range, events: int, next_batch: NextBatch, tag: str
    ) -> float:
        if writers != 1:
            raise ValueError("the SQLite short-streams baseline has one writer")
        return await asyncio.to_thread(
            sqlite_short_streams_time, raw_file, streams, events, next_batch, tag
        )

    try:
        yield Backend("sqlite", store, raw_append, raw_read, raw_short_streams, _nothing, _nothing)
    finally:
        reader.close()
        await store.close()


@asynccontextmanager
async def postgres_backend(url: str) -> AsyncIterator[Backend]:
    """The store in a fresh schema, the raw tables in another; both dropped on exit."""
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    suffix = uuid.uuid4().hex[:8]
    schema, raw_schema = f"bench_store_{suffix}", f"bench_raw_{suffix}"
    conns: list[asyncpg.Connection] = []
    store: EventStore | None = None
    try:
        await migrate(url, schema=schema)
        await migrate(url, schema=raw_schema)  # the same DDL, by construction
        store = open_store(url, schema=schema)
        reader = await pg_connect(dsn, schema)
        conns.append(reader)
        writers = [await pg_connect(dsn, raw_schema) for _ in range(16)]
        conns += writers
        await writers[0].execute(PG_SEQUENCE)
        yield _postgres(store, reader, writers)
    finally:
        for conn in conns:
            await conn.close()
        if store is not None:
            await store.close()
        admin = await asyncpg.connect(dsn)
        try:
            for name in (schema, raw_schema):
                await admin.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")
        finally:
            await admin.close()


def _postgres(
    store: EventStore, reader: asyncpg.Connection, writers: list[asyncpg.Connection]
) -> Backend:
    async def raw_append(
        count: int, seconds: float, batch: int, next_batch: NextBatch, tag: str
    ) -> float:
        return await pg_append_rate(writers[:count], seconds, batch, next_batch, tag)

    async def raw_read(scene: str, after: int, count: int, by_position: bool) -> SceneState:
        page = READ_ALL_PAGE if by_position else STREAM_PAGE
        return await pg_read_fold(reader, scene, after, count, by_position=by_position, page=page)

    async def raw_short_streams(
        count: int, streams: range, events: int, next_batch: NextBatch, tag: str
    ) -> float:
        return await pg_short_streams_time(writers[:count], streams, events, next_batch, tag)

    async def settle() -> None:
        while True:
            await store.head_position()  # runs a sequencing pass, as every reader does
            if not await reader.fetchval(
                "SELECT EXISTS (SELECT FROM events WHERE position IS NULL)"
            ):
                return
            await asyncio.sleep(0.005)

    async def steady() -> None:
        await reader.execute("VACUUM ANALYZE events")

    return Backend("postgresql", store, raw_append, raw_read, raw_short_streams, settle, steady)
