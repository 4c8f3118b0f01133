"""Executions: what an intent set in motion, its progress, and cancelling it."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import BranchQuery, CurrentStudio, ItemId, OwnedScene, ServicesDep
from api.errors import ERROR_RESPONSES
from api.routes.intents import submit
from api.schemas.common import Accepted
from api.schemas.executions import ExecutionList, ExecutionPublic, ExecutionSummary
from engine.errors import NotFound
from engine.progress import progress_of

router = APIRouter(tags=["executions"], responses=ERROR_RESPONSES)


@router.get(
    "/scenes/{scene}/executions", response_model=ExecutionList, summary="A branch's executions"
)
async def list_executions(
    scene: OwnedScene, found: ServicesDep, branch: BranchQuery = "main"
) -> ExecutionList:
    state = await found.engine.scenes.load(scene, branch)
    if not state.created:
        raise NotFound(f"no scene {scene!r} on branch {branch!r}")
    runs = sorted(state.executions.values(), key=lambda e: e.started.version)
    return ExecutionList(branch=branch, executions=[ExecutionSummary.of(e) for e in runs])


@router.get(
    "/scenes/{scene}/executions/{execution}",
    response_model=ExecutionPublic,
    summary="One execution: progress, and every task with attempts, waits and costs",
)
async def get_execution(
    scene: OwnedScene, execution: ItemId, found: ServicesDep, branch: BranchQuery = "main"
) -> ExecutionPublic:
    state = await found.engine.scenes.load(scene, branch)
    run = state.executions.get(execution)
    progress = progress_of(state, execution)
    if run is None or progress is None:
        raise NotFound(f"no execution {execution} on {scene}@{branch}")
    return ExecutionPublic.of(scene, branch, run, progress)


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
    found: ServicesDep,
    branch: BranchQuery = "main",
) -> Accepted:
    action = {"name": "cancel_execution", "execution": execution}
    fields = {"kind": "structured_action", "branch": branch, "action": action}
    return await submit(found, principal, scene, fields, claim=False)
