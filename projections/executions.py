"""The executions read model: finished executions and their tasks, which scene state
no longer holds, found by execution, task, content key or goal.

`execution_events` indexes the log: one row per event of an execution or a task
(and per fork, so that a branch finds what it inherited from its ancestors), with
the ids queries look up by and the event's provenance; the payloads stay in the
log. A query reads an execution's events and folds them with the engine's own
reducers (`engine.archive`), so a finished execution reads exactly as the scene's
state held it when it finished.

`ExecutionsReadModel` answers `engine.ports.ExecutionArchive` from it. Asked about a
version of a branch that the read model has not reached yet, it catches the model
up first (in this process, beside any runner), so an execution that just finished
is never missing from either place.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping, Sequence
from typing import Any, Literal, TypeVar

from engine.archive import finished_records, newest_of, oldest_first
from engine.codec import decode_event
from engine.errors import NotFound
from engine.events import (
    BranchForked,
    EventMetadata,
    ExecutionFinished,
    ExecutionResumed,
    ExecutionStarted,
    RecordedEvent,
    TaskBlocked,
    TaskPlanned,
)
from engine.executions import ExecutionRecord, ExecutionState, TaskState
from engine.ports import EventStore, StreamId
from projections.generations import active_generation, list_generations
from projections.ports import ACTIVE, Condition, ReadModelStore, ReadModelView, Record
from projections.projection import Rows
from projections.runner import ProjectionRunner
from projections.times import from_micros, to_micros

TABLE = "execution_events"
CATCH_UP_TRIES = 10
COLUMNS = (
    "position",
    "scene",
    "branch",
    "version",
    "recorded_at",
    "type",
    "studio",
    "actor",
    "intent_id",
    "execution_id",
    "transform",
    "transform_version",
    "execution",
    "task",
    "content_key",
    "goal",
    "cause",
)
# (execution, task, content_key, goal, cause) of the events this model indexes
Keys = tuple[str | None, str | None, str | None, str | None, str | None]
_KEYS: dict[type, Callable[[Any], Keys]] = {
    ExecutionStarted: lambda e: (e.execution, None, None, e.goal, None),
    ExecutionFinished: lambda e: (e.execution, None, None, None, None),
    ExecutionResumed: lambda e: (e.image.id, None, None, None, None),
    TaskPlanned: lambda e: (e.execution, e.task, e.content_key, None, None),
    TaskBlocked: lambda e: (None, e.task, None, None, e.cause),
    BranchForked: lambda e: (None, None, None, None, None),
}
_TASK_EVENTS = frozenset(
    {
        "TaskDispatched",
        "TaskStarted",
        "TaskSucceeded",
        "TaskFailed",
        "TaskCanceled",
        "TaskRetryRequested",
    }
)


def _keys(payload: Any) -> Keys | None:
    found = _KEYS.get(type(payload))
    if found is not None:
        return found(payload)
    if type(payload).__name__ in _TASK_EVENTS:
        return (None, payload.task, None, None, None)
    return None


class ExecutionsProjection:
    name = "executions"
    version = 1
    tables: Mapping[str, tuple[str, ...]] = {TABLE: COLUMNS}

    def rows(self, event: RecordedEvent, out: Rows) -> None:
        keys = _keys(event.payload)
        if keys is None:
            return
        meta = event.metadata
        out[TABLE].append(
            (
                event.position,
                event.scene,
                event.branch,
                event.version,
                to_micros(event.recorded_at),
                type(event.payload).__name__,
                meta.studio,
                meta.actor,
                meta.intent_id,
                meta.execution_id,
                meta.transform,
                meta.transform_version,
                *keys,
            )
        )


# (branch, newest version of it that counts) from the branch asked about to `main`
Chain = list[tuple[str, int]]
Found = TypeVar("Found")


class _Reader:
    """Queries of one read snapshot, over a branch and its ancestors up to each fork."""

    def __init__(self, view: ReadModelView, generation: int, scene: str, chain: Chain) -> None:
        self.view, self.generation, self.scene, self.chain = view, generation, scene, chain

    async def rows(self, *where: Condition) -> list[Record]:
        found: list[Record] = []
        for branch, up_to in self.chain:
            bounds: list[Condition] = [
                ("scene", "=", self.scene),
                ("branch", "=", branch),
                ("version", "<=", up_to),
            ]
            found += await self.view.find(TABLE, self.generation, [*bounds, *where])
        return sorted(found, key=lambda r: int(r["position"]))

    async def records(self, executions: Collection[str]) -> dict[str, ExecutionRecord]:
        """The named executions that are finished, as they finished."""
        if not executions:
            return {}
        own = await self.rows(("execution", "in", sorted(executions)))
        tasks = sorted({r["task"] for r in own if r["task"] is not None})
        of_tasks = await self.rows(("task", "in", tasks)) if tasks else []
        merged = {int(r["position"]): r for r in [*own, *of_tasks]}
        events = [_event(merged[p]) for p in sorted(merged)]
        return {k: v for k, v in finished_records(events).items() if k in executions}

    async def executions_of_tasks(self, tasks: Iterable[str]) -> set[str]:
        wanted = sorted(set(tasks))
        if not wanted:
            return set()
        planned = await self.rows(("task", "in", wanted), ("type", "=", "TaskPlanned"))
        return {str(r["execution"]) for r in planned}


async def _chain(view: ReadModelView, generation: int, stream: StreamId, up_to: int) -> Chain:
    chain: Chain = [(stream.branch, up_to)]
    branch = stream.branch
    while True:
        where: list[Condition] = [
            ("scene", "=", stream.scene),
            ("branch", "=", branch),
            ("type", "=", "BranchForked"),
        ]
        found = await view.find(TABLE, generation, where, limit=1)
        if not found:
            return chain
        fork = _event(found[0]).payload
        assert isinstance(fork, BranchForked)
        branch = fork.parent
        chain.append((branch, fork.parent_version))


def _event(record: Record) -> RecordedEvent:
    position = int(record["position"])
    payload = decode_event(record["type"], record["schema_version"], record["data"], position)
    metadata = EventMetadata(
        studio=record["studio"],
        actor=record["actor"],
        intent_id=record["intent_id"],
        execution_id=record["execution_id"],
        transform=record["transform"],
        transform_version=record["transform_version"],
    )
    return RecordedEvent(
        "",
        record["scene"],
        record["branch"],
        int(record["version"]),
        position,
        from_micros(record["recorded_at"]),
        metadata,
        payload,
    )


class ExecutionsReadModel:
    """`engine.ports.ExecutionArchive` on the executions read model."""

    def __init__(self, store: EventStore, read_models: ReadModelStore) -> None:
        self.store = store
        self.read_models = read_models
        self._runner = ProjectionRunner(store, read_models, [ExecutionsProjection()])
        self._catching_up = asyncio.Lock()

    async def execution(
        self, stream: StreamId, execution_id: str, up_to: int
    ) -> ExecutionRecord | None:
        async def find(reader: _Reader) -> ExecutionRecord | None:
            return (await reader.records({execution_id})).get(execution_id)

        return await self._read(stream, up_to, find, None)

    async def holding(self, stream: StreamId, task_id: str, up_to: int) -> ExecutionRecord | None:
        async def find(reader: _Reader) -> ExecutionRecord | None:
            executions = await reader.executions_of_tasks([task_id])
            records = await reader.records(executions)
            return next(iter(records.values()), None)

        return await self._read(stream, up_to, find, None)

    async def blocked_by(self, stream: StreamId, task_id: str, up_to: int) -> list[ExecutionRecord]:
        async def find(reader: _Reader) -> list[ExecutionRecord]:
            blocked = await reader.rows(("cause", "=", task_id))
            executions = await reader.executions_of_tasks(str(r["task"]) for r in blocked)
            records = (await reader.records(executions)).values()
            # blocked once, maybe retried since: only what is blocked by it now counts
            return oldest_first(r for r in records if any(t.cause == task_id for t in r.tasks))

        return await self._read(stream, up_to, find, [])

    async def executions(self, stream: StreamId, up_to: int) -> list[ExecutionRecord]:
        async def find(reader: _Reader) -> list[ExecutionRecord]:
            events = [_event(r) for r in await reader.rows()]
            return oldest_first(finished_records(events).values())

        return await self._read(stream, up_to, find, [])

    async def started(self, stream: StreamId, up_to: int) -> list[str]:
        """Every execution the branch started (finished or not), oldest first: a list of
        a scene's executions pages through these and folds only the page's."""

        async def find(reader: _Reader) -> list[str]:
            rows = await reader.rows(("type", "=", ExecutionStarted.__name__))
            return [str(r["execution"]) for r in rows]

        return await self._read(stream, up_to, find, [])

    async def finished(
        self, stream: StreamId, executions: Collection[str], up_to: int
    ) -> dict[str, ExecutionRecord]:
        """The named executions that had finished by version `up_to`, as they finished."""

        async def find(reader: _Reader) -> dict[str, ExecutionRecord]:
            return await reader.records(executions)

        return await self._read(stream, up_to, find, {})

    async def tasks_for(
        self, stream: StreamId, content_keys: Collection[str], up_to: int
    ) -> list[TaskState]:
        keys = set(content_keys)

        async def find(reader: _Reader) -> list[TaskState]:
            if not keys:
                return []
            planned = await reader.rows(("content_key", "in", sorted(keys)))
            records = await reader.records({str(r["execution"]) for r in planned})
            return [t for r in records.values() for t in r.tasks if t.content_key in keys]

        return await self._read(stream, up_to, find, [])

    async def newest(self, stream: StreamId, goal: str, up_to: int) -> ExecutionState | None:
        async def find(reader: _Reader) -> ExecutionState | None:
            started = await reader.rows(("type", "=", "ExecutionStarted"), ("goal", "=", goal))
            for row in sorted(started, key=lambda r: -int(r["version"])):
                records = await reader.records({str(row["execution"])})
                newest = newest_of(records.values(), goal)
                if newest is not None:
                    return newest
            return None

        return await self._read(stream, up_to, find, None)

    async def ids_starting(
        self,
        stream: StreamId,
        kind: Literal["execution", "task"],
        start: str,
        up_to: int,
        limit: int,
    ) -> list[str]:
        first = "ExecutionStarted" if kind == "execution" else "TaskPlanned"

        async def find(reader: _Reader) -> list[str]:
            rows = await reader.rows(("type", "=", first), (kind, "starts", start))
            return sorted({str(row[kind]) for row in rows})[:limit]

        return await self._read(stream, up_to, find, [])

    async def _read(
        self,
        stream: StreamId,
        up_to: int,
        find: Callable[[_Reader], Awaitable[Found]],
        nothing: Found,
    ) -> Found:
        if up_to <= 0:
            return nothing
        await self._reach(stream, up_to)
        async with self.read_models.reading() as view:
            try:
                generation = await active_generation(view, ExecutionsProjection.name)
            except NotFound:
                return nothing
            chain = await _chain(view, generation, stream, up_to)
            return await find(_Reader(view, generation, stream.scene, chain))

    async def _reach(self, stream: StreamId, up_to: int) -> None:
        """Catch the model up when it has not folded version `up_to` of `stream` yet. A
        catch-up whose last batch another runner committed first (with fewer events)
        stops short of the head, so look again."""
        _, position = await self.store.positions_of(stream, up_to, up_to)
        for _ in range(CATCH_UP_TRIES):
            if await self._position() >= position:
                return
            async with self._catching_up:
                if await self._position() < position:
                    await self._runner.catch_up()

    async def _position(self) -> int:
        found = await list_generations(self.read_models)
        name, version = ExecutionsProjection.name, ExecutionsProjection.version
        active = [
            g.position
            for g in found
            if (g.projection, g.role, g.version) == (name, ACTIVE, version)
        ]
        return max(active, default=-1)


__all__: Sequence[str] = ["COLUMNS", "TABLE", "ExecutionsProjection", "ExecutionsReadModel"]
