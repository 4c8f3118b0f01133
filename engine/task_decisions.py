"""Decisions for intents about running work: cancel an execution or a task, retry a task."""

from __future__ import annotations

from engine.errors import InvalidIntent
from engine.events import AnyEvent, ExecutionFinished, TaskCanceled, TaskRetryRequested
from engine.executions import FINISHED, TaskState
from engine.intents import CancelExecution, CancelTask, RetryTask
from engine.results import block_dependents
from engine.scene import SceneState
from engine.tasks import ExecutionStatus, TaskStatus


def decide_cancel_execution(state: SceneState, action: CancelExecution) -> list[AnyEvent]:
    execution = state.executions.get(action.execution)
    if execution is None:
        raise InvalidIntent("action.execution", f"no execution {action.execution!r} here")
    if execution.status != ExecutionStatus.RUNNING:
        raise InvalidIntent("action.execution", f"execution already {execution.status}")
    events: list[AnyEvent] = [
        TaskCanceled(tid, "execution canceled")
        for tid in execution.tasks
        if state.tasks[tid].status not in FINISHED
    ]
    events.append(ExecutionFinished(execution.id, ExecutionStatus.CANCELED))
    return events


def decide_cancel_task(state: SceneState, action: CancelTask) -> list[AnyEvent]:
    task = _task(state, action.task, "action.task")
    if task.status in FINISHED:
        raise InvalidIntent("action.task", f"task {task.id} already {task.status}")
    return [
        TaskCanceled(task.id, "canceled"),
        *block_dependents(state, task.id, f"{task.id} canceled"),
    ]


def decide_retry_task(state: SceneState, action: RetryTask) -> list[AnyEvent]:
    task = _task(state, action.task, "action.task")
    if task.status not in (TaskStatus.FAILED, TaskStatus.BLOCKED, TaskStatus.CANCELED):
        raise InvalidIntent(
            "action.task",
            f"task {task.id} is {task.status}; only failed, blocked or "
            "canceled tasks can be retried",
        )
    if task.status == TaskStatus.BLOCKED and task.cause is not None:
        raise InvalidIntent("action.task", f"task {task.id} waits on {task.cause}; retry that")
    waiting = [t for t in _blocked_by(state, task.id) if t.status == TaskStatus.BLOCKED]
    return [
        TaskRetryRequested(task.id, task.attempt + 1),
        *(TaskRetryRequested(t.id, t.attempt) for t in waiting),
    ]


def _blocked_by(state: SceneState, root: str) -> list[TaskState]:
    return [t for t in state.tasks.values() if t.cause == root]


def _task(state: SceneState, task_id: str, field: str) -> TaskState:
    task = state.tasks.get(task_id)
    if task is None:
        raise InvalidIntent(field, f"no task {task_id!r} in this scene")
    return task
