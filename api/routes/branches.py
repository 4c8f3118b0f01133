"""Branches of a scene, merges between them, and the conflicts merges record."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from api.deps import ApiDep, BranchQuery, CurrentStudio, ItemId, OwnedScene, RetryDep
from api.errors import ERROR_RESPONSES
from api.routes._accepted import accepted
from api.schemas.branches import (
    BranchCreate,
    BranchList,
    BranchPublic,
    ChangePublic,
    ConflictList,
    ConflictPublic,
    DiffPublic,
    MergeCreate,
    ResolutionCreate,
    ResolveAllCreate,
)
from api.schemas.common import Accepted
from api.services import branches, scenes

router = APIRouter(tags=["branches"], responses=ERROR_RESPONSES)

StateRef = Annotated[
    str,
    Query(
        min_length=1,
        max_length=100,
        pattern=r"^[a-z0-9][a-z0-9._/-]{0,63}(@[0-9]{1,19})?$",
        description="BRANCH (its head) or BRANCH@VERSION.",
    ),
]


@router.get("/scenes/{scene}/branches", response_model=BranchList, summary="A scene's branches")
async def list_branches(scene: OwnedScene, api: ApiDep) -> BranchList:
    infos = await branches.branches(api.services, scene)
    return BranchList(branches=[BranchPublic.of(info) for info in infos])


@router.post(
    "/scenes/{scene}/branches",
    status_code=202,
    response_model=Accepted,
    summary="Fork a branch from any branch at any version",
)
async def fork(
    scene: OwnedScene,
    body: BranchCreate,
    principal: CurrentStudio,
    api: ApiDep,
    retry: RetryDep,
    response: Response,
) -> Accepted:
    submitted = await branches.fork(
        api.services, principal.caller, scene, body.name, body.source, body.at_version, retry
    )
    return accepted(api, submitted, response)


@router.get(
    "/scenes/{scene}/diff",
    response_model=DiffPublic,
    summary="What differs between two branches or versions, per node and property",
)
async def diff(scene: OwnedScene, old: StateRef, new: StateRef, api: ApiDep) -> DiffPublic:
    compared = await branches.compare(api.services, scene, old, new)
    return DiffPublic(
        old=old,
        new=new,
        old_version=compared.old.version,
        new_version=compared.new.version,
        changes=[ChangePublic.of(change) for change in compared.changes],
    )


@router.post(
    "/scenes/{scene}/merges",
    status_code=202,
    response_model=Accepted,
    summary="Merge one branch into another (conflicts are recorded, never guessed)",
)
async def merge(
    scene: OwnedScene,
    body: MergeCreate,
    principal: CurrentStudio,
    api: ApiDep,
    retry: RetryDep,
    response: Response,
) -> Accepted:
    merged = await branches.merge(
        api.services, principal.caller, scene, body.source, body.into, retry
    )
    return accepted(api, merged.submission, response)


@router.get(
    "/scenes/{scene}/conflicts", response_model=ConflictList, summary="Open merge conflicts"
)
async def conflicts(scene: OwnedScene, api: ApiDep, branch: BranchQuery = "main") -> ConflictList:
    state = await scenes.scene_state(api.services, scene, branch)
    found = [ConflictPublic.of(c) for _, c in sorted(state.conflicts.items())]
    return ConflictList(branch=branch, conflicts=found)


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
    api: ApiDep,
    retry: RetryDep,
    response: Response,
    branch: BranchQuery = "main",
) -> Accepted:
    submitted = await branches.resolve(
        api.services, principal.caller, scene, conflict, body.choice, body.value, branch, retry
    )
    return accepted(api, submitted, response)


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
    api: ApiDep,
    retry: RetryDep,
    response: Response,
    branch: BranchQuery = "main",
) -> Accepted:
    submitted = await branches.resolve_all(
        api.services, principal.caller, scene, body.choice, branch, retry
    )
    return accepted(api, submitted, response)
