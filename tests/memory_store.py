"""An in-memory EventStore for fast engine tests; the real stores pass the same contract."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Collection, Mapping, Sequence

from engine.errors import ConcurrencyConflict
from engine.events import NewEvent, RecordedEvent
from engine.planning import CachedWork
from engine.ports import AppendResult, StoredSnapshot, StreamId


class MemoryStore:
    def __init__(self) -> None:
        self.log: list[RecordedEvent] = []
        self.streams: dict[StreamId, list[RecordedEvent]] = {}
        self.keys: dict[str, AppendResult] = {}
        self.snapshots: dict[StreamId, list[StoredSnapshot]] = {}
        self.appended = asyncio.Event()
        self.work: dict[tuple[str, str], CachedWork] = {}
        self.checkpoints: dict[str, int] = {}

    async def append(
        self,
        stream: StreamId,
        events: Sequence[NewEvent],
        expected_version: int,
        idempotency_key: str | None = None,
    ) -> AppendResult:
        if idempotency_key is not None and idempotency_key in self.keys:
            return _as_duplicate(self.keys[idempotency_key])
        held = self.streams.setdefault(stream, [])
        if len(held) != expected_version:
            raise ConcurrencyConflict(str(stream), expected_version, len(held))
        for new in events:
            recorded = RecordedEvent(
                new.event_id,
                stream.scene,
                stream.branch,
                len(held) + 1,
                len(self.log) + 1,
                new.recorded_at,
                new.metadata,
                new.payload,
            )
            held.append(recorded)
            self.log.append(recorded)
        result = AppendResult(
            stream.scene,
            stream.branch,
            expected_version + 1,
            len(held),
            len(self.log) - len(events) + 1,
            len(self.log),
        )
        if idempotency_key is not None:
            self.keys[idempotency_key] = result
        self.appended.set()
        return result

    async def find_append(self, idempotency_key: str) -> AppendResult | None:
        found = self.keys.get(idempotency_key)
        return None if found is None else _as_duplicate(found)

    async def head_version(self, stream: StreamId) -> int:
        return len(self.streams.get(stream, []))

    async def read_stream(
        self, stream: StreamId, after_version: int = 0, up_to_version: int | None = None
    ) -> list[RecordedEvent]:
        await asyncio.sleep(0)  # yield as real I/O would, so that races can happen
        held = self.streams.get(stream, [])
        return held[after_version:up_to_version]

    async def head_position(self) -> int:
        return len(self.log)

    async def read_all(self, after_position: int, limit: int = 1000) -> list[RecordedEvent]:
        return self.log[after_position : after_position + limit]

    async def subscribe(
        self, after_position: int, batch_size: int = 1000
    ) -> AsyncIterator[RecordedEvent]:
        while True:
            batch = await self.read_all(after_position, batch_size)
            for event in batch:
                yield event
            after_position += len(batch)
            if not batch:
                self.appended.clear()
                await self.appended.wait()

    async def save_snapshot(self, snapshot: StoredSnapshot) -> None:
        self.snapshots.setdefault(StreamId(snapshot.scene, snapshot.branch), []).append(snapshot)

    async def load_snapshot(
        self, stream: StreamId, up_to_version: int | None = None
    ) -> StoredSnapshot | None:
        fits = [
            s
            for s in self.snapshots.get(stream, [])
            if up_to_version is None or s.version <= up_to_version
        ]
        return max(fits, key=lambda s: s.version, default=None)

    async def list_scenes(self, studio: str | None = None) -> list[str]:
        return sorted(
            {
                s.scene
                for s, events in self.streams.items()
                if events and studio in (None, events[0].metadata.studio)
            }
        )

    async def list_branches(self, scene: str) -> list[str]:
        return sorted(s.branch for s, events in self.streams.items() if s.scene == scene and events)

    async def load_checkpoint(self, name: str) -> int:
        return self.checkpoints.get(name, 0)

    async def save_checkpoint(self, name: str, position: int) -> None:
        self.checkpoints[name] = position

    async def find_work(self, studio: str, keys: Collection[str]) -> dict[str, CachedWork]:
        return {k: self.work[(studio, k)] for k in keys if (studio, k) in self.work}

    async def remember_work(self, studio: str, works: Mapping[str, CachedWork]) -> None:
        for key, work in works.items():
            self.work.setdefault((studio, key), work)

    async def close(self) -> None:
        return None


def _as_duplicate(result: AppendResult) -> AppendResult:
    import msgspec

    return msgspec.structs.replace(result, duplicate=True)
