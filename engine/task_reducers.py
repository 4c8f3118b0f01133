"""Reducers for executions and tasks: the generation half of scene state.

A task event that its task's lifecycle does not allow (see engine.executions) is
a no-op, so a duplicate or late result can never undo a later one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec

from engine.events import (
    ExecutionFinished,
    ExecutionStarted,
    TaskBlocked,
    TaskCanceled,
    TaskDispatched,
    TaskFailed,
    TaskPlanned,
    TaskRetryRequested,
    TaskStarted,
    TaskSucceeded,
)
from engine.executions import FINISHED, ExecutionState, TaskState, can_move, waiting
from engine.provenance import Provenance
from engine.scene import SceneState
from engine.tasks import ExecutionStatus, TaskStatus

_replace = msgspec.structs.replace


def _execution_started(state: SceneState, event: ExecutionStarted, prov: Provenance) -> SceneState:
    execution = ExecutionState(
        event.execution,
        prov.intent_id,
        event.goal,
        prov,
        planned=event.planned,
        reused=event.reused,
        bound=tuple(event.bound),
    )
    return _replace(state, executions=state.executions.set(event.execution, execution))


def _task_planned(state: SceneState, event: TaskPlanned, prov: Provenance) -> SceneState:
    task = TaskState.from_planned(event, prov)
    if task.id in state.tasks:
        return state
    execution = state.executions.get(event.execution)
    if execution is not None:
        execution = _replace(execution, tasks=(*execution.tasks, task.id))
        state = _replace(state, executions=state.executions.set(execution.id, execution))
    return _put(state, None, task)


def _put(state: SceneState, old: TaskState | None, new: TaskState) -> SceneState:
    """Set a task, keeping the waiting index and its execution's counters true."""
    waiting_now = state.waiting
    if waiting(new):
        waiting_now = waiting_now.set(new.id, True)
    elif new.id in waiting_now:
        waiting_now = waiting_now.delete(new.id)
    executions = state.executions
    execution = executions.get(new.execution)
    if execution is not None:
        was_open = old is not None and old.status not in FINISHED
        was_failed = (
            old is not None and old.status in FINISHED and old.status != TaskStatus.SUCCEEDED
        )
        is_open = new.status not in FINISHED
        is_failed = new.status in FINISHED and new.status != TaskStatus.SUCCEEDED
        counted = _replace(
            execution,
            open=execution.open + is_open - was_open,
            failed=execution.failed + is_failed - was_failed,
        )
        if counted != execution:
            executions = executions.set(execution.id, counted)
    return _replace(
        state, tasks=state.tasks.set(new.id, new), waiting=waiting_now, executions=executions
    )


def _move(state: SceneState, task_id: str, to: TaskStatus, **changes: Any) -> SceneState:
    task = state.tasks.get(task_id)
    if task is None or (task.status != to and not can_move(task.status, to)):
        return state
    if task.status == to and to != TaskStatus.QUEUED:
        return state
    return _put(state, task, _replace(task, status=to, **changes))


def _for_attempt(state: SceneState, task_id: str, attempt: int) -> bool:
    task = state.tasks.get(task_id)
    return task is not None and task.attempt == attempt


def _task_dispatched(state: SceneState, event: TaskDispatched, prov: Provenance) -> SceneState:
    if not _for_attempt(state, event.task, event.attempt):
        return state
    return _move(state, event.task, TaskStatus.QUEUED, dispatched=event.attempt)


def _task_started(state: SceneState, event: TaskStarted, prov: Provenance) -> SceneState:
    if not _for_attempt(state, event.task, event.attempt):
        return state
    return _move(
        state, event.task, TaskStatus.RUNNING, worker=event.worker, queue_wait=event.queue_wait
    )


def _task_succeeded(state: SceneState, event: TaskSucceeded, prov: Provenance) -> SceneState:
    if not _for_attempt(state, event.task, event.attempt):
        return state
    return _move(
        state,
        event.task,
        TaskStatus.SUCCEEDED,
        artifact=event.artifact,
        outputs=event.outputs,
        run_time=event.run_time,
        queue_wait=event.queue_wait or _queue_wait(state, event.task),
        cost=event.cost,
        deliveries=event.deliveries,
        worker=event.worker,
    )


def _queue_wait(state: SceneState, task_id: str) -> float:
    task = state.tasks.get(task_id)
    return 0.0 if task is None else task.queue_wait


def _task_failed(state: SceneState, event: TaskFailed, prov: Provenance) -> SceneState:
    if not _for_attempt(state, event.task, event.attempt):
        return state
    return _move(
        state,
        event.task,
        TaskStatus.FAILED,
        error_kind=event.error_kind,
        error=event.message,
        deliveries=event.deliveries,
        run_time=event.run_time,
        worker=event.worker,
    )


def _task_blocked(state: SceneState, event: TaskBlocked, prov: Provenance) -> SceneState:
    return _move(state, event.task, TaskStatus.BLOCKED, cause=event.cause, error=event.reason)


def _task_canceled(state: SceneState, event: TaskCanceled, prov: Provenance) -> SceneState:
    return _move(state, event.task, TaskStatus.CANCELED, error=event.reason or None)


def _task_retry(state: SceneState, event: TaskRetryRequested, prov: Provenance) -> SceneState:
    task = state.tasks.get(event.task)
    if task is None or not can_move(task.status, TaskStatus.PLANNED):
        return state
    fresh = _replace(
        task,
        status=TaskStatus.PLANNED,
        attempt=event.attempt,
        error_kind=None,
        error=None,
        cause=None,
    )
    execution = state.executions.get(task.execution)
    if execution is not None and execution.status != ExecutionStatus.RUNNING:
        running = _replace(execution, status=ExecutionStatus.RUNNING)
        state = _replace(state, executions=state.executions.set(execution.id, running))
    return _put(state, task, fresh)


def _execution_finished(
    state: SceneState, event: ExecutionFinished, prov: Provenance
) -> SceneState:
    execution = state.executions.get(event.execution)
    if execution is None:
        return state
    finished = _replace(execution, status=event.status)
    return _replace(state, executions=state.executions.set(execution.id, finished))


TASK_HANDLERS: dict[type, Callable[[SceneState, Any, Provenance], SceneState]] = {
    ExecutionStarted: _execution_started,
    TaskPlanned: _task_planned,
    TaskDispatched: _task_dispatched,
    TaskStarted: _task_started,
    TaskSucceeded: _task_succeeded,
    TaskFailed: _task_failed,
    TaskBlocked: _task_blocked,
    TaskCanceled: _task_canceled,
    TaskRetryRequested: _task_retry,
    ExecutionFinished: _execution_finished,
}
