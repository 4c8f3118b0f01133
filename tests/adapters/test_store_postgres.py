"""The event store contract on PostgreSQL (one schema per test), and the cases only
PostgreSQL has: transactions that commit late or not at all, and sequencing that
goes on after the writer is gone."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from adapters.store import migrate, open_store
from engine.errors import ConcurrencyConflict
from engine.events import RecordedEvent
from engine.ports import EventStore, StreamId
from tests.adapters.store_contract import (
    METADATA_JSON,
    StoreBackend,
    StoreContract,
    eventually,
    nodes,
    settled,
)

pytestmark = pytest.mark.postgres

_INSERT_EVENT = (
    "INSERT INTO events (scene, branch, version, event_id, type, schema_version, data, "
    "metadata, studio, recorded_at) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'studio-a', '2024-05-01T12:00:00Z')"
)


class PostgresBackend(StoreBackend):
    def __init__(self, url: str, schema: str) -> None:
        self.url = url
        self.schema = schema

    def open(self, **options: Any) -> EventStore:
        return open_store(self.url, schema=self.schema, **options)

    async def connect(self) -> asyncpg.Connection:
        """A raw connection to the test's schema, outside any store."""
        return await asyncpg.connect(
            **make_url(self.url).translate_connect_args(username="user"),
            server_settings={"search_path": self.schema},
        )

    async def insert_raw_event(
        self, stream: StreamId, version: int, event_type: str, schema_version: int, data: str
    ) -> None:
        conn = await self.connect()
        try:
            await insert_event(conn, stream, version, event_type, schema_version, data)
        finally:
            await conn.close()

    async def insert_raw_snapshot(self, stream: StreamId, version: int, data: bytes) -> None:
        conn = await self.connect()
        try:
            await conn.execute(
                "INSERT INTO snapshots (scene, branch, version, schema, data) "
                "VALUES ($1, $2, $3, 1, $4)",
                stream.scene,
                stream.branch,
                version,
                data,
            )
        finally:
            await conn.close()


async def insert_event(
    conn: asyncpg.Connection,
    stream: StreamId,
    version: int,
    event_type: str = "NodeAdded",
    schema_version: int = 2,
    data: str = '{"type":"NodeAdded","node":"raw","kind":"shot","parent":"root","order":"a0"}',
) -> str:
    event_id = f"planted-{stream}-{version}"
    await conn.execute(
        _INSERT_EVENT,
        stream.scene,
        stream.branch,
        version,
        event_id,
        event_type,
        schema_version,
        data,
        METADATA_JSON,
    )
    return event_id


@pytest.fixture
async def backend(postgres_url: str, postgres_schema: str) -> AsyncIterator[PostgresBackend]:
    await migrate(postgres_url, schema=postgres_schema)
    yield PostgresBackend(postgres_url, postgres_schema)


class TestPostgresStore(StoreContract):
    pass


async def test_a_late_committer_is_not_skipped(backend: PostgresBackend) -> None:
    """The classic skip: a transaction inserts first and commits last, while a later
    one commits in between and a subscriber is following the log. The subscriber
    must still get both events, exactly once, at positions 1 and 2."""
    store = backend.open(poll_interval=0.01)
    late = await backend.connect()
    arrived: list[RecordedEvent] = []

    async def follow() -> None:
        async for event in store.subscribe(0):
            arrived.append(event)

    async def both_arrived() -> bool:
        return len(arrived) >= 2

    follower = asyncio.create_task(follow())
    try:
        transaction = late.transaction()
        await transaction.start()
        late_id = await insert_event(late, StreamId("slow"), 1)
        [early] = nodes(1)
        await store.append(StreamId("quick"), [early], expected_version=0)
        await asyncio.sleep(0.3)  # the follower reads meanwhile
        await transaction.commit()
        await settled(store, 2)
        await eventually(both_arrived)
        await asyncio.sleep(0.1)  # room for a duplicate to show up
        assert sorted(e.event_id for e in arrived) == sorted([late_id, early.event_id])
        assert [e.position for e in arrived] == [1, 2]
    finally:
        follower.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await follower
        await late.close()
        await store.close()


async def test_an_aborted_transaction_leaves_no_hole(backend: PostgresBackend) -> None:
    store = backend.open()
    aborted = await backend.connect()
    try:
        transaction = aborted.transaction()
        await transaction.start()
        await insert_event(aborted, StreamId("gone"), 1)
        await store.append(StreamId("kept"), nodes(2), expected_version=0)
        await transaction.rollback()
        await store.append(StreamId("kept"), nodes(1), expected_version=2)
        everything = await settled(store, 3)
        assert [e.position for e in everything] == [1, 2, 3]
        assert {e.scene for e in everything} == {"kept"}
    finally:
        await aborted.close()
        await store.close()


async def test_sequencing_goes_on_after_the_writer_is_gone(backend: PostgresBackend) -> None:
    writer = backend.open()
    result = await writer.append(StreamId("s"), nodes(5), expected_version=0)
    await writer.close()
    assert (result.first_position, result.last_position) == (None, None)
    reader = backend.open()
    try:
        assert [e.position for e in await reader.read_all(0)] == [1, 2, 3, 4, 5]
    finally:
        await reader.close()


async def test_a_store_numbers_its_own_appends_before_it_closes(
    backend: PostgresBackend,
) -> None:
    writer = backend.open(sequencer_interval=60.0)
    for n in range(3):
        await writer.append(StreamId(f"s{n}"), nodes(2), expected_version=0)
    await writer.close()
    conn = await backend.connect()
    try:
        positions = await conn.fetch("SELECT position FROM events ORDER BY id")
    finally:
        await conn.close()
    assert [row[0] for row in positions] == [1, 2, 3, 4, 5, 6]


async def test_schemas_keep_stores_apart(
    backend: PostgresBackend, postgres_url: str, postgres_schema: str
) -> None:
    other_schema = f"{postgres_schema}_other"
    await migrate(postgres_url, schema=other_schema)
    ours, theirs = backend.open(), open_store(postgres_url, schema=other_schema)
    try:
        await ours.append(StreamId("s"), nodes(2), expected_version=0)
        await theirs.append(StreamId("s"), nodes(1), expected_version=0)
        assert len(await settled(ours, 2)) == 2
        assert len(await settled(theirs, 1)) == 1
    finally:
        await ours.close()
        await theirs.close()
        conn = await backend.connect()
        await conn.execute(f"DROP SCHEMA {other_schema} CASCADE")
        await conn.close()


async def test_migrating_twice_changes_nothing(backend: PostgresBackend) -> None:
    store = backend.open()
    try:
        await store.append(StreamId("s"), nodes(2), expected_version=0)
        await migrate(backend.url, schema=backend.schema)
        assert len(await settled(store, 2)) == 2
    finally:
        await store.close()


async def test_two_processes_racing_for_the_same_streams_get_only_conflicts(
    backend: PostgresBackend,
) -> None:
    """Two stores (two API processes) append to the same streams at once, in opposite
    orders, so that their grouped statements cross: whatever PostgreSQL does about
    that (a unique index, a deadlock), each append either lands or is refused with a
    concurrency conflict, and every landed event is stored exactly once."""
    streams = [StreamId(f"s{n}") for n in range(16)]
    one, two = backend.open(), backend.open()
    landed: list[str] = []
    failures: list[BaseException] = []

    async def race(store: EventStore, order: list[StreamId]) -> None:
        heads = [await store.head_version(stream) for stream in order]
        events = [
            nodes(1, prefix=f"{id(store)}-{s.scene}-{h}-")
            for s, h in zip(order, heads, strict=True)
        ]
        outcomes = await asyncio.gather(
            *(store.append(s, e, h) for s, e, h in zip(order, events, heads, strict=True)),
            return_exceptions=True,
        )
        for outcome, appended in zip(outcomes, events, strict=True):
            if isinstance(outcome, BaseException):
                failures.append(outcome)
            else:
                landed.append(appended[0].event_id)

    try:
        for store in (one, two):  # the streams exist, so appends take the grouped path
            for stream in streams:
                with contextlib.suppress(ConcurrencyConflict):
                    await store.append(stream, nodes(1, prefix=f"{id(store)}-first-"), 0)
        for _ in range(40):
            await asyncio.gather(race(one, streams), race(two, streams[::-1]))
        odd = [f for f in failures if not isinstance(f, ConcurrencyConflict)]
        assert not odd, odd
        stored = await settled(one, len(streams) + len(landed))
        ids = [e.event_id for e in stored]
        assert len(ids) == len(set(ids))
        assert set(landed) <= set(ids)
        for stream in streams:
            versions = [e.version for e in stored if e.scene == stream.scene]
            assert versions == list(range(1, len(versions) + 1))
    finally:
        await one.close()
        await two.close()
