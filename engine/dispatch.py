"""Which planned tasks are ready to go to the bus, as the messages workers receive.

A task is ready when it is planned, not yet handed out for its current attempt,
and every task it depends on has succeeded. The message carries the artifacts
of its inputs, so workers never read the database.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from engine.executions import TaskState
from engine.scene import SceneState
from engine.tasks import Lane, TaskMessage, TaskStatus


def ready_tasks(state: SceneState, studio: str, tier: int = 0) -> list[TaskMessage]:
    """Every ready task of the scene, by id (looks at each waiting task)."""
    return ready_among(state, state.waiting, studio, tier).ready


@dataclass
class Readiness:
    ready: list[TaskMessage] = field(default_factory=list)  # by task id
    # each waiting task that is not ready: the upstream tasks it still needs
    needs: dict[str, list[str]] = field(default_factory=dict)


def ready_among(
    state: SceneState, task_ids: Iterable[str], studio: str, tier: int = 0
) -> Readiness:
    """Which of `task_ids` are ready, and what the other waiting ones still need;
    ids that are not waiting (handed out, finished, unknown) are left out."""
    found = Readiness()
    for task_id in task_ids:
        if task_id not in state.waiting:
            continue
        task = state.tasks[task_id]
        inputs = input_artifacts(state, task)
        if inputs is None:
            found.needs[task_id] = upstream_needed(state, task)
        else:
            found.ready.append(message_for(state, task, inputs, studio, tier))
    found.ready.sort(key=lambda m: m.task_id)
    return found


def input_artifacts(state: SceneState, task: TaskState) -> dict[str, str] | None:
    """The artifact of each input, or None while one of them is not there yet."""
    artifacts = {}
    for item in task.inputs:
        if item.artifact is not None:
            artifacts[item.name] = item.artifact
            continue
        upstream = state.tasks.get(item.task or "")
        if upstream is None or upstream.status != TaskStatus.SUCCEEDED:
            return None
        if upstream.artifact is None:
            return None
        artifacts[item.name] = upstream.artifact
    return artifacts


def upstream_needed(state: SceneState, task: TaskState) -> list[str]:
    """The tasks whose output `task` still waits for (succeeded with an artifact)."""
    needed = []
    for item in task.inputs:
        if item.artifact is not None or item.task is None:
            continue
        upstream = state.tasks.get(item.task)
        if upstream is None or upstream.status != TaskStatus.SUCCEEDED or upstream.artifact is None:
            needed.append(item.task)
    return needed


def message_for(
    state: SceneState, task: TaskState, inputs: dict[str, str], studio: str, tier: int
) -> TaskMessage:
    return TaskMessage(
        task_id=task.id,
        attempt=task.attempt,
        execution_id=task.execution,
        scene=state.scene,
        branch=state.branch,
        studio=studio,
        lane=Lane(task.lane),
        operation=task.operation,
        model=task.model,
        provider=task.provider,
        content_key=task.content_key,
        params=task.params,
        inputs=inputs,
        tier=tier,
        description=task.description,
    )
