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
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import asyncpg
import msgspec

from adapters.store.sqlite import _PRAGMAS as SQLITE_PRAGMAS  # the store's, not a copy
from engine.events import AnyEvent, EventMetadata, NewEvent, RecordedEvent
from engine.reducers import apply
from engine.scene import SceneState

# (scene, version, event) for a writer's next append; writers call it for each batch.
NextBatch = Callable[[int], list[NewEvent]]
Row = tuple[Any, ...]

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


def _columns(events: list[NewEvent]) -> list[list[Any]]:
    rows = [encode_row("", 0, e)[3:] for e in events]
    return [list(column) for column in zip(*rows, strict=True)]


async def pg_read_fold(
    conn: asyncpg.Connection, scene: str, *, by_position: int | None, page: int
) -> SceneState:
    """Fold `scene` read by version (by_position None) or by position after `by_position`."""
    state = SceneState(scene=scene)
    after = 0 if by_position is None else by_position
    while True:
        if by_position is None:
            rows = await conn.fetch(_PG_READ_STREAM, scene, "main", after, page)
        else:
            rows = await conn.fetch(_PG_READ_ALL, after, page)
        state = fold_rows(state, rows)
        if len(rows) < page:
            return state
        after = rows[-1][3] if by_position is None else rows[-1][4]


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


def _sqlite_row(row: Row) -> Row:
    # ISO 8601 text, as the store keeps timestamps on SQLite
    return (*row[:-1], row[-1].isoformat())


def sqlite_read_fold(
    conn: sqlite3.Connection, scene: str, *, by_position: int | None, page: int
) -> SceneState:
    state = SceneState(scene=scene)
    after = 0 if by_position is None else by_position
    while True:
        if by_position is None:
            rows = conn.execute(_SQLITE_READ_STREAM, (scene, "main", after, page)).fetchall()
        else:
            rows = conn.execute(_SQLITE_READ_ALL, (after, page)).fetchall()
        state = fold_rows(state, ((*r[:5], datetime.fromisoformat(r[5]), *r[6:]) for r in rows))
        if len(rows) < page:
            return state
        after = rows[-1][3] if by_position is None else rows[-1][4]


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
