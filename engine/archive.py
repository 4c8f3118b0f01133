"""Finished executions as they finished, folded from their events: what an
`engine.ports.ExecutionArchive` answers with, and `LogArchive`, the archive that
reads the log itself.

The reducers that fold scene state fold these too, so a finished execution reads
exactly as the state held it the moment before it finished.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Literal

import msgspec

from engine.events import BranchForked, ExecutionFinished, ExecutionResumed, RecordedEvent
from engine.executions import ExecutionRecord, ExecutionState, TaskState
from engine.ports import EventStore, StreamId
from engine.reducers import apply
from engine.scene import SceneState

_replace = msgspec.structs.replace


def finished_records(events: Iterable[RecordedEvent]) -> dict[str, ExecutionRecord]:
    """Each execution of `events` (oldest first: whole executions, or a branch's log)
    as it last finished; one resumed since, and not finished again, is left out."""
    state = SceneState(scene="", branch="")
    records: dict[str, ExecutionRecord] = {}
    for event in events:
        payload = event.payload
        if isinstance(payload, ExecutionFinished):
            record = _as_finished(state, payload)
            records.pop(payload.execution, None)
            if record is not None:
                records[payload.execution] = record
        elif isinstance(payload, ExecutionResumed):
            records.pop(payload.image.id, None)
        state = apply(state, event)
    return records


def _as_finished(state: SceneState, event: ExecutionFinished) -> ExecutionRecord | None:
    run = state.executions.get(event.execution)
    if run is None:
        return None
    tasks = tuple(state.tasks[t] for t in run.tasks if t in state.tasks)
    return ExecutionRecord(_replace(run, status=event.status), tasks)


def task_states(events: Iterable[RecordedEvent]) -> dict[str, TaskState]:
    """Tasks folded from their own events (`TaskPlanned` first), by id; events of
    anything else are passed over."""
    state = SceneState(scene="", branch="")
    for event in events:
        if not isinstance(event.payload, ExecutionFinished | ExecutionResumed):
            state = apply(state, event)
    return dict(state.tasks.items())


def oldest_first(records: Iterable[ExecutionRecord]) -> list[ExecutionRecord]:
    return sorted(records, key=lambda r: (r.execution.started.version, r.execution.id))


def newest_of(records: Iterable[ExecutionRecord], goal: str) -> ExecutionState | None:
    found = [r.execution for r in records if r.execution.goal == goal]
    return max(found, key=lambda e: e.started.version, default=None)


class LogArchive:
    """An ExecutionArchive that reads a branch's log (and its ancestors' up to the fork)
    and folds it: exact, but each answer costs the branch's whole history. For tests
    and for stores without read models; the API uses `projections.executions`."""

    def __init__(self, store: EventStore) -> None:
        self.store = store

    async def _records(self, stream: StreamId, up_to: int) -> dict[str, ExecutionRecord]:
        return finished_records(await self._log(stream, up_to))

    async def _log(self, stream: StreamId, up_to: int) -> list[RecordedEvent]:
        events = await self.store.read_stream(stream, 0, up_to)
        if events and isinstance(events[0].payload, BranchForked):
            fork = events[0].payload
            parent = StreamId(stream.scene, fork.parent)
            events = [*await self._log(parent, fork.parent_version), *events]
        return events

    async def execution(
        self, stream: StreamId, execution_id: str, up_to: int
    ) -> ExecutionRecord | None:
        return (await self._records(stream, up_to)).get(execution_id)

    async def holding(self, stream: StreamId, task_id: str, up_to: int) -> ExecutionRecord | None:
        records = (await self._records(stream, up_to)).values()
        return next((r for r in records if any(t.id == task_id for t in r.tasks)), None)

    async def blocked_by(self, stream: StreamId, task_id: str, up_to: int) -> list[ExecutionRecord]:
        records = (await self._records(stream, up_to)).values()
        return [r for r in records if any(t.cause == task_id for t in r.tasks)]

    async def executions(self, stream: StreamId, up_to: int) -> list[ExecutionRecord]:
        return oldest_first((await self._records(stream, up_to)).values())

    async def tasks_for(
        self, stream: StreamId, content_keys: Collection[str], up_to: int
    ) -> list[TaskState]:
        records = (await self._records(stream, up_to)).values()
        return [t for r in records for t in r.tasks if t.content_key in content_keys]

    async def newest(self, stream: StreamId, goal: str, up_to: int) -> ExecutionState | None:
        return newest_of((await self._records(stream, up_to)).values(), goal)

    async def ids_starting(
        self,
        stream: StreamId,
        kind: Literal["execution", "task"],
        start: str,
        up_to: int,
        limit: int,
    ) -> list[str]:
        records = (await self._records(stream, up_to)).values()
        if kind == "execution":
            ids = {r.execution.id for r in records}
        else:
            ids = {t.id for r in records for t in r.tasks}
        return sorted(i for i in ids if i.startswith(start))[:limit]
