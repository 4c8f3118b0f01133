"""Executions (everything one intent set in motion) and their tasks: progress, the
task records, cancelling either, retrying a task in place, and following an
execution until it finishes.

A running execution is read from the branch's state, a finished one from the
engine's archive (the executions read model), with the same answer either way."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from api.services import Caller, Services
from api.services.intake import Submission, submit
from api.services.scenes import scene_state
from engine.errors import NotFound
from engine.executions import ExecutionRecord, ExecutionState, TaskState
from engine.ports import StreamId
from engine.progress import Progress, progress_in
from engine.tasks import ExecutionStatus

FOLLOW_POLL = 0.05  # seconds between looks at a followed execution


def _action(scene: str, branch: str, action: dict[str, Any]) -> dict[str, Any]:
    return {"kind": "structured_action", "scene": scene, "branch": branch, "action": action}


async def list_executions(
    services: Services, scene: str, branch: str = "main"
) -> list[ExecutionRecord]:
    """A branch's executions with their tasks, oldest first: the finished ones from the
    archive, the running ones from the state."""
    state = await scene_state(services, scene, branch)
    stream = StreamId(scene, branch)
    found = {
        r.execution.id: r for r in await services.scenes.archive.executions(stream, state.version)
    }
    for run in state.executions.values():
        found[run.id] = ExecutionRecord(run, tuple(state.tasks[t] for t in run.tasks))
    return sorted(found.values(), key=lambda r: r.execution.started.version)


async def record(
    services: Services, scene: str, execution_id: str, branch: str = "main"
) -> ExecutionRecord:
    """One execution with its tasks, running or finished."""
    found = await services.scenes.execution(scene, branch, execution_id)
    if found is None:
        raise NotFound(f"no execution {execution_id} on {scene}@{branch}")
    return found


async def execution(
    services: Services, scene: str, execution_id: str, branch: str = "main"
) -> tuple[ExecutionState, Progress]:
    """One execution and its progress, every task with attempts, waits and costs."""
    found = await record(services, scene, execution_id, branch)
    return found.execution, progress_in(found)


async def task(services: Services, scene: str, task_id: str, branch: str = "main") -> TaskState:
    found = await services.scenes.task(scene, branch, task_id)
    if found is None:
        raise NotFound(f"no task {task_id} on {scene}@{branch}")
    return found


async def cancel_execution(
    services: Services, caller: Caller, scene: str, execution_id: str, branch: str = "main"
) -> Submission:
    action = {"name": "cancel_execution", "execution": execution_id}
    return await submit(services, caller, _action(scene, branch, action), claim=False)


async def retry_task(
    services: Services, caller: Caller, scene: str, task_id: str, branch: str = "main"
) -> Submission:
    """Run a failed, blocked or canceled task again in place; nothing else reruns."""
    await task(services, scene, task_id, branch)
    action = {"name": "retry_task", "task": task_id}
    return await submit(services, caller, _action(scene, branch, action), claim=False)


async def cancel_task(
    services: Services, caller: Caller, scene: str, task_id: str, branch: str = "main"
) -> Submission:
    """Cancel one task; a worker running it is told."""
    await task(services, scene, task_id, branch)
    action = {"name": "cancel_task", "task": task_id}
    return await submit(services, caller, _action(scene, branch, action), claim=False)


async def follow(
    services: Services,
    scene: str,
    branch: str,
    execution_id: str,
    on_progress: Callable[[Progress], None] | None = None,
    check: Callable[[], None] | None = None,
    poll: float = FOLLOW_POLL,
) -> Progress:
    """Wait until an execution finishes, reporting its progress as it changes;
    `check()` runs before each look (it raises what stopped the work behind it)."""
    last = None
    while True:
        if check is not None:
            check()
        _, progress = await execution(services, scene, execution_id, branch)
        if on_progress is not None and progress != last:
            on_progress(progress)
        last = progress
        if progress.status != ExecutionStatus.RUNNING:
            return progress
        await asyncio.sleep(poll)
