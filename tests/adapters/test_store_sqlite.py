"""The event store contract on SQLite (one file per test)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from adapters.store import migrate, open_store
from engine.ports import EventStore, StreamId
from tests.adapters.store_contract import METADATA_JSON, StoreBackend, StoreContract
from tests.adapters.store_contract_runs import RunsContract


class SqliteBackend(StoreBackend):
    def __init__(self, url: str) -> None:
        self.url = url

    def open(self, **options: Any) -> EventStore:
        return open_store(self.url, **options)

    async def _execute(self, sql: str, params: dict[str, Any]) -> None:
        engine = create_async_engine(self.url)
        try:
            async with engine.begin() as conn:
                await conn.execute(text(sql), params)
        finally:
            await engine.dispose()

    async def insert_raw_event(
        self, stream: StreamId, version: int, event_type: str, schema_version: int, data: str
    ) -> None:
        await self._execute(
            "INSERT INTO events (position, scene, branch, version, event_id, type, "
            "schema_version, data, metadata, studio, recorded_at) "
            "SELECT coalesce(max(position), 0) + 1, :scene, :branch, :version, :event_id, "
            ":type, :schema_version, :data, :metadata, 'studio-a', "
            "'2024-05-01T12:00:00+00:00' FROM events",
            {
                "scene": stream.scene,
                "branch": stream.branch,
                "version": version,
                "event_id": f"planted-{stream}-{version}",
                "type": event_type,
                "schema_version": schema_version,
                "data": data,
                "metadata": METADATA_JSON,
            },
        )

    async def insert_raw_snapshot(self, stream: StreamId, version: int, data: bytes) -> None:
        await self._execute(
            "INSERT INTO snapshots (scene, branch, version, schema, data) "
            "VALUES (:scene, :branch, :version, 1, :data)",
            {"scene": stream.scene, "branch": stream.branch, "version": version, "data": data},
        )


class TestSqliteStore(StoreContract, RunsContract):
    @pytest.fixture
    async def backend(self, sqlite_url: str) -> AsyncIterator[StoreBackend]:
        await migrate(sqlite_url)
        yield SqliteBackend(sqlite_url)


async def test_migrating_twice_changes_nothing(sqlite_url: str) -> None:
    await migrate(sqlite_url)
    store = open_store(sqlite_url)
    try:
        from tests.adapters.store_contract import nodes

        await store.append(StreamId("s"), nodes(2), expected_version=0)
        await migrate(sqlite_url)
        assert len(await store.read_stream(StreamId("s"))) == 2
    finally:
        await store.close()


async def test_a_plain_sqlite_url_is_accepted(sqlite_url: str) -> None:
    plain = sqlite_url.replace("sqlite+aiosqlite://", "sqlite://")
    await migrate(plain)
    store = open_store(plain)
    try:
        assert await store.head_position() == 0
    finally:
        await store.close()
