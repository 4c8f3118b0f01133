"""The contract of `EventStore.append_runs`, one suite for every adapter (mixed into each
store's test class beside `StoreContract`): several intents' runs of events appended to
one stream at once, each under its own key, all or nothing."""

from __future__ import annotations

import asyncio

import pytest

from engine.errors import ConcurrencyConflict, KeysUsed, PayloadTooLarge
from engine.events import PropertySet
from engine.ports import AppendResult, AppendRun, EventStore, StreamId
from tests.adapters.store_contract import (
    StoreBackend,
    metadata,
    new_event,
    nodes,
    settled,
)


def run(key: str, count: int, studio: str = "studio-a") -> AppendRun:
    return AppendRun(nodes(count, metadata(studio), prefix=f"{key}-"), key)


class RunsContract:
    async def test_runs_land_one_after_the_other_each_under_its_own_key(
        self, store: EventStore
    ) -> None:
        stream = StreamId("scene-1")
        await store.append(stream, nodes(1), 0)
        runs = [run("k1", 2), run("k2", 1), run("k3", 3)]
        results = await store.append_runs(stream, runs, 1)
        assert [(r.first_version, r.last_version) for r in results] == [(2, 3), (4, 4), (5, 7)]
        assert all((r.scene, r.branch, r.duplicate) == ("scene-1", "main", False) for r in results)
        read = await store.read_stream(stream, 1)
        assert [e.event_id for e in read] == [e.event_id for r in runs for e in r.events]
        assert [e.version for e in read] == [2, 3, 4, 5, 6, 7]
        for key, result in zip(("k1", "k2", "k3"), results, strict=True):
            found = await store.find_append(key)
            assert found is not None and found.duplicate
            assert (found.first_version, found.last_version) == (
                result.first_version,
                result.last_version,
            )
        by_position = await settled(store, 7)
        assert [e.event_id for e in by_position[1:]] == [e.event_id for e in read]
        if results[0].first_position is not None:  # a store that numbers as it writes
            assert [(r.first_position, r.last_position) for r in results] == [
                (2, 3),
                (4, 4),
                (5, 7),
            ]

    async def test_a_key_repeated_by_a_later_append_returns_its_runs_result(
        self, store: EventStore
    ) -> None:
        stream = StreamId("scene-1")
        results = await store.append_runs(stream, [run("k1", 1), run("k2", 2)], 0)
        again = await store.append(stream, nodes(1), 3, idempotency_key="k2")
        assert again.duplicate
        assert (again.first_version, again.last_version) == (2, 3)
        assert (results[1].first_version, results[1].last_version) == (2, 3)
        assert await store.head_version(stream) == 3

    async def test_a_first_append_of_runs_makes_the_stream_known(self, store: EventStore) -> None:
        await store.append_runs(StreamId("fresh", "alt"), [run("k1", 1, "studio-b")], 0)
        assert await store.list_scenes("studio-b") == ["fresh"]
        assert await store.list_branches("fresh") == ["alt"]

    async def test_a_used_key_refuses_every_run_and_names_it(self, store: EventStore) -> None:
        stream = StreamId("scene-1")
        first = await store.append(stream, nodes(1), 0, idempotency_key="k2")
        with pytest.raises(KeysUsed) as caught:
            await store.append_runs(stream, [run("k1", 1), run("k2", 1), run("k3", 1)], 1)
        assert caught.value.keys == ("k2",)
        assert await store.head_version(stream) == 1
        assert await store.find_append("k1") is None
        assert await store.find_append("k3") is None
        # what the caller does then: the runs one at a time, each told about its key
        one = await store.append(stream, run("k1", 1).events, 1, idempotency_key="k1")
        two = await store.append(stream, run("k2", 1).events, 2, idempotency_key="k2")
        assert (one.first_version, one.duplicate) == (2, False)
        assert two == AppendResult(
            "scene-1", "main", 1, 1, first.first_position, first.last_position, duplicate=True
        )

    async def test_a_key_twice_among_the_runs_refuses_them_all(self, store: EventStore) -> None:
        stream = StreamId("scene-1")
        with pytest.raises(KeysUsed) as caught:
            await store.append_runs(stream, [run("k1", 1), run("k2", 1), run("k1", 2)], 0)
        assert caught.value.keys == ("k1",)
        assert await store.head_version(stream) == 0
        assert await store.find_append("k1") is None

    async def test_runs_conflict_on_the_expected_version_and_write_nothing(
        self, store: EventStore
    ) -> None:
        stream = StreamId("scene-1")
        await store.append(stream, nodes(2), 0)
        for stale in (1, 3):
            with pytest.raises(ConcurrencyConflict) as caught:
                await store.append_runs(stream, [run(f"k{stale}", 1), run(f"j{stale}", 1)], stale)
            assert (caught.value.expected, caught.value.actual) == (stale, 2)
            assert await store.find_append(f"k{stale}") is None
        assert await store.head_version(stream) == 2

    async def test_no_runs_or_an_empty_run_is_refused(self, store: EventStore) -> None:
        stream = StreamId("scene-1")
        with pytest.raises(ValueError):
            await store.append_runs(stream, [], 0)
        with pytest.raises(ValueError):
            await store.append_runs(stream, [run("k1", 1), AppendRun([], "k2")], 0)
        assert await store.head_version(stream) == 0
        assert await store.find_append("k1") is None

    async def test_an_oversize_event_in_one_run_writes_no_run(self, store: EventStore) -> None:
        stream = StreamId("scene-1")
        huge = new_event(PropertySet(node="n0", prop="script", value="x" * (1024 * 1024 + 1)))
        with pytest.raises(PayloadTooLarge):
            await store.append_runs(stream, [run("k1", 1), AppendRun([huge], "k2")], 0)
        assert await store.head_version(stream) == 0
        assert await store.find_append("k1") is None

    async def test_stores_racing_with_runs_for_one_version_one_wins(
        self, backend: StoreBackend
    ) -> None:
        first, second = backend.open(), backend.open()
        try:
            for round_ in range(10):
                stream = StreamId(f"race-{round_}")
                await first.append(stream, nodes(1), 0)
                outcomes = await asyncio.gather(
                    first.append_runs(stream, [run(f"a{round_}", 1), run(f"b{round_}", 2)], 1),
                    second.append_runs(stream, [run(f"c{round_}", 2)], 1),
                    return_exceptions=True,
                )
                won = [o for o in outcomes if isinstance(o, list)]
                lost = [o for o in outcomes if isinstance(o, ConcurrencyConflict)]
                assert len(won) == 1 and len(lost) == 1, outcomes
                assert await first.head_version(stream) == won[0][-1].last_version
                losers = ("c",) if len(won[0]) == 2 else ("a", "b")
                for prefix in losers:
                    assert await first.find_append(f"{prefix}{round_}") is None
        finally:
            await first.close()
            await second.close()
