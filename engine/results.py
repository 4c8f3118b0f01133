"""Fold a worker's result into the scene: the events one task outcome causes.

Idempotent by construction: a result for another attempt, or one that the task's
lifecycle no longer allows (a duplicate), decides nothing. A success binds the
artifact into the task's target slots; a failure blocks every task downstream
with the root cause; the execution finishes when all its tasks have.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from engine.events import (
    AnyEvent,
    ArtifactBound,
    ExecutionFinished,
    TaskBlocked,
    TaskCanceled,
    TaskFailed,
    TaskInput,
    TaskPlanned,
    TaskStarted,
    TaskSucceeded,
)
from engine.executions import FINISHED, TaskState, can_move
from engine.nodes import KINDS
from engine.planning import Work, content_key, task_id
from engine.scene import SceneState
from engine.tasks import ExecutionStatus, TaskResult, TaskStatus


def decide_result(state: SceneState, result: TaskResult) -> list[AnyEvent]:
    task = state.tasks.get(result.task_id)
    if task is None or task.attempt != result.attempt or not _allowed(task, result.status):
        return []
    started = TaskStarted(task.id, task.attempt, result.worker, result.metrics.queue_wait)
    if result.status == TaskStatus.RUNNING:
        return [started]
    # a worker reports a quick task once, by its outcome; the log still says it started
    implied = [started] if result.worker and task.status != TaskStatus.RUNNING else []
    if result.status == TaskStatus.SUCCEEDED:
        grown = grow_plan(task, result.outputs.get(SUBPLAN))
        done = {task.id: TaskStatus.SUCCEEDED}
        finished = [] if grown else finish_if_done(state, task.execution, done)
        return [*implied, *_succeeded(state, task, result), *grown, *finished]
    if result.status == TaskStatus.CANCELED:
        ended: list[AnyEvent] = [TaskCanceled(task.id, "canceled while running", task.attempt)]
    else:
        error = result.error
        kind = str(error.kind) if error is not None else "internal"
        message = error.message if error is not None else "failed without a reason"
        ended = [
            TaskFailed(
                task.id,
                task.attempt,
                kind,
                message,
                deliveries=result.metrics.deliveries,
                run_time=result.metrics.run_time,
                worker=result.worker,
            )
        ]
    blocked = block_dependents(state, task.id, f"{task.id} {result.status}")
    outcomes = {task.id: result.status, **{b.task: TaskStatus.BLOCKED for b in blocked}}
    executions = {task.execution} | {state.tasks[b.task].execution for b in blocked}
    finished = [e for ex in sorted(executions) for e in finish_if_done(state, ex, outcomes)]
    if result.status == TaskStatus.CANCELED or not result.metrics.run_time:
        implied = []  # it never ran: canceled, or lost/refused before it started
    return [*implied, *ended, *blocked, *finished]


def _allowed(task: TaskState, status: TaskStatus) -> bool:
    if status == TaskStatus.RUNNING:
        return task.status in (TaskStatus.PLANNED, TaskStatus.QUEUED)
    return can_move(task.status, status)


def _succeeded(state: SceneState, task: TaskState, result: TaskResult) -> list[AnyEvent]:
    metrics = result.metrics
    events: list[AnyEvent] = [
        TaskSucceeded(
            task.id,
            task.attempt,
            result.artifact,
            result.outputs,
            run_time=metrics.run_time,
            queue_wait=metrics.queue_wait,
            cost=metrics.cost,
            deliveries=metrics.deliveries,
            worker=result.worker,
        )
    ]
    if result.artifact is None:
        return events
    for target in task.targets:
        node = state.nodes.get(target.node)
        kind = KINDS.get(node.kind) if node is not None else None
        if node is None or kind is None or target.slot not in kind.slots:
            continue  # the node went away, or changed kind, while the task ran
        if node.artifact(target.slot) != result.artifact:
            events.append(ArtifactBound(node.id, target.slot, result.artifact, task.id))
    return events


SUBPLAN = "subplan"


def grow_plan(task: TaskState, proposal: Any) -> list[AnyEvent]:
    """A task whose output is a plan (say, a storyboard's list of shots) grows its
    execution: each proposed work becomes a task; `@parent` names the task itself."""
    if not proposal:
        return []
    try:
        works = msgspec.convert(proposal, list[Work])
    except msgspec.ValidationError:
        return []  # not a plan: an ordinary output that happens to use the name
    keys: dict[str, str] = {"@parent": task.content_key}
    ids: dict[str, str] = {"@parent": task.id}
    events: list[AnyEvent] = []
    for work in works:
        if work.key in ids or any(dep not in keys for dep in work.inputs.values()):
            continue  # a duplicate key, or an input the plan does not define first
        keys[work.key] = content_key(work, {n: keys[d] for n, d in work.inputs.items()})
        ids[work.key] = task_id(task.execution, f"{task.id}/{work.key}")
        inputs = [
            TaskInput(name, task=ids[dep], content_key=keys[dep])
            for name, dep in work.inputs.items()
        ]
        events.append(
            TaskPlanned(
                task=ids[work.key],
                execution=task.execution,
                operation=work.operation,
                model=work.model,
                provider=work.provider,
                lane=str(work.lane),
                content_key=keys[work.key],
                params=work.params,
                inputs=inputs,
                targets=list(work.targets),
                description=work.description,
            )
        )
    return events


def dependents(state: SceneState, task_id: str) -> list[TaskState]:
    """Every unfinished task downstream of `task_id`, nearest first."""
    found: list[TaskState] = []
    frontier = [task_id]
    seen = {task_id}
    while frontier:
        current = frontier.pop(0)
        for task in state.tasks.values():
            if task.id in seen or current not in task.depends_on:
                continue
            seen.add(task.id)
            if task.status not in FINISHED:
                found.append(task)
            frontier.append(task.id)
    return found


def block_dependents(state: SceneState, root: str, reason: str) -> list[TaskBlocked]:
    return [TaskBlocked(t.id, root, f"waits on {reason}") for t in dependents(state, root)]


def finish_if_done(
    state: SceneState, execution_id: str, outcomes: Mapping[str, TaskStatus]
) -> list[AnyEvent]:
    """ExecutionFinished once every task of the execution has finished; `outcomes`
    are the statuses this decision gives some of them."""
    execution = state.executions.get(execution_id)
    if execution is None or execution.status != ExecutionStatus.RUNNING:
        return []
    still_open, failed = execution.open, execution.failed
    for finished_id, status in outcomes.items():
        task = state.tasks[finished_id]
        if task.execution != execution_id or task.status in FINISHED:
            continue
        still_open -= 1
        failed += status != TaskStatus.SUCCEEDED
    if still_open > 0:
        return []
    return [
        ExecutionFinished(
            execution_id, ExecutionStatus.FAILED if failed else ExecutionStatus.SUCCEEDED
        )
    ]
