"""Scenes: create, list, read a branch's state (now, at a version, or at a moment),
its history, and its views at draft, preview or production fidelity."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec
from fastapi import APIRouter, Path, Query, Response

from api.deps import ApiDep, BranchQuery, CurrentStudio, OwnedScene, RetryDep
from api.errors import ERROR_RESPONSES, ApiError
from api.routes._accepted import accepted
from api.schemas.common import Accepted
from api.schemas.history import HistoryEntryPublic, HistoryPage
from api.schemas.scenes import SceneCreate, SceneList, ScenePublic
from api.schemas.views import ViewPublic
from api.services import scenes
from projections.as_of import LARGEST_VERSION, parse_as_of
from projections.fidelity import Fidelity

router = APIRouter(tags=["scenes"], responses=ERROR_RESPONSES)

Version = Annotated[
    int | None,
    Query(ge=0, le=LARGEST_VERSION, description="As of this version (default: head)."),
]
AsOf = Annotated[
    str | None,
    Query(max_length=64, description="As of a version, or an ISO 8601 time (UTC if bare)."),
]


@router.post("/scenes", status_code=201, response_model=Accepted, summary="Create a scene")
async def create_scene(
    body: SceneCreate, principal: CurrentStudio, api: ApiDep, retry: RetryDep, response: Response
) -> Accepted:
    submitted = await scenes.create_scene(
        api.services, principal.caller, body.id, body.title, retry
    )
    return accepted(api, submitted, response)


@router.get("/scenes", response_model=SceneList, summary="The studio's scenes")
async def list_scenes(principal: CurrentStudio, api: ApiDep) -> SceneList:
    return SceneList(scenes=await scenes.list_scenes(api.services, principal.caller.studio))


@router.get("/scenes/{scene}", response_model=ScenePublic, summary="A branch's state")
async def get_scene(
    scene: OwnedScene,
    api: ApiDep,
    branch: BranchQuery = "main",
    version: Version = None,
    as_of: AsOf = None,
) -> ScenePublic:
    if version is not None and as_of is not None:
        raise ApiError(422, "as_of: give version or as_of, not both", field="as_of")
    at = parse_as_of(as_of, "as_of") if as_of is not None else version
    return ScenePublic.of(await scenes.scene_state(api.services, scene, branch, at))


@router.get("/scenes/{scene}/history", response_model=HistoryPage, summary="The event log")
async def history(
    scene: OwnedScene,
    principal: CurrentStudio,
    api: ApiDep,
    branch: BranchQuery = "main",
    node: Annotated[str | None, Query(max_length=128)] = None,
    actor: Annotated[str | None, Query(max_length=200)] = None,
    execution: Annotated[str | None, Query(max_length=128)] = None,
    since: Annotated[datetime | None, Query(description="From this time on.")] = None,
    until: Annotated[datetime | None, Query(description="Before this time.")] = None,
    after_version: Annotated[int, Query(ge=0, le=LARGEST_VERSION)] = 0,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> HistoryPage:
    """Without filters, the branch's events straight from the log (paged by version);
    with any filter, from the history read model."""
    narrow = scenes.HistoryFilter(
        node=node, actor=actor, execution=execution, since=since, until=until
    )
    events = await scenes.history(
        api.services,
        scene,
        branch,
        narrow,
        studio=principal.caller.studio,
        after_version=after_version,
        limit=limit,
    )
    entries = [HistoryEntryPublic.of(event) for event in events]
    return HistoryPage(scene=scene, branch=branch, entries=entries)


@router.get(
    "/scenes/{scene}/views/{fidelity}",
    response_model=ViewPublic,
    summary="A branch at draft, preview or production fidelity",
)
async def view(
    scene: OwnedScene,
    fidelity: Annotated[Fidelity, Path()],
    api: ApiDep,
    branch: BranchQuery = "main",
    version: Version = None,
) -> ViewPublic:
    shown = await scenes.view(api.services, scene, branch, fidelity, version)
    return ViewPublic(
        scene=scene,
        branch=branch,
        fidelity=str(fidelity),
        version=shown.version,
        view=msgspec.to_builtins(shown),
    )
