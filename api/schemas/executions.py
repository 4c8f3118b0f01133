"""Executions and their tasks: progress, and per task its status, attempts and costs."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from engine.executions import ExecutionState, TaskState
from engine.progress import Progress


class TaskInputPublic(BaseModel):
    name: str
    task: str | None
    artifact: str | None


class TaskTargetPublic(BaseModel):
    node: str
    slot: str


class TaskPublic(BaseModel):
    id: str
    execution: str
    operation: str
    model: str
    provider: str
    lane: str
    description: str
    status: str
    attempt: int
    content_key: str
    params: dict[str, Any]
    inputs: list[TaskInputPublic]
    targets: list[TaskTargetPublic]
    artifact: str | None
    error_kind: str | None
    error: str | None
    cause: str | None = Field(description="For a blocked task: the failed task it waits on.")
    deliveries: int
    queue_wait: float
    run_time: float
    cost: float
    worker: str

    @classmethod
    def of(cls, task: TaskState) -> TaskPublic:
        return cls(
            id=task.id,
            execution=task.execution,
            operation=task.operation,
            model=task.model,
            provider=task.provider,
            lane=task.lane,
            description=task.description,
            status=str(task.status),
            attempt=task.attempt,
            content_key=task.content_key,
            params=dict(task.params),
            inputs=[
                TaskInputPublic(name=i.name, task=i.task, artifact=i.artifact) for i in task.inputs
            ],
            targets=[TaskTargetPublic(node=t.node, slot=t.slot) for t in task.targets],
            artifact=task.artifact,
            error_kind=task.error_kind,
            error=task.error,
            cause=task.cause,
            deliveries=task.deliveries,
            queue_wait=task.queue_wait,
            run_time=task.run_time,
            cost=task.cost,
            worker=task.worker,
        )


class ExecutionSummary(BaseModel):
    execution: str
    intent_id: str
    goal: str
    status: str
    total: int
    open: int
    failed: int
    reused: int

    @classmethod
    def of(cls, execution: ExecutionState) -> ExecutionSummary:
        return cls(
            execution=execution.id,
            intent_id=execution.intent_id,
            goal=execution.goal,
            status=execution.status,
            total=len(execution.tasks),
            open=execution.open,
            failed=execution.failed,
            reused=execution.reused,
        )


class ExecutionList(BaseModel):
    branch: str
    executions: list[ExecutionSummary]
    total: int = Field(description="The branch's executions in all (a page shows some).")


class ExecutionPublic(BaseModel):
    execution: str
    scene: str
    branch: str
    intent_id: str
    goal: str
    status: str
    total: int
    done: int
    reused: int
    by_status: dict[str, int]
    now: list[str] = Field(description="What is running right now, in words.")
    headline: str
    unserved_lanes: list[str] = Field(
        default_factory=list,
        description="Lanes where tasks of this execution wait and no worker serves: "
        "start `scenestate run` or `scenestate worker`.",
    )
    tasks: list[TaskPublic]

    @classmethod
    def of(
        cls,
        scene: str,
        branch: str,
        execution: ExecutionState,
        progress: Progress,
        unserved: list[str] | None = None,
    ) -> ExecutionPublic:
        return cls(
            execution=execution.id,
            scene=scene,
            branch=branch,
            intent_id=execution.intent_id,
            goal=execution.goal,
            status=progress.status,
            total=progress.total,
            done=progress.done,
            reused=progress.reused,
            by_status=progress.by_status,
            now=progress.now,
            headline=progress.headline(),
            unserved_lanes=unserved or [],
            tasks=[TaskPublic.of(t) for t in progress.tasks],
        )
