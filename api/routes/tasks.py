"""Tasks: one unit of generation or media work; retry one in place, or cancel it."""

from __future__ import annotations

from fastapi import APIRouter, Response

from api.deps import ApiDep, BranchQuery, CurrentStudio, ItemId, OwnedScene, RetryDep
from api.errors import ERROR_RESPONSES
from api.routes._accepted import accepted
from api.schemas.common import Accepted
from api.schemas.executions import TaskPublic
from api.services import executions

router = APIRouter(tags=["tasks"], responses=ERROR_RESPONSES)


@router.get("/scenes/{scene}/tasks/{task}", response_model=TaskPublic, summary="One task")
async def get_task(
    scene: OwnedScene, task: ItemId, api: ApiDep, branch: BranchQuery = "main"
) -> TaskPublic:
    return TaskPublic.of(await executions.task(api.services, scene, task, branch))


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
    api: ApiDep,
    retry: RetryDep,
    response: Response,
    branch: BranchQuery = "main",
) -> Accepted:
    caller = principal.caller
    submitted = await executions.retry_task(api.services, caller, scene, task, branch, retry)
    return accepted(api, submitted, response)


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
    api: ApiDep,
    retry: RetryDep,
    response: Response,
    branch: BranchQuery = "main",
) -> Accepted:
    caller = principal.caller
    submitted = await executions.cancel_task(api.services, caller, scene, task, branch, retry)
    return accepted(api, submitted, response)
