"""Reducers for executions and tasks: the generation half of scene state.

A task event that its task's lifecycle does not allow (see engine.executions) is
a no-op, so a duplicate or late result can never undo a later one. A finished
execution leaves the state with its tasks (but those a running task still takes
as input, until it no longer needs them); `ExecutionResumed` brings one back.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import immutables
import msgspec

from engine.events import (
    ExecutionFinished,
    ExecutionResumed,
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
from engine.executions import (
    FINISHED,
    ExecutionState,
    TaskState,
    can_move,
    record_of,
    waiting,
)
from engine.provenance import Provenance
from engine.scene import EMPTY_FAILURES, SceneState
from engine.tasks import ExecutionStatus, TaskStatus

_replace = msgspec.structs.replace
Failures = immutables.Map[str, immutables.Map[str, TaskState]]

# Which finished task says why a slot has nothing newer (as the draft view ranks them).
_SPEAKS = {TaskStatus.FAILED: 2, TaskStatus.BLOCKED: 1}


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
    tasks = [state.tasks[t] for t in execution.tasks if t in state.tasks]
    executions = state.executions.delete(execution.id)
    return _replace(
        state,
        executions=executions,
        tasks=_without(state.tasks, executions, tasks),
        waiting=_unwaited(state.waiting, tasks),
        finished_executions=state.finished_executions + 1,
        slot_failures=_remember_failures(state, tasks),
    )


def _without(
    tasks: immutables.Map[str, TaskState],
    executions: immutables.Map[str, ExecutionState],
    leaving: list[TaskState],
) -> immutables.Map[str, TaskState]:
    """`tasks` without those of a finished execution, and without the finished tasks
    (of it or of earlier ones) that no running task takes as input any more."""
    needed = {
        item.task
        for task in tasks.values()
        if task.execution in executions
        for item in task.inputs
        if item.task is not None
    }
    upstream = {item.task for task in leaving for item in task.inputs if item.task is not None}
    for task_id in {task.id for task in leaving} | upstream:
        task = tasks.get(task_id)
        if task is not None and task.execution not in executions and task_id not in needed:
            tasks = tasks.delete(task_id)
    return tasks


def _unwaited(
    waiting_now: immutables.Map[str, bool], leaving: list[TaskState]
) -> immutables.Map[str, bool]:
    for task in leaving:
        if task.id in waiting_now:
            waiting_now = waiting_now.delete(task.id)
    return waiting_now


def _remember_failures(state: SceneState, leaving: list[TaskState]) -> Failures:
    """Per target slot, the failed (else blocked) task that now speaks for it; a task
    remembered before that finished otherwise this time is forgotten."""
    failures = state.slot_failures
    for task in leaving:
        rank = _SPEAKS.get(task.status)
        for target in task.targets:
            slots = failures.get(target.node, EMPTY_FAILURES)
            held = slots.get(target.slot)
            if rank is not None and target.node in state.nodes:
                if held is None or held.id == task.id or _outranks(task, rank, held):
                    failures = failures.set(target.node, slots.set(target.slot, task))
            elif held is not None and held.id == task.id:
                failures = _forget_slot(failures, target.node, target.slot)
    return failures


def _outranks(task: TaskState, rank: int, held: TaskState) -> bool:
    return (rank, task.planned.version) > (_SPEAKS.get(held.status, 0), held.planned.version)


def _forget_slot(failures: Failures, node: str, slot: str) -> Failures:
    slots = failures.get(node, EMPTY_FAILURES)
    if slot not in slots:
        return failures
    remaining = slots.delete(slot)
    return failures.set(node, remaining) if remaining else failures.delete(node)


def _execution_resumed(state: SceneState, event: ExecutionResumed, prov: Provenance) -> SceneState:
    """A finished execution back in state as it finished, for a retry of its tasks."""
    record = record_of(event.image)
    if record.execution.id in state.executions:
        return state
    tasks, waiting_now, failures = state.tasks, state.waiting, state.slot_failures
    for task in record.tasks:
        tasks = tasks.set(task.id, task)
        if waiting(task):
            waiting_now = waiting_now.set(task.id, True)
        for target in task.targets:
            held = failures.get(target.node, EMPTY_FAILURES).get(target.slot)
            if held is not None and held.id == task.id:
                failures = _forget_slot(failures, target.node, target.slot)
    return _replace(
        state,
        executions=state.executions.set(record.execution.id, record.execution),
        tasks=tasks,
        waiting=waiting_now,
        finished_executions=max(state.finished_executions - 1, 0),
        slot_failures=failures,
    )


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
    ExecutionResumed: _execution_resumed,
}
