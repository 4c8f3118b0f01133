"""Executions: what an intent set in motion, its progress, and cancelling it."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response

from api.deps import ApiDep, BranchQuery, CurrentStudio, ItemId, OwnedScene, RetryDep
from api.errors import ERROR_RESPONSES
from api.routes._accepted import accepted
from api.schemas.common import Accepted
from api.schemas.executions import ExecutionList, ExecutionPublic, ExecutionSummary
from api.services import executions

router = APIRouter(tags=["executions"], responses=ERROR_RESPONSES)


@router.get(
    "/scenes/{scene}/executions", response_model=ExecutionList, summary="A branch's executions"
)
async def list_executions(
    scene: OwnedScene,
    api: ApiDep,
    branch: BranchQuery = "main",
    order: Annotated[
        Literal["oldest", "newest"], Query(description="In start order, or newest first.")
    ] = "oldest",
    offset: Annotated[int, Query(ge=0, le=10_000_000, description="Skip this many.")] = 0,
    limit: Annotated[
        int | None, Query(ge=1, le=1000, description="At most this many (default: all).")
    ] = None,
) -> ExecutionList:
    page = await executions.executions_page(
        api.services, scene, branch, offset=offset, limit=limit, newest_first=order == "newest"
    )
    summaries = [ExecutionSummary.of(r.execution) for r in page.records]
    return ExecutionList(branch=branch, executions=summaries, total=page.total)


@router.get(
    "/scenes/{scene}/executions/{execution}",
    response_model=ExecutionPublic,
    summary="One execution: progress, and every task with attempts, waits and costs",
)
async def get_execution(
    scene: OwnedScene, execution: ItemId, api: ApiDep, branch: BranchQuery = "main"
) -> ExecutionPublic:
    run, progress = await executions.execution(api.services, scene, execution, branch)
    unserved = await executions.unserved_lanes(api.services, progress)
    return ExecutionPublic.of(scene, branch, run, progress, unserved)


@router.post(
    "/scenes/{scene}/executions/{execution}/cancel",
    status_code=202,
    response_model=Accepted,
    summary="Cancel an execution; running workers are told",
)
async def cancel_execution(
    scene: OwnedScene,
    execution: ItemId,
    principal: CurrentStudio,
    api: ApiDep,
    retry: RetryDep,
    response: Response,
    branch: BranchQuery = "main",
) -> Accepted:
    submitted = await executions.cancel_execution(
        api.services, principal.caller, scene, execution, branch, retry
    )
    return accepted(api, submitted, response)
