"""Executions and their tasks as scene state, with the lifecycle each task may follow.

A task's status moves only along `TRANSITIONS`; a result that would move it any
other way (a duplicate, a late result of an old attempt) changes nothing.

Scene state holds open executions only: a finished one leaves it, and its
`ExecutionRecord` (the execution and its tasks as they finished) is kept where
executions are queried (`engine.ports.ExecutionArchive`). A retried task brings its
execution back whole (`ExecutionResumed` carries its `image_of`).
"""

from __future__ import annotations

from typing import Any

import msgspec

from engine.events import ExecutionImage, TaskImage, TaskInput, TaskPlanned, TaskTarget
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


class ExecutionRecord(msgspec.Struct, frozen=True, gc=False):
    """An execution with its tasks, in plan order."""

    execution: ExecutionState
    tasks: tuple[TaskState, ...]


def image_of(record: ExecutionRecord) -> ExecutionImage:
    run = record.execution
    return ExecutionImage(
        id=run.id,
        intent_id=run.intent_id,
        goal=run.goal,
        started=run.started,
        status=run.status,
        planned=run.planned,
        reused=run.reused,
        bound=list(run.bound),
        tasks=[TaskImage(**_fields(task)) for task in record.tasks],
    )


def record_of(image: ExecutionImage) -> ExecutionRecord:
    tasks = tuple(TaskState(**_fields(task)) for task in image.tasks)
    execution = ExecutionState(
        image.id,
        image.intent_id,
        image.goal,
        image.started,
        status=image.status,
        tasks=tuple(task.id for task in tasks),
        planned=image.planned,
        reused=image.reused,
        open=sum(1 for task in tasks if task.status not in FINISHED),
        failed=sum(1 for task in tasks if _failed(task)),
        bound=tuple(image.bound),
    )
    return ExecutionRecord(execution, tasks)


def _fields(task: TaskState | TaskImage) -> dict[str, Any]:
    fields = msgspec.structs.asdict(task)
    sequence = list if isinstance(task, TaskState) else tuple
    fields["inputs"] = sequence(fields["inputs"])
    fields["targets"] = sequence(fields["targets"])
    return fields


def _failed(task: TaskState) -> bool:
    return task.status in FINISHED and task.status != TaskStatus.SUCCEEDED


def waiting(task: TaskState) -> bool:
    """Planned and not yet handed to the bus for its current attempt."""
    return task.status == TaskStatus.PLANNED and task.dispatched < task.attempt
