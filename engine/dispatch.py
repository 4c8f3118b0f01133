"""Which planned tasks are ready to go to the bus, as the messages workers receive.

A task is ready when it is planned, not yet handed out for its current attempt,
and every task it depends on has succeeded. The message carries the artifacts
of its inputs, so workers never read the database.
"""

from __future__ import annotations

from engine.executions import TaskState
from engine.scene import SceneState
from engine.tasks import Lane, TaskMessage, TaskStatus


def ready_tasks(state: SceneState, studio: str, tier: int = 0) -> list[TaskMessage]:
    ready = []
    for task_id in state.waiting:
        task = state.tasks[task_id]
        inputs = input_artifacts(state, task)
        if inputs is not None:
            ready.append(message_for(state, task, inputs, studio, tier))
    return sorted(ready, key=lambda m: m.task_id)


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
