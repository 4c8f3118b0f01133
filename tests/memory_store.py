"""An in-memory EventStore for fast engine tests. It keeps what the SQL stores keep (each
event encoded, decoded and upcast on read, sized against the limit) and passes the same
contract (tests/adapters/test_store_memory.py). Stores opened on one `MemoryDatabase`
share it, as stores opened on one database URL do."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import msgspec

from adapters.store._runs import check_runs, run_results
from adapters.store.following import follow_in_batches, landed_positions
from engine.codec import decode_event, decode_metadata, encode_event, encode_metadata
from engine.errors import ConcurrencyConflict, KeysUsed, PayloadTooLarge, StoreError
from engine.events import NewEvent, RecordedEvent
from engine.planning import CachedWork
from engine.ports import AppendResult, AppendRun, StoredSnapshot, StreamId

DEFAULT_MAX_EVENT_BYTES = 1024 * 1024


class Row(msgspec.Struct, frozen=True):
    """One stored event, as a database row holds it."""

    event_id: str
    scene: str
    branch: str
    version: int
    position: int
    event_type: str
    schema_version: int
    data: bytes
    metadata: bytes
    recorded_at: datetime

    def decoded(self) -> RecordedEvent:
        return RecordedEvent(
            self.event_id,
            self.scene,
            self.branch,
            self.version,
            self.position,
            self.recorded_at,
            decode_metadata(self.metadata, self.position),
            decode_event(self.event_type, self.schema_version, self.data, self.position),
        )


@dataclass
class MemoryDatabase:
    log: list[Row] = field(default_factory=list)
    event_ids: set[str] = field(default_factory=set)
    streams: dict[StreamId, list[Row]] = field(default_factory=dict)
    keys: dict[str, AppendResult] = field(default_factory=dict)
    snapshots: dict[StreamId, dict[int, StoredSnapshot]] = field(default_factory=dict)
    work: dict[tuple[str, str], CachedWork] = field(default_factory=dict)
    checkpoints: dict[str, int] = field(default_factory=dict)
    appended: asyncio.Condition | None = None

    def condition(self) -> asyncio.Condition:
        if self.appended is None:
            self.appended = asyncio.Condition()
        return self.appended

    def plant(self, row: Row) -> None:
        """Write a row behind any store's back (a row another build wrote)."""
        self.log.append(row)
        self.event_ids.add(row.event_id)
        self.streams.setdefault(StreamId(row.scene, row.branch), []).append(row)


class MemoryStore:
    def __init__(
        self,
        database: MemoryDatabase | None = None,
        *,
        max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES,
        poll_interval: float = 0.5,
    ) -> None:
        self.db = database or MemoryDatabase()
        self.max_event_bytes = max_event_bytes
        self.poll_interval = poll_interval

    @property
    def log(self) -> list[RecordedEvent]:
        return [row.decoded() for row in self.db.log]

    @property
    def snapshots(self) -> dict[StreamId, dict[int, StoredSnapshot]]:
        return self.db.snapshots

    @snapshots.setter
    def snapshots(self, kept: dict[StreamId, dict[int, StoredSnapshot]]) -> None:
        self.db.snapshots = kept

    async def append(
        self,
        stream: StreamId,
        events: Sequence[NewEvent],
        expected_version: int,
        idempotency_key: str | None = None,
    ) -> AppendResult:
        if not events:
            raise ValueError("an append needs at least one event")
        await asyncio.sleep(0)  # yield as real I/O would, so that races can happen
        db = self.db
        if idempotency_key is not None and idempotency_key in db.keys:
            return msgspec.structs.replace(db.keys[idempotency_key], duplicate=True)
        result = self._write(stream, events, expected_version)
        if idempotency_key is not None:
            db.keys[idempotency_key] = result
        condition = db.condition()
        async with condition:
            condition.notify_all()
        return result

    async def append_runs(
        self, stream: StreamId, runs: Sequence[AppendRun], expected_version: int
    ) -> list[AppendResult]:
        check_runs(runs)
        for run in runs:  # every refusal before anything is written
            for index, new in enumerate(run.events):
                self._encoded(index, new)
        await asyncio.sleep(0)
        used = sorted(run.idempotency_key for run in runs if run.idempotency_key in self.db.keys)
        if used:
            raise KeysUsed(used)
        head = len(self.db.streams.get(stream, []))
        if head != expected_version:
            raise ConcurrencyConflict(str(stream), expected_version, head)
        ids = [new.event_id for run in runs for new in run.events]
        if len(set(ids)) < len(ids) or self.db.event_ids.intersection(ids):
            raise StoreError(f"append to {stream} refused: an event id is stored already")
        top = len(self.db.log)
        results = run_results(stream, [len(run.events) for run in runs], expected_version, top)
        for run, result in zip(runs, results, strict=True):
            self._write(stream, run.events, result.first_version - 1)
            self.db.keys[run.idempotency_key] = result
        condition = self.db.condition()
        async with condition:
            condition.notify_all()
        return results

    def _write(
        self, stream: StreamId, events: Sequence[NewEvent], expected_version: int
    ) -> AppendResult:
        """Check and write one append at once (no await: nothing runs in between)."""
        db = self.db
        encoded = [self._encoded(index, new) for index, new in enumerate(events)]
        held = db.streams.setdefault(stream, [])
        if len(held) != expected_version:
            raise ConcurrencyConflict(str(stream), expected_version, len(held))
        taken = [new.event_id for new in events if new.event_id in db.event_ids]
        if taken or len({new.event_id for new in events}) < len(events):
            raise StoreError(f"append to {stream} refused: event id {taken[:1]} is stored already")
        for new, (event_type, schema, data) in zip(events, encoded, strict=True):
            db.plant(
                Row(
                    new.event_id,
                    stream.scene,
                    stream.branch,
                    len(held) + 1,
                    len(db.log) + 1,
                    event_type,
                    schema,
                    data,
                    encode_metadata(new.metadata),
                    new.recorded_at,
                )
            )
        result = AppendResult(
            stream.scene,
            stream.branch,
            expected_version + 1,
            len(held),
            len(db.log) - len(events) + 1,
            len(db.log),
        )
        return result

    def _encoded(self, index: int, new: NewEvent) -> tuple[str, int, bytes]:
        event_type, schema, data = encode_event(new.payload)
        if len(data) > self.max_event_bytes:
            raise PayloadTooLarge(index, event_type, len(data), self.max_event_bytes)
        return event_type, schema, data

    async def find_append(self, idempotency_key: str) -> AppendResult | None:
        found = self.db.keys.get(idempotency_key)
        return None if found is None else msgspec.structs.replace(found, duplicate=True)

    async def head_version(self, stream: StreamId) -> int:
        return len(self.db.streams.get(stream, []))

    async def read_stream(
        self, stream: StreamId, after_version: int = 0, up_to_version: int | None = None
    ) -> list[RecordedEvent]:
        await asyncio.sleep(0)
        held = self.db.streams.get(stream, [])
        return [row.decoded() for row in held[after_version:up_to_version]]

    async def head_position(self) -> int:
        return len(self.db.log)

    async def read_all(self, after_position: int, limit: int = 1000) -> list[RecordedEvent]:
        if limit < 1:
            raise ValueError("limit must be positive")
        return [row.decoded() for row in self.db.log[after_position : after_position + limit]]

    async def subscribe(
        self, after_position: int, batch_size: int = 1000
    ) -> AsyncIterator[RecordedEvent]:
        condition = self.db.condition()
        while True:
            batch = await self.read_all(after_position, batch_size)
            for event in batch:
                yield event
            after_position += len(batch)
            if len(batch) < batch_size:
                async with condition:
                    if len(self.db.log) <= after_position:
                        with contextlib.suppress(TimeoutError):
                            async with asyncio.timeout(self.poll_interval):
                                await condition.wait()

    async def follow(
        self, after_position: int, batch_size: int = 1000
    ) -> AsyncIterator[list[RecordedEvent]]:
        async for batch in follow_in_batches(self, after_position, batch_size):
            yield batch

    async def positions_of(
        self, stream: StreamId, first_version: int, last_version: int
    ) -> tuple[int, int]:
        return await landed_positions(self, stream, first_version, last_version)

    async def save_snapshot(self, snapshot: StoredSnapshot) -> None:
        stream = StreamId(snapshot.scene, snapshot.branch)
        self.db.snapshots.setdefault(stream, {})[snapshot.version] = snapshot

    async def prune_snapshots(self, stream: StreamId, keep: int) -> None:
        kept = self.db.snapshots.get(stream, {})
        for version in sorted(kept)[: -max(keep, 1)]:
            del kept[version]

    async def load_snapshot(
        self, stream: StreamId, up_to_version: int | None = None
    ) -> StoredSnapshot | None:
        fits = [
            s
            for version, s in self.db.snapshots.get(stream, {}).items()
            if up_to_version is None or version <= up_to_version
        ]
        return max(fits, key=lambda s: s.version, default=None)

    async def list_scenes(self, studio: str | None = None) -> list[str]:
        return sorted(
            {
                s.scene
                for s, rows in self.db.streams.items()
                if rows and studio in (None, rows[0].decoded().metadata.studio)
            }
        )

    async def list_branches(self, scene: str) -> list[str]:
        return sorted(s.branch for s, rows in self.db.streams.items() if s.scene == scene and rows)

    async def load_checkpoint(self, name: str) -> int:
        return self.db.checkpoints.get(name, 0)

    async def save_checkpoint(self, name: str, position: int) -> None:
        self.db.checkpoints[name] = position

    async def find_work(self, studio: str, keys: Collection[str]) -> dict[str, CachedWork]:
        work = self.db.work
        return {k: work[(studio, k)] for k in keys if (studio, k) in work}

    async def remember_work(self, studio: str, works: Mapping[str, CachedWork]) -> None:
        for key, work in works.items():
            self.db.work.setdefault((studio, key), work)

    async def close(self) -> None:
        return None
