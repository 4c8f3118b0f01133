"""Executions and their tasks as scene state, with the lifecycle each task may follow.

A task's status moves only along `TRANSITIONS`; a result that would move it any
other way (a duplicate, a late result of an old attempt) changes nothing.
"""

from __future__ import annotations

from typing import Any

import msgspec

from engine.events import TaskInput, TaskPlanned, TaskTarget
from engine.provenance import Provenance
from engine.tasks import ExecutionStatus, TaskStatus


def _to(*statuses: str) -> frozenset[TaskStatus]:
    return frozenset(TaskStatus(status) for status in statuses)


TRANSITIONS: dict[TaskStatus, frozenset[TaskStatus]] = {
    TaskStatus.PLANNED: _to("queued", "running", "succeeded", "failed", "blocked", "canceled"),
    TaskStatus.QUEUED: _to("running", "succeeded", "failed", "canceled", "blocked"),
    TaskStatus.RUNNING: _to("succeeded", "failed", "canceled"),
    TaskStatus.SUCCEEDED: _to(),
    TaskStatus.FAILED: _to("planned"),
    TaskStatus.BLOCKED: _to("planned", "canceled"),
    TaskStatus.CANCELED: _to("planned"),
}
FINISHED = _to("succeeded", "failed", "blocked", "canceled")


def can_move(current: TaskStatus, to: TaskStatus) -> bool:
    return to in TRANSITIONS[current]


class TaskState(msgspec.Struct, frozen=True, gc=False):
    id: str
    execution: str
    operation: str
    model: str
    provider: str
    lane: str
    content_key: str
    planned: Provenance
    params: dict[str, Any] = {}
    inputs: tuple[TaskInput, ...] = ()
    targets: tuple[TaskTarget, ...] = ()
    description: str = ""
    status: TaskStatus = TaskStatus.PLANNED
    attempt: int = 1
    dispatched: int = 0  # the last attempt handed to the bus
    artifact: str | None = None
    outputs: dict[str, Any] = {}
    error_kind: str | None = None
    error: str | None = None
    cause: str | None = None  # the failed task a blocked task waits on
    deliveries: int = 0
    queue_wait: float = 0.0
    run_time: float = 0.0
    cost: float = 0.0
    worker: str = ""

    @property
    def depends_on(self) -> list[str]:
        return [i.task for i in self.inputs if i.task is not None]

    @classmethod
    def from_planned(cls, event: TaskPlanned, prov: Provenance) -> TaskState:
        return cls(
            id=event.task,
            execution=event.execution,
            operation=event.operation,
            model=event.model,
            provider=event.provider,
            lane=event.lane,
            content_key=event.content_key,
            planned=prov,
            params=event.params,
            inputs=tuple(event.inputs),
            targets=tuple(event.targets),
            description=event.description,
        )


class ExecutionState(msgspec.Struct, frozen=True, gc=False):
    id: str
    intent_id: str
    goal: str
    started: Provenance
    status: ExecutionStatus = ExecutionStatus.RUNNING
    tasks: tuple[str, ...] = ()
    planned: int = 0
    reused: int = 0
    open: int = 0  # tasks not finished yet
    failed: int = 0  # tasks finished other than succeeded
    bound: tuple[str, ...] = ()  # the nodes its intent targeted


def waiting(task: TaskState) -> bool:
    """Planned and not yet handed to the bus for its current attempt."""
    return task.status == TaskStatus.PLANNED and task.dispatched < task.attempt
