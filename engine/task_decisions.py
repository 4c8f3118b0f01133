"""Decisions for intents about running work: cancel an execution or a task, retry a task.

Scene state holds running executions only. Finished ones, which these intents may
name too, come as `ArchivedWork` (the engine service finds them in its
`ExecutionArchive`): cancelling one is refused with its status, as before; retrying
a task of one brings the execution back into the state first (`ExecutionResumed`).
"""

from __future__ import annotations

import msgspec

from engine.errors import InvalidIntent
from engine.events import (
    AnyEvent,
    ExecutionFinished,
    ExecutionResumed,
    TaskCanceled,
    TaskRetryRequested,
)
from engine.executions import FINISHED, ExecutionRecord, TaskState, image_of
from engine.intents import CancelExecution, CancelTask, RetryTask
from engine.results import block_dependents, finish_if_done
from engine.scene import SceneState
from engine.tasks import ExecutionStatus, TaskStatus


class ArchivedWork(msgspec.Struct, frozen=True):
    """Finished executions an intent about work names, that the state no longer holds:
    the one it names (or that holds the task it names), then for a retry those holding
    tasks blocked by that task."""

    records: tuple[ExecutionRecord, ...] = ()

    def execution(self, execution_id: str) -> ExecutionRecord | None:
        return next((r for r in self.records if r.execution.id == execution_id), None)

    def task(self, task_id: str) -> TaskState | None:
        return next((t for r in self.records for t in r.tasks if t.id == task_id), None)


NOTHING_ARCHIVED = ArchivedWork()


def decide_cancel_execution(
    state: SceneState, action: CancelExecution, archived: ArchivedWork = NOTHING_ARCHIVED
) -> list[AnyEvent]:
    execution = state.executions.get(action.execution)
    if execution is None:
        record = archived.execution(action.execution)
        if record is None:
            raise InvalidIntent("action.execution", f"no execution {action.execution!r} here")
        execution = record.execution
    if execution.status != ExecutionStatus.RUNNING:
        raise InvalidIntent("action.execution", f"execution already {execution.status}")
    events: list[AnyEvent] = [
        TaskCanceled(tid, "execution canceled", state.tasks[tid].attempt)
        for tid in execution.tasks
        if state.tasks[tid].status not in FINISHED
    ]
    events.append(ExecutionFinished(execution.id, ExecutionStatus.CANCELED))
    return events


def decide_cancel_task(
    state: SceneState, action: CancelTask, archived: ArchivedWork = NOTHING_ARCHIVED
) -> list[AnyEvent]:
    task = _task(state, archived, action.task, "action.task")
    if task.status in FINISHED:
        raise InvalidIntent("action.task", f"task {task.id} already {task.status}")
    blocked = block_dependents(state, task.id, f"{task.id} canceled")
    # the execution ends with its last open task, however that task ended
    outcomes = {task.id: TaskStatus.CANCELED, **{b.task: TaskStatus.BLOCKED for b in blocked}}
    executions = {task.execution} | {state.tasks[b.task].execution for b in blocked}
    finished = [e for ex in sorted(executions) for e in finish_if_done(state, ex, outcomes)]
    return [TaskCanceled(task.id, "canceled", task.attempt), *blocked, *finished]


def decide_retry_task(
    state: SceneState, action: RetryTask, archived: ArchivedWork = NOTHING_ARCHIVED
) -> list[AnyEvent]:
    task = _task(state, archived, action.task, "action.task")
    if task.status not in (TaskStatus.FAILED, TaskStatus.BLOCKED, TaskStatus.CANCELED):
        raise InvalidIntent(
            "action.task",
            f"task {task.id} is {task.status}; only failed, blocked or "
            "canceled tasks can be retried",
        )
    if task.status == TaskStatus.BLOCKED and task.cause is not None:
        raise InvalidIntent("action.task", f"task {task.id} waits on {task.cause}; retry that")
    waiting = [t for t in _blocked_by(state, archived, task.id) if t.status == TaskStatus.BLOCKED]
    return [
        *_resumed(state, archived, [task, *waiting]),
        TaskRetryRequested(task.id, task.attempt + 1),
        *(TaskRetryRequested(t.id, t.attempt) for t in waiting),
    ]


def _resumed(
    state: SceneState, archived: ArchivedWork, tasks: list[TaskState]
) -> list[ExecutionResumed]:
    """The finished executions of `tasks`, back into the state before they run again."""
    back: dict[str, ExecutionResumed] = {}
    for task in tasks:
        record = archived.execution(task.execution)
        if task.execution in state.executions or task.execution in back or record is None:
            continue
        back[task.execution] = ExecutionResumed(image_of(record))
    return list(back.values())


def _blocked_by(state: SceneState, archived: ArchivedWork, root: str) -> list[TaskState]:
    """Tasks blocked by `root`: running executions' from the state, the finished ones'
    from the archive (a task in both counts once, as the state has it)."""
    found = {t.id: t for t in state.tasks.values() if t.cause == root}
    for record in archived.records:
        if record.execution.id in state.executions:
            continue
        for task in record.tasks:
            if task.cause == root and task.id not in found:
                found[task.id] = task
    return sorted(found.values(), key=lambda t: t.id)


def _task(state: SceneState, archived: ArchivedWork, task_id: str, field: str) -> TaskState:
    task = state.tasks.get(task_id) or archived.task(task_id)
    if task is None:
        raise InvalidIntent(field, f"no task {task_id!r} in this scene")
    return task
