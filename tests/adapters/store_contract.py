"""The contract of `engine.ports.EventStore`, one suite for every adapter.

A test module subclasses `StoreContract` and provides a `backend` fixture: a
`StoreBackend` that opens stores on one fresh, migrated database and can write
rows behind the store's back (to plant events an older or foreign build wrote).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import uuid
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import pytest

from engine.errors import ConcurrencyConflict, PayloadTooLarge, StoreError, UnknownEventType
from engine.events import (
    AnyEvent,
    EventMetadata,
    NewEvent,
    NodeAdded,
    PropertySet,
    RecordedEvent,
    SceneCreated,
)
from engine.planning import CachedWork
from engine.ports import AppendResult, EventStore, StoredSnapshot, StreamId

# Generous: only a broken store takes this long; a slow machine never does.
PATIENCE = 30.0

METADATA_JSON = (
    '{"studio":"studio-a","actor":"planted","intent_id":"i0","execution_id":"x0",'
    '"transform":"sql","transform_version":1}'
)


class StoreBackend(ABC):
    """One fresh, migrated database, and a way in that bypasses the store."""

    @abstractmethod
    def open(self, **options: Any) -> EventStore: ...

    @abstractmethod
    async def insert_raw_event(
        self, stream: StreamId, version: int, event_type: str, schema_version: int, data: str
    ) -> None:
        """Write one events row (with METADATA_JSON) directly with SQL."""

    @abstractmethod
    async def insert_raw_snapshot(self, stream: StreamId, version: int, data: bytes) -> None: ...


def metadata(studio: str = "studio-a", actor: str = "ada") -> EventMetadata:
    return EventMetadata(
        studio=studio,
        actor=actor,
        intent_id="intent-1",
        execution_id="exec-1",
        transform="test",
        transform_version=1,
    )


def new_event(payload: AnyEvent, meta: EventMetadata | None = None) -> NewEvent:
    return NewEvent(
        event_id=str(uuid.uuid4()),
        payload=payload,
        metadata=meta or metadata(),
        recorded_at=datetime.now(UTC),
    )


def nodes(count: int, meta: EventMetadata | None = None, prefix: str = "n") -> list[NewEvent]:
    return [
        new_event(NodeAdded(node=f"{prefix}{i}", kind="shot", parent="root", order="a0"), meta)
        for i in range(count)
    ]


async def eventually(check: Callable[[], Awaitable[bool]]) -> None:
    """Wait until `check()` holds; PATIENCE is the limit."""
    async with asyncio.timeout(PATIENCE):
        while True:
            if await check():
                return
            await asyncio.sleep(0.01)


async def head_reaches(store: EventStore, position: int) -> None:
    """PostgreSQL numbers events shortly after commit (SQLite at once)."""

    async def reached() -> bool:
        return await store.head_position() >= position

    await eventually(reached)


async def settled(store: EventStore, count: int) -> list[RecordedEvent]:
    """All events by position, once `count` of them are readable."""
    await head_reaches(store, count)
    found: list[RecordedEvent] = []
    position = 0
    while batch := await store.read_all(position, 500):
        found.extend(batch)
        position = batch[-1].position or 0
    return found


class StoreContract:
    """Every test gets a fresh database through the subclass's `backend` fixture."""

    @pytest.fixture
    async def store(self, backend: StoreBackend) -> AsyncIterator[EventStore]:
        store = backend.open()
        try:
            yield store
        finally:
            await store.close()

    # -- append and read --------------------------------------------------------

    async def test_append_then_read_round_trips_payload_and_metadata(
        self, store: EventStore
    ) -> None:
        stream = StreamId("scene-1")
        written = [
            new_event(SceneCreated(title="Launch film")),
            new_event(
                NodeAdded(node="s1", kind="shot", parent="root", order="a0", props={"fps": 24})
            ),
            new_event(PropertySet(node="s1", prop="title", value="Dawn"), metadata(actor="bo")),
        ]
        result = await store.append(stream, written, expected_version=0)
        assert (result.scene, result.branch) == ("scene-1", "main")
        assert (result.first_version, result.last_version, result.duplicate) == (1, 3, False)

        read = await store.read_stream(stream)
        assert [e.version for e in read] == [1, 2, 3]
        for stored, original in zip(read, written, strict=True):
            assert (stored.scene, stored.branch) == ("scene-1", "main")
            assert stored.event_id == original.event_id
            assert stored.payload == original.payload
            assert stored.metadata == original.metadata
            assert stored.recorded_at == original.recorded_at
        assert await store.head_version(stream) == 3
        by_position = await settled(store, 3)
        assert [(e.position, e.event_id) for e in by_position] == [
            (i + 1, e.event_id) for i, e in enumerate(written)
        ]

    async def test_empty_store_and_unknown_stream_read_as_empty(self, store: EventStore) -> None:
        stream = StreamId("nowhere")
        assert await store.read_stream(stream) == []
        assert await store.head_version(stream) == 0
        assert await store.head_position() == 0
        assert await store.read_all(0) == []
        assert await store.load_snapshot(stream) is None
        assert await store.find_append("never-used") is None
        assert await store.list_scenes() == []
        assert await store.list_branches("nowhere") == []

    async def test_an_empty_append_is_refused(self, store: EventStore) -> None:
        with pytest.raises(ValueError):
            await store.append(StreamId("scene-1"), [], expected_version=0)
        assert await store.head_version(StreamId("scene-1")) == 0

    async def test_read_stream_ranges_and_branches(self, store: EventStore) -> None:
        main, alt = StreamId("scene-1"), StreamId("scene-1", "alt")
        await store.append(main, nodes(10), expected_version=0)
        await store.append(alt, nodes(2, prefix="alt"), expected_version=0)

        async def versions(stream: StreamId, after: int = 0, up_to: int | None = None) -> list[int]:
            return [e.version for e in await store.read_stream(stream, after, up_to)]

        assert await versions(main) == list(range(1, 11))
        assert await versions(main, after=3) == list(range(4, 11))
        assert await versions(main, up_to=5) == [1, 2, 3, 4, 5]
        assert await versions(main, after=3, up_to=5) == [4, 5]
        assert await versions(main, after=10) == []
        assert await versions(main, up_to=0) == []
        assert await versions(alt) == [1, 2]
        assert [e.payload.node for e in await store.read_stream(alt)] == ["alt0", "alt1"]  # type: ignore[union-attr]

    async def test_a_long_stream_reads_whole_and_in_order(self, store: EventStore) -> None:
        stream = StreamId("long")
        await store.append(stream, nodes(4000), expected_version=0)
        await store.append(stream, nodes(3000, prefix="m"), expected_version=4000)
        read = await store.read_stream(stream)
        assert [e.version for e in read] == list(range(1, 7001))
        assert [e.version for e in await store.read_stream(stream, 6990)] == list(range(6991, 7001))

    # -- optimistic concurrency -------------------------------------------------

    async def test_a_stale_or_future_expected_version_conflicts(self, store: EventStore) -> None:
        stream = StreamId("scene-1")
        await store.append(stream, nodes(2), expected_version=0)
        for expected in (0, 1, 3, 7):
            with pytest.raises(ConcurrencyConflict) as caught:
                await store.append(stream, nodes(1), expected_version=expected)
            assert (caught.value.stream, caught.value.expected, caught.value.actual) == (
                "scene-1@main",
                expected,
                2,
            )
        assert await store.head_version(stream) == 2
        assert len(await settled(store, 2)) == 2

    async def test_writers_racing_for_one_version_one_wins(self, backend: StoreBackend) -> None:
        first, second = backend.open(), backend.open()
        try:
            for round_ in range(15):
                stream = StreamId(f"race-{round_}")
                await first.append(stream, nodes(1), expected_version=0)
                outcomes = await asyncio.gather(
                    first.append(stream, nodes(3, prefix="a"), expected_version=1),
                    second.append(stream, nodes(2, prefix="b"), expected_version=1),
                    return_exceptions=True,
                )
                won = [o for o in outcomes if isinstance(o, AppendResult)]
                lost = [o for o in outcomes if isinstance(o, ConcurrencyConflict)]
                assert len(won) == 1 and len(lost) == 1, outcomes
                assert lost[0].expected == 1 and lost[0].actual == won[0].last_version
                assert await first.head_version(stream) == won[0].last_version
        finally:
            await first.close()
            await second.close()

    async def test_concurrent_appends_through_one_store_each_get_their_own_outcome(
        self, store: EventStore
    ) -> None:
        """Many appends in flight at once on one store (which may commit several in one
        transaction or statement): each is written or refused exactly as it would be
        on its own, and a refused one writes nothing."""
        stored = nodes(1, prefix="stored-")
        await store.append(StreamId("elsewhere"), stored, expected_version=0)
        streams = [StreamId(f"busy-{i}") for i in range(16)]
        for stream in streams:
            await store.append(stream, nodes(2, prefix=f"{stream.scene}-"), expected_version=0)
        attempts: list[Awaitable[AppendResult]] = []
        for i, stream in enumerate(streams):
            if i % 4 == 1:  # stale: the head is 2
                attempts.append(store.append(stream, nodes(1), expected_version=1))
            elif i % 4 == 2:  # repeats an event id stored before
                attempts.append(store.append(stream, [*nodes(1), stored[0]], expected_version=2))
            else:
                attempts.append(store.append(stream, nodes(i % 3 + 1), expected_version=2))
        outcomes = await asyncio.gather(*attempts, return_exceptions=True)
        for i, (stream, outcome) in enumerate(zip(streams, outcomes, strict=True)):
            if i % 4 == 1:
                assert isinstance(outcome, ConcurrencyConflict), outcome
                assert (outcome.expected, outcome.actual) == (1, 2)
                assert await store.head_version(stream) == 2
            elif i % 4 == 2:
                assert isinstance(outcome, StoreError), outcome
                assert await store.head_version(stream) == 2
            else:
                assert isinstance(outcome, AppendResult), outcome
                assert (outcome.first_version, outcome.last_version) == (3, 2 + i % 3 + 1)
                assert await store.head_version(stream) == 2 + i % 3 + 1
        total = 1 + 2 * len(streams) + sum(i % 3 + 1 for i in range(16) if i % 4 in (0, 3))
        everything = await settled(store, total)
        assert [e.position for e in everything] == list(range(1, total + 1))
        _assert_streams_in_order(everything)

    async def test_one_store_racing_itself_for_one_version_one_wins(
        self, store: EventStore
    ) -> None:
        stream = StreamId("contested")
        await store.append(stream, nodes(1), expected_version=0)
        outcomes = await asyncio.gather(
            *(store.append(stream, nodes(2, prefix=f"r{i}-"), 1) for i in range(6)),
            return_exceptions=True,
        )
        won = [o for o in outcomes if isinstance(o, AppendResult)]
        lost = [o for o in outcomes if isinstance(o, ConcurrencyConflict)]
        assert len(won) == 1 and len(lost) == 5, outcomes
        assert all((o.expected, o.actual) == (1, 3) for o in lost)
        assert await store.head_version(stream) == 3

    # -- idempotency ------------------------------------------------------------

    async def test_a_repeated_idempotency_key_returns_the_first_append(
        self, store: EventStore
    ) -> None:
        stream, other = StreamId("scene-1"), StreamId("scene-2")
        first = await store.append(stream, nodes(2), 0, idempotency_key="studio-a:req-1")
        again = await store.append(stream, nodes(2), 0, idempotency_key="studio-a:req-1")
        # a retry after the stream moved on, and the same key on another stream
        later = await store.append(stream, nodes(1), 2, idempotency_key="studio-a:req-1")
        elsewhere = await store.append(other, nodes(1), 0, idempotency_key="studio-a:req-1")
        for repeat in (again, later, elsewhere):
            assert repeat == AppendResult(
                scene=first.scene,
                branch=first.branch,
                first_version=first.first_version,
                last_version=first.last_version,
                first_position=first.first_position,
                last_position=first.last_position,
                duplicate=True,
            )
        assert await store.head_version(stream) == 2
        assert await store.head_version(other) == 0
        assert await store.find_append("studio-a:req-1") == again
        assert len(await settled(store, 2)) == 2

    async def test_racing_appends_with_one_key_write_once(self, backend: StoreBackend) -> None:
        first, second = backend.open(), backend.open()
        try:
            for round_ in range(10):
                key = f"studio-a:race-{round_}"
                results = await asyncio.gather(
                    first.append(StreamId(f"left-{round_}"), nodes(2), 0, idempotency_key=key),
                    second.append(StreamId(f"right-{round_}"), nodes(2), 0, idempotency_key=key),
                )
                assert sorted(r.duplicate for r in results) == [False, True]
                assert results[0].scene == results[1].scene
            assert len(await settled(first, 20)) == 20
        finally:
            await first.close()
            await second.close()

    # -- the global order ---------------------------------------------------------

    async def test_global_positions_follow_commits_across_streams(self, store: EventStore) -> None:
        appended: list[str] = []
        for i in range(6):
            batch = nodes(i % 3 + 1, prefix=f"b{i}-")
            await store.append(StreamId(f"scene-{i % 3}"), batch, expected_version=_head(i))
            appended += [e.event_id for e in batch]
        everything = await settled(store, len(appended))
        assert [e.position for e in everything] == list(range(1, len(appended) + 1))
        assert [e.event_id for e in everything] == appended
        assert await store.head_position() == len(appended)
        page = await store.read_all(after_position=2, limit=3)
        assert [e.position for e in page] == [3, 4, 5]
        assert await store.read_all(after_position=len(appended)) == []

    async def test_concurrent_writers_never_leave_a_gap_for_subscribers(
        self, backend: StoreBackend
    ) -> None:
        """Many writers commit at once while subscribers follow the log: every event
        arrives exactly once, positions 1..N with no gap, in order."""
        seed = int(os.environ.get("SCENESTATE_TEST_SEED") or random.randrange(2**32))
        print(f"gap-free test seed: {seed} (replay with SCENESTATE_TEST_SEED={seed})")
        rng = random.Random(seed)
        plans = [_writer_plan(rng, writer) for writer in range(8)]
        total = sum(sum(plan) for plan in plans)
        # Readers poll often, so that a store which let them read past a late
        # committer would be caught doing it.
        readers = [backend.open(poll_interval=0.002), backend.open(poll_interval=0.002)]
        writers = [backend.open() for _ in plans]
        try:
            early = asyncio.create_task(_collect(readers[0], total))
            write = asyncio.gather(
                *(
                    _write(s, w, plan)
                    for w, (s, plan) in enumerate(zip(writers, plans, strict=True))
                )
            )
            await asyncio.sleep(0.2)
            late = asyncio.create_task(_collect(readers[1], total))
            appended_ids = {event_id for ids in await write for event_id in ids}
            async with asyncio.timeout(PATIENCE):
                received = [await early, await late]
        finally:
            for opened in readers + writers:
                await opened.close()
        assert len(appended_ids) == total
        for events in received:
            assert [e.position for e in events] == list(range(1, total + 1))
            assert {e.event_id for e in events} == appended_ids
            _assert_streams_in_order(events)

    # -- subscriptions ------------------------------------------------------------

    async def test_subscribe_catches_up_from_a_position_then_follows(
        self, store: EventStore
    ) -> None:
        stream = StreamId("scene-1")
        await store.append(stream, nodes(30), expected_version=0)
        await settled(store, 30)
        received: list[RecordedEvent] = []
        subscription = store.subscribe(after_position=10, batch_size=7)
        async with asyncio.timeout(PATIENCE):
            async for event in subscription:
                received.append(event)
                if len(received) == 20:
                    break
        assert [e.position for e in received] == list(range(11, 31))

    async def test_subscribe_wakes_up_for_live_appends(self, store: EventStore) -> None:
        stream = StreamId("scene-1")
        arrived: asyncio.Queue[RecordedEvent] = asyncio.Queue()

        async def follow() -> None:
            async for event in store.subscribe(after_position=0):
                await arrived.put(event)

        follower = asyncio.create_task(follow())
        try:
            await asyncio.sleep(0.3)  # let it catch up with an empty log and wait
            for version in range(3):
                [event] = nodes(1, prefix=f"live{version}-")
                await store.append(stream, [event], expected_version=version)
                delivered = await asyncio.wait_for(arrived.get(), PATIENCE)
                assert (delivered.event_id, delivered.position) == (event.event_id, version + 1)
        finally:
            follower.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await follower

    # -- limits and foreign rows ---------------------------------------------------

    async def test_an_oversize_event_is_refused_and_nothing_is_written(
        self, store: EventStore
    ) -> None:
        stream = StreamId("scene-1")
        await store.append(stream, nodes(1), expected_version=0)
        await settled(store, 1)
        huge = new_event(PropertySet(node="n0", prop="script", value="x" * (1024 * 1024 + 1)))
        with pytest.raises(PayloadTooLarge) as caught:
            await store.append(stream, [*nodes(1), huge], expected_version=1)
        assert "event 1 (PropertySet)" in str(caught.value)
        assert await store.head_version(stream) == 1
        assert await store.head_position() == 1

    async def test_the_size_limit_is_an_option(self, backend: StoreBackend) -> None:
        store = backend.open(max_event_bytes=200)
        try:
            await store.append(StreamId("s"), nodes(1), expected_version=0)
            with pytest.raises(PayloadTooLarge):
                await store.append(
                    StreamId("s"), [new_event(SceneCreated(title="t" * 300))], expected_version=1
                )
            assert await store.head_version(StreamId("s")) == 1
        finally:
            await store.close()

    async def test_an_unknown_event_type_names_its_position(
        self, store: EventStore, backend: StoreBackend
    ) -> None:
        stream = StreamId("scene-1")
        await store.append(stream, nodes(2), expected_version=0)
        await backend.insert_raw_event(stream, 3, "Bogus", 1, '{"type":"Bogus"}')
        await head_reaches(store, 3)
        with pytest.raises(UnknownEventType) as caught:
            await store.read_all(0)
        assert caught.value.position == 3
        assert "position 3" in str(caught.value)
        assert "Bogus" in str(caught.value)
        assert len(await store.read_all(0, limit=2)) == 2  # what precedes it still reads

    async def test_a_stored_v1_node_added_reads_back_upcast(
        self, store: EventStore, backend: StoreBackend
    ) -> None:
        stream = StreamId("scene-1")
        data = '{"type":"NodeAdded","node":"n1","kind":"shot","parent":"root","index":2,"props":{}}'
        await backend.insert_raw_event(stream, 1, "NodeAdded", 1, data)
        [event] = await store.read_stream(stream)
        assert isinstance(event.payload, NodeAdded)
        assert (event.payload.node, event.payload.parent) == ("n1", "root")
        assert event.payload.order == "a2"  # the third fractional key, for index 2
        assert event.metadata.actor == "planted"

    # -- snapshots and scenes -------------------------------------------------------

    async def test_load_snapshot_takes_the_newest_at_or_below_a_version(
        self, store: EventStore
    ) -> None:
        stream = StreamId("scene-1")
        for version, schema in ((5, 1), (10, 1), (15, 2)):
            await store.save_snapshot(
                StoredSnapshot("scene-1", "main", version, schema, f"state@{version}".encode())
            )

        async def loaded(up_to: int | None) -> tuple[int, int, bytes] | None:
            found = await store.load_snapshot(stream, up_to)
            return None if found is None else (found.version, found.schema, found.data)

        assert await loaded(None) == (15, 2, b"state@15")
        assert await loaded(12) == (10, 1, b"state@10")
        assert await loaded(10) == (10, 1, b"state@10")
        assert await loaded(4) is None
        assert await store.load_snapshot(StreamId("scene-1", "alt")) is None
        await store.save_snapshot(StoredSnapshot("scene-1", "main", 10, 3, b"redone"))
        assert await loaded(12) == (10, 3, b"redone")

    async def test_pruning_keeps_the_newest_snapshots_of_that_stream_only(
        self, store: EventStore
    ) -> None:
        for branch in ("main", "alt"):
            for version in (5, 10, 15, 20):
                await store.save_snapshot(StoredSnapshot("scene-1", branch, version, 1, b"s"))
        main = StreamId("scene-1")
        await store.prune_snapshots(main, keep=5)  # fewer than that: nothing goes
        assert (await store.load_snapshot(main, 5)) is not None
        await store.prune_snapshots(main, keep=2)
        assert [await _version(store, main, up_to) for up_to in (20, 17, 14, 9)] == [
            20,
            15,
            None,
            None,
        ]
        assert await _version(store, StreamId("scene-1", "alt"), 5) == 5

    async def test_a_snapshot_that_does_not_decode_is_returned_as_stored(
        self, store: EventStore, backend: StoreBackend
    ) -> None:
        garbage = b"\x00\xff{not json"
        await backend.insert_raw_snapshot(StreamId("scene-1"), 4, garbage)
        found = await store.load_snapshot(StreamId("scene-1"))
        assert found == StoredSnapshot("scene-1", "main", 4, 1, garbage)

    async def test_list_scenes_by_studio_and_their_branches(self, store: EventStore) -> None:
        for scene, studio in (("b-scene", "studio-a"), ("a-scene", "studio-a"), ("c", "studio-b")):
            await store.append(StreamId(scene), nodes(1, metadata(studio)), expected_version=0)
        await store.append(StreamId("a-scene"), nodes(1), expected_version=1)
        await store.append(StreamId("a-scene", "alt"), nodes(1), expected_version=0)
        assert await store.list_scenes() == ["a-scene", "b-scene", "c"]
        assert await store.list_scenes("studio-a") == ["a-scene", "b-scene"]
        assert await store.list_scenes("studio-b") == ["c"]
        assert await store.list_scenes("studio-z") == []
        await store.append(StreamId("a-scene", "Zed"), nodes(1), expected_version=0)
        assert await store.list_branches("a-scene") == ["Zed", "alt", "main"]
        assert await store.list_branches("c") == ["main"]
        assert await store.list_branches("nowhere") == []

    async def test_checkpoints_start_at_zero_and_keep_the_last_saved(
        self, backend: StoreBackend
    ) -> None:
        store = backend.open()
        try:
            assert await store.load_checkpoint("dispatcher") == 0
            await store.save_checkpoint("dispatcher", 41)
            await store.save_checkpoint("dispatcher", 42)
            await store.save_checkpoint("projection", 7)
        finally:
            await store.close()
        reopened = backend.open()
        try:
            assert await reopened.load_checkpoint("dispatcher") == 42
            assert await reopened.load_checkpoint("projection") == 7
        finally:
            await reopened.close()

    async def test_the_work_cache_is_per_studio_and_keeps_the_first_artifact(
        self, store: EventStore
    ) -> None:
        cache: Any = store
        first, second = CachedWork("aa" * 32, "t-1"), CachedWork("bb" * 32, "t-2")
        await cache.remember_work("studio-a", {"key-1": first})
        await cache.remember_work("studio-a", {"key-1": second, "key-3": second})
        await cache.remember_work("studio-a", {})
        found = await cache.find_work("studio-a", ["key-1", "key-2", "key-3"])
        assert found == {"key-1": first, "key-3": second}
        assert await cache.find_work("studio-b", ["key-1"]) == {}
        assert await cache.find_work("studio-a", []) == {}


def _head(append_index: int) -> int:
    """Head of stream `append_index % 3` before append number `append_index` in the
    global-order test (append i adds i % 3 + 1 events)."""
    return sum(j % 3 + 1 for j in range(append_index) if j % 3 == append_index % 3)


def _writer_plan(rng: random.Random, writer: int) -> list[int]:
    """Batch sizes for one writer: a few writers append big batches, the rest many
    small ones. Writer 0 starts with 20,000 events in one insert, which commits long
    after it began: a store that numbered events as they were inserted would let
    the readers move past its positions before it committed."""
    if writer % 3 == 0:
        plan = [rng.randint(200, 1500) for _ in range(8)]
        if writer == 0:
            plan[0] = 20_000
        return plan
    return [rng.randint(1, 6) for _ in range(50)]


async def _write(store: EventStore, writer: int, plan: Sequence[int]) -> list[str]:
    heads = [0, 0, 0]
    ids: list[str] = []
    for i, size in enumerate(plan):
        scene = i % 3
        batch = nodes(size, metadata(actor=f"writer-{writer}"), prefix=f"w{writer}-{i}-")
        await store.append(StreamId(f"gap-{writer}-{scene}"), batch, heads[scene])
        heads[scene] += size
        ids += [e.event_id for e in batch]
        if i % 5 == 0:
            await asyncio.sleep(0)
    return ids


async def _collect(store: EventStore, total: int) -> list[RecordedEvent]:
    """Follow the log up to position `total` (a store that skips gets there short)."""
    received: list[RecordedEvent] = []
    async for event in store.subscribe(after_position=0, batch_size=333):
        received.append(event)
        if (event.position or 0) >= total:
            break
    # Anything delivered after the last event would be a duplicate or an invention.
    extra = await store.read_all(total)
    assert extra == [], extra
    return received


def _assert_streams_in_order(events: Sequence[RecordedEvent]) -> None:
    last: dict[tuple[str, str], int] = {}
    for event in events:
        key = (event.scene, event.branch)
        assert event.version == last.get(key, 0) + 1
        last[key] = event.version


async def _version(store: EventStore, stream: StreamId, up_to: int) -> int | None:
    found = await store.load_snapshot(stream, up_to)
    return None if found is None else found.version
