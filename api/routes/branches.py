"""Branches of a scene, merges between them, and the conflicts merges record."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from api.deps import BranchQuery, CurrentStudio, ItemId, OwnedScene, ServicesDep
from api.errors import ERROR_RESPONSES
from api.routes.intents import submit
from api.schemas.branches import (
    BranchCreate,
    BranchList,
    BranchPublic,
    ConflictList,
    ConflictPublic,
    MergeCreate,
    ResolutionCreate,
    ResolveAllCreate,
)
from api.schemas.common import Accepted
from engine.errors import NotFound

router = APIRouter(tags=["branches"], responses=ERROR_RESPONSES)


@router.get("/scenes/{scene}/branches", response_model=BranchList, summary="A scene's branches")
async def list_branches(scene: OwnedScene, found: ServicesDep) -> BranchList:
    infos = await found.engine.scenes.branches(scene)
    return BranchList(branches=[BranchPublic.of(info) for info in infos])


@router.post(
    "/scenes/{scene}/branches",
    status_code=202,
    response_model=Accepted,
    summary="Fork a branch from any branch at any version",
)
async def fork(
    scene: OwnedScene, body: BranchCreate, principal: CurrentStudio, found: ServicesDep
) -> Accepted:
    action = {"name": "fork_branch", "source": body.source, "at_version": body.at_version}
    fields = {"kind": "structured_action", "branch": body.name, "action": action}
    return await submit(found, principal, scene, fields, claim=False)


@router.post(
    "/scenes/{scene}/merges",
    status_code=202,
    response_model=Accepted,
    summary="Merge one branch into another (conflicts are recorded, never guessed)",
)
async def merge(
    scene: OwnedScene, body: MergeCreate, principal: CurrentStudio, found: ServicesDep
) -> Accepted:
    action = {"name": "merge_branch", "source": body.source}
    fields = {"kind": "structured_action", "branch": body.into, "action": action}
    return await submit(found, principal, scene, fields, claim=False)


@router.get(
    "/scenes/{scene}/conflicts", response_model=ConflictList, summary="Open merge conflicts"
)
async def conflicts(
    scene: OwnedScene, found: ServicesDep, branch: BranchQuery = "main"
) -> ConflictList:
    state = await found.engine.scenes.load(scene, branch)
    if not state.created:
        raise NotFound(f"no scene {scene!r} on branch {branch!r}")
    found_conflicts = [ConflictPublic.of(c) for _, c in sorted(state.conflicts.items())]
    return ConflictList(branch=branch, conflicts=found_conflicts)


@router.post(
    "/scenes/{scene}/conflicts/{conflict}/resolution",
    status_code=202,
    response_model=Accepted,
    summary="Resolve one conflict: ours, theirs, or a value",
)
async def resolve(
    scene: OwnedScene,
    conflict: ItemId,
    body: ResolutionCreate,
    principal: CurrentStudio,
    found: ServicesDep,
    response: Response,
    branch: BranchQuery = "main",
) -> Accepted:
    action: dict[str, Any] = {
        "name": "resolve_conflict",
        "conflict": conflict,
        "choice": body.choice,
    }
    if body.choice == "value":
        action["value"] = body.value
    fields = {"kind": "structured_action", "branch": branch, "action": action}
    return await submit(found, principal, scene, fields, response, claim=False)


@router.post(
    "/scenes/{scene}/conflicts/resolution",
    status_code=202,
    response_model=Accepted,
    summary="Resolve every open conflict of a branch the same way",
)
async def resolve_all(
    scene: OwnedScene,
    body: ResolveAllCreate,
    principal: CurrentStudio,
    found: ServicesDep,
    branch: BranchQuery = "main",
) -> Accepted:
    action = {"name": "resolve_all", "choice": body.choice}
    fields = {"kind": "structured_action", "branch": branch, "action": action}
    return await submit(found, principal, scene, fields, claim=False)
