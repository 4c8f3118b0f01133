"""The projection runner on SQLite and PostgreSQL: catch-up, live following, exactly-once
commits, failures that stop at the event, and blue/green rebuilds."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import pytest

from engine.errors import RowsRefused, StoreError
from engine.events import PropertySet, RecordedEvent
from engine.ports import EventStore
from projections.catalog import default_projections, statuses
from projections.errors import ProjectionFailed
from projections.generations import list_generations
from projections.history import HistoryProjection, HistoryQuery, find_history
from projections.lineage import LineageProjection, trace_artifact
from projections.projection import Rows
from projections.runner import ProjectionRunner
from tests.projections.conftest import Backend, Crashing, active_rows, scratch_rows, whole_log
from tests.projections.scenes import busy_scene, run_diagnostics


async def test_catch_up_folds_every_event_once_into_every_projection(backend: Backend) -> None:
    await busy_scene(backend)
    runner = backend.runner(batch_size=7)
    read = await runner.catch_up()
    head = await backend.store.head_position()
    assert read == head
    assert await active_rows(backend.read_models) == scratch_rows(await whole_log(backend.store))
    assert await runner.catch_up() == 0  # nothing new: nothing read
    found = await statuses(backend.read_models, default_projections(), head)
    assert [(s.name, s.position, s.lag, s.error) for s in found] == [
        ("history", head, 0, None),
        ("lineage", head, 0, None),
        ("executions", head, 0, None),
    ]


class Brittle(HistoryProjection):
    """History that cannot fold a title of 'boom'."""

    def rows(self, event: RecordedEvent, out: Rows) -> None:
        super().rows(event, out)  # rows of the failing event must never be committed
        if isinstance(event.payload, PropertySet) and event.payload.value == "boom":
            raise ValueError("cannot fold a boom")


async def test_a_failing_projection_stops_at_the_event_and_keeps_its_checkpoint(
    backend: Backend,
) -> None:
    await busy_scene(backend)
    receipt = await backend.act(
        "film", {"name": "set_property", "node": "shot-1", "prop": "title", "value": "boom"}
    )
    await run_diagnostics(backend, "film", 1)
    bad = receipt.last_version
    log = await whole_log(backend.store)
    position = next(e.position for e in log if e.scene == "film" and e.version == bad)
    runner = ProjectionRunner(
        backend.store, backend.read_models, [Brittle(), LineageProjection()], batch_size=1000
    )
    with pytest.raises(ProjectionFailed) as failed:
        await runner.catch_up()
    assert failed.value.position == position
    assert f"failed on the event at position {position} (PropertySet)" in str(failed.value)
    assert f"checkpoint stays at {position - 1}" in str(failed.value)
    head = await backend.store.head_position()
    found = {s.name: s for s in await statuses(backend.read_models, default_projections(), head)}
    assert found["history"].position == position - 1 and "cannot fold a boom" in (
        found["history"].error or ""
    )
    assert (found["lineage"].position, found["lineage"].error) == (head, None)
    history = await find_history(backend.read_models, HistoryQuery())
    assert [e.position for e in history] == list(range(1, position))
    # Fixed code picks up from the checkpoint and clears the error.
    await backend.runner().catch_up()
    assert await active_rows(backend.read_models) == scratch_rows(log)
    assert all(g.error is None for g in await list_generations(backend.read_models))


async def test_a_batch_that_dies_inside_its_transaction_writes_nothing(backend: Backend) -> None:
    await busy_scene(backend)
    crashing = Crashing(backend.read_models, crash_at=4)  # history's second batch
    runner = ProjectionRunner(backend.store, crashing, default_projections(), batch_size=10)  # type: ignore[arg-type]
    with pytest.raises(ProjectionFailed, match=r"commit of projection .* refused") as failed:
        await runner.catch_up()
    assert isinstance(failed.value.cause, RowsRefused)
    reached = {g.projection: g.position for g in await list_generations(backend.read_models)}
    assert reached["history"] == 10  # its second batch died: its checkpoint stayed
    log = await whole_log(backend.store)
    for projection in default_projections():  # each holds exactly its checkpoint's prefix
        prefix = scratch_rows(log[: reached[projection.name]])
        held = await active_rows(backend.read_models)
        assert {t: held[t] for t in projection.tables} == {t: prefix[t] for t in projection.tables}
    await backend.runner(batch_size=10).catch_up()  # a restarted runner
    assert await active_rows(backend.read_models) == scratch_rows(await whole_log(backend.store))


async def test_two_runners_at_once_never_record_a_batch_twice(backend: Backend) -> None:
    await busy_scene(backend)
    await run_diagnostics(backend, "film", 20)
    runners = [backend.runner(batch_size=size) for size in (5, 3, 4)]
    await asyncio.gather(*(runner.catch_up() for runner in runners))
    assert await active_rows(backend.read_models) == scratch_rows(await whole_log(backend.store))
    found = await list_generations(backend.read_models)
    roles = [(g.projection, g.generation, g.role) for g in found]
    assert roles == [
        ("executions", 1, "active"),
        ("history", 1, "active"),
        ("lineage", 1, "active"),
    ]


async def test_the_live_runner_follows_new_events(backend: Backend) -> None:
    await busy_scene(backend)
    running = asyncio.create_task(backend.runner().run())
    try:
        await _caught_up(backend)
        await backend.act(
            "film", {"name": "set_property", "node": "shot-2", "prop": "seed", "value": 7}
        )
        await _caught_up(backend)
        edits = await find_history(backend.read_models, HistoryQuery(scene="film", node="shot-2"))
        assert isinstance(edits[-1].payload, PropertySet) and edits[-1].payload.value == 7
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running


async def _caught_up(backend: Backend) -> None:
    head = await backend.store.head_position()
    for _ in range(400):
        found = await list_generations(backend.read_models)
        if len(found) == 3 and all(g.position >= head for g in found):
            return
        await asyncio.sleep(0.025)
    raise AssertionError(f"the live runner did not reach position {head}: {found}")


async def test_a_rebuild_gives_identical_tables_and_takes_over(backend: Backend) -> None:
    await busy_scene(backend)
    runner = backend.runner(batch_size=6)
    await runner.catch_up()
    before = await active_rows(backend.read_models)
    assert await runner.rebuild("history") == {"history": 2}
    assert await active_rows(backend.read_models) == before
    assert await runner.rebuild("history", "lineage") == {"history": 3, "lineage": 2}
    assert await active_rows(backend.read_models) == before
    assert await runner.drop_retired() == 2  # history 2, lineage 1
    found = [
        (g.projection, g.generation, g.role) for g in await list_generations(backend.read_models)
    ]
    assert found == [
        ("executions", 1, "active"),
        ("history", 3, "active"),
        ("lineage", 2, "active"),
    ]
    with pytest.raises(Exception, match="no projection 'ghost'; the projections are: executions"):
        await runner.rebuild("ghost")


class SlowStore:
    """The event store, with every read of the log taking a while longer."""

    def __init__(self, inner: EventStore, delay: float) -> None:
        self.inner, self.delay = inner, delay

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def read_all(self, after_position: int, limit: int = 1000) -> list[RecordedEvent]:
        await asyncio.sleep(self.delay)
        return await self.inner.read_all(after_position, limit)


async def test_a_rebuild_under_live_traffic_serves_the_old_generation_until_caught_up(
    backend: Backend,
) -> None:
    await busy_scene(backend)
    await backend.runner().catch_up()
    artifact = next(t.artifact for t in await backend.tasks("film") if t.artifact is not None)
    before = await trace_artifact(backend.read_models, artifact)

    async def traffic() -> None:
        for n in range(15):
            edit = {"name": "set_property", "node": "shot-1", "prop": "seed", "value": n}
            await backend.act("film", edit)

    slow = SlowStore(backend.store, 0.02)
    runner = ProjectionRunner(slow, backend.read_models, default_projections(), batch_size=4)  # type: ignore[arg-type]
    rebuilding = asyncio.create_task(runner.rebuild("lineage"))
    live = asyncio.create_task(traffic())
    served_while_building = 0
    while not rebuilding.done():
        found = await list_generations(backend.read_models)
        if any(g.role == "building" and g.position > 0 for g in found):
            assert await trace_artifact(backend.read_models, artifact) == before
            served_while_building += 1
        await asyncio.sleep(0.01)
    await asyncio.gather(live, rebuilding)
    assert served_while_building > 0
    await backend.runner().catch_up()
    assert await active_rows(backend.read_models) == scratch_rows(await whole_log(backend.store))
    roles = {
        (g.projection, g.generation, g.role) for g in await list_generations(backend.read_models)
    }
    assert roles == {
        ("executions", 1, "active"),
        ("history", 1, "active"),
        ("lineage", 2, "active"),
    }


class HistoryV2(HistoryProjection):
    version = 2


async def test_a_new_projection_version_rebuilds_itself_beside_the_old_one(
    backend: Backend,
) -> None:
    await busy_scene(backend)
    await backend.runner().catch_up()
    upgraded = ProjectionRunner(
        backend.store, backend.read_models, [HistoryV2(), LineageProjection()]
    )
    await upgraded.catch_up()
    found = [
        (g.projection, g.generation, g.version, g.role)
        for g in await list_generations(backend.read_models)
    ]
    assert found == [
        ("executions", 1, 1, "active"),
        ("history", 1, 1, "retired"),
        ("history", 2, 2, "active"),
        ("lineage", 1, 1, "active"),
    ]
    assert await active_rows(backend.read_models) == scratch_rows(await whole_log(backend.store))
    await upgraded.catch_up()  # the next pass drops what the rebuild replaced
    assert [g.generation for g in await list_generations(backend.read_models)] == [1, 2, 1]


class FlakyStore(SlowStore):
    """The event store, unreachable for its first `failures` reads of the log."""

    def __init__(self, inner: EventStore, failures: int) -> None:
        super().__init__(inner, 0.0)
        self.failures = failures

    async def read_all(self, after_position: int, limit: int = 1000) -> list[RecordedEvent]:
        if self.failures:
            self.failures -= 1
            raise StoreError("connection refused")
        return await self.inner.read_all(after_position, limit)


async def test_the_live_runner_waits_out_an_unreachable_database(
    sqlite_backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("projections.runner.RETRY_FIRST", 0.01)
    await busy_scene(sqlite_backend)
    flaky = FlakyStore(sqlite_backend.store, failures=3)
    runner = ProjectionRunner(flaky, sqlite_backend.read_models, default_projections())  # type: ignore[arg-type]
    running = asyncio.create_task(runner.run())
    try:
        await _caught_up(sqlite_backend)
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running
    assert flaky.failures == 0
