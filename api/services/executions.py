"""Executions (everything one intent set in motion) and their tasks: progress, the
task records, cancelling either, retrying a task in place, and following an
execution until it finishes."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from api.services import Caller, Services
from api.services.ids import by_prefix
from api.services.intake import Submission, submit
from api.services.scenes import scene_state
from engine.errors import NotFound
from engine.executions import ExecutionState, TaskState
from engine.progress import Progress, progress_of
from engine.tasks import ExecutionStatus

FOLLOW_POLL = 0.05  # seconds between looks at a followed execution


def _action(scene: str, branch: str, action: dict[str, Any]) -> dict[str, Any]:
    return {"kind": "structured_action", "scene": scene, "branch": branch, "action": action}


async def list_executions(
    services: Services, scene: str, branch: str = "main"
) -> list[ExecutionState]:
    """A branch's executions, oldest first."""
    state = await scene_state(services, scene, branch)
    return sorted(state.executions.values(), key=lambda e: e.started.version)


async def execution(
    services: Services, scene: str, execution_id: str, branch: str = "main"
) -> tuple[ExecutionState, Progress]:
    """One execution and its progress, every task with attempts, waits and costs."""
    state = await services.scenes.load(scene, branch)
    execution_id = by_prefix(execution_id, state.executions, "execution", "execution")
    run = state.executions.get(execution_id)
    progress = progress_of(state, execution_id)
    if run is None or progress is None:
        raise NotFound(f"no execution {execution_id} on {scene}@{branch}")
    return run, progress


async def task(services: Services, scene: str, task_id: str, branch: str = "main") -> TaskState:
    state = await services.scenes.load(scene, branch)
    return state.tasks[by_prefix(task_id, state.tasks, "task", "task")]


async def cancel_execution(
    services: Services, caller: Caller, scene: str, execution_id: str, branch: str = "main"
) -> Submission:
    state = await services.scenes.load(scene, branch)
    execution_id = by_prefix(execution_id, state.executions, "execution", "execution")
    action = {"name": "cancel_execution", "execution": execution_id}
    return await submit(services, caller, _action(scene, branch, action), claim=False)


async def retry_task(
    services: Services, caller: Caller, scene: str, task_id: str, branch: str = "main"
) -> Submission:
    """Run a failed, blocked or canceled task again in place; nothing else reruns."""
    found = await task(services, scene, task_id, branch)
    action = {"name": "retry_task", "task": found.id}
    return await submit(services, caller, _action(scene, branch, action), claim=False)


async def cancel_task(
    services: Services, caller: Caller, scene: str, task_id: str, branch: str = "main"
) -> Submission:
    """Cancel one task; a worker running it is told."""
    found = await task(services, scene, task_id, branch)
    action = {"name": "cancel_task", "task": found.id}
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
    first = await services.scenes.load(scene, branch)
    execution_id = by_prefix(execution_id, first.executions, "execution", "execution")
    while True:
        if check is not None:
            check()
        state = await services.scenes.load(scene, branch)
        progress = progress_of(state, execution_id)
        if progress is None:
            raise NotFound(f"no execution {execution_id} on {scene}@{branch}")
        if on_progress is not None and progress != last:
            on_progress(progress)
        last = progress
        if progress.status != ExecutionStatus.RUNNING:
            return progress
        await asyncio.sleep(poll)
