"""The event store contract on the in-memory store the engine's tests use, so that
what those tests prove holds of a store that behaves like the real ones."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from engine.ports import EventStore, StoredSnapshot, StreamId
from tests.adapters.store_contract import METADATA_JSON, StoreBackend, StoreContract
from tests.adapters.store_contract_runs import RunsContract
from tests.memory_store import MemoryDatabase, MemoryStore, Row

PLANTED_AT = datetime.fromisoformat("2024-05-01T12:00:00+00:00")


class MemoryBackend(StoreBackend):
    def __init__(self) -> None:
        self.database = MemoryDatabase()

    def open(self, **options: Any) -> EventStore:
        return MemoryStore(self.database, **options)

    async def insert_raw_event(
        self, stream: StreamId, version: int, event_type: str, schema_version: int, data: str
    ) -> None:
        self.database.plant(
            Row(
                f"planted-{stream}-{version}",
                stream.scene,
                stream.branch,
                version,
                len(self.database.log) + 1,
                event_type,
                schema_version,
                data.encode(),
                METADATA_JSON.encode(),
                PLANTED_AT,
            )
        )

    async def insert_raw_snapshot(self, stream: StreamId, version: int, data: bytes) -> None:
        snapshot = StoredSnapshot(stream.scene, stream.branch, version, 1, data)
        await self.open().save_snapshot(snapshot)


class TestMemoryStore(StoreContract, RunsContract):
    @pytest.fixture
    def backend(self) -> StoreBackend:
        return MemoryBackend()
