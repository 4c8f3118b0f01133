"""Tasks: one unit of generation or media work; retry one in place, or cancel it."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import BranchQuery, CurrentStudio, ItemId, OwnedScene, ServicesDep
from api.errors import ERROR_RESPONSES
from api.routes.intents import submit
from api.schemas.common import Accepted
from api.schemas.executions import TaskPublic
from engine.errors import NotFound

router = APIRouter(tags=["tasks"], responses=ERROR_RESPONSES)


@router.get("/scenes/{scene}/tasks/{task}", response_model=TaskPublic, summary="One task")
async def get_task(
    scene: OwnedScene, task: ItemId, found: ServicesDep, branch: BranchQuery = "main"
) -> TaskPublic:
    state = await found.engine.scenes.load(scene, branch)
    found_task = state.tasks.get(task)
    if found_task is None:
        raise NotFound(f"no task {task} on {scene}@{branch}")
    return TaskPublic.of(found_task)


async def _task_action(
    name: str, scene: str, task: str, principal: CurrentStudio, found: ServicesDep, branch: str
) -> Accepted:
    state = await found.engine.scenes.load(scene, branch)
    if task not in state.tasks:
        raise NotFound(f"no task {task} on {scene}@{branch}")
    fields = {"kind": "structured_action", "branch": branch, "action": {"name": name, "task": task}}
    return await submit(found, principal, scene, fields, claim=False)


@router.post(
    "/scenes/{scene}/tasks/{task}/retry",
    status_code=202,
    response_model=Accepted,
    summary="Run a failed, blocked or canceled task again in place",
)
async def retry_task(
    scene: OwnedScene,
    task: ItemId,
    principal: CurrentStudio,
    found: ServicesDep,
    branch: BranchQuery = "main",
) -> Accepted:
    return await _task_action("retry_task", scene, task, principal, found, branch)


@router.post(
    "/scenes/{scene}/tasks/{task}/cancel",
    status_code=202,
    response_model=Accepted,
    summary="Cancel one task; a running worker is told",
)
async def cancel_task(
    scene: OwnedScene,
    task: ItemId,
    principal: CurrentStudio,
    found: ServicesDep,
    branch: BranchQuery = "main",
) -> Accepted:
    return await _task_action("cancel_task", scene, task, principal, found, branch)
