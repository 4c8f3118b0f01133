"""Scenes: create, list, read a branch's state (now, at a version, or at a moment),
its history, and its views at draft, preview or production fidelity."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec
from fastapi import APIRouter, Path, Query

from api.deps import BranchQuery, CurrentStudio, OwnedScene, ServicesDep, studio_of
from api.errors import ERROR_RESPONSES, ApiError
from api.routes.intents import submit
from api.schemas.common import Accepted
from api.schemas.history import HistoryEntryPublic, HistoryPage
from api.schemas.scenes import SceneCreate, SceneList, ScenePublic
from api.schemas.views import ViewPublic
from engine.errors import InvalidIntent, NotFound
from engine.ports import StreamId, WorkCache
from engine.scene import SceneState
from projections.as_of import parse_as_of, state_as_of
from projections.fidelity import Fidelity
from projections.history import HistoryQuery, as_recorded, find_history
from projections.views import view_of

router = APIRouter(tags=["scenes"], responses=ERROR_RESPONSES)

Version = Annotated[int | None, Query(ge=0, description="As of this version (default: head).")]
AsOf = Annotated[
    str | None,
    Query(max_length=64, description="As of a version, or an ISO 8601 time (UTC if bare)."),
]


@router.post("/scenes", status_code=201, response_model=Accepted, summary="Create a scene")
async def create_scene(body: SceneCreate, principal: CurrentStudio, found: ServicesDep) -> Accepted:
    owner = await found.tenancy.owner(body.id)
    if owner is not None and owner != studio_of(principal):
        # The same answer as for a scene of one's own: another studio's ids are not news.
        raise InvalidIntent("scene", f"scene {body.id!r} already exists")
    action = {"name": "create_scene", "title": body.title}
    fields = {"kind": "structured_action", "branch": "main", "action": action}
    return await submit(found, principal, body.id, fields)


@router.get("/scenes", response_model=SceneList, summary="The studio's scenes")
async def list_scenes(principal: CurrentStudio, found: ServicesDep) -> SceneList:
    return SceneList(scenes=await found.tenancy.store.list_scenes(studio_of(principal)))


@router.get("/scenes/{scene}", response_model=ScenePublic, summary="A branch's state")
async def get_scene(
    scene: OwnedScene,
    found: ServicesDep,
    branch: BranchQuery = "main",
    version: Version = None,
    as_of: AsOf = None,
) -> ScenePublic:
    if version is not None and as_of is not None:
        raise ApiError(422, "as_of: give version or as_of, not both", field="as_of")
    at = parse_as_of(as_of, "as_of") if as_of is not None else version
    state: SceneState
    if isinstance(at, datetime):
        state = await state_as_of(found.engine.scenes, found.read_models, scene, branch, at)
    else:
        state = await found.engine.scenes.load(scene, branch, at)
    if not state.created:
        raise NotFound(f"no scene {scene!r} on branch {branch!r}")
    return ScenePublic.of(state)


@router.get("/scenes/{scene}/history", response_model=HistoryPage, summary="The event log")
async def history(
    scene: OwnedScene,
    principal: CurrentStudio,
    found: ServicesDep,
    branch: BranchQuery = "main",
    node: Annotated[str | None, Query(max_length=128)] = None,
    actor: Annotated[str | None, Query(max_length=200)] = None,
    execution: Annotated[str | None, Query(max_length=128)] = None,
    since: Annotated[datetime | None, Query(description="From this time on.")] = None,
    until: Annotated[datetime | None, Query(description="Before this time.")] = None,
    after_version: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> HistoryPage:
    """Without filters, the branch's events straight from the log (paged by version);
    with any filter, from the history read model."""
    if (node, actor, execution, since, until) == (None,) * 5:
        events = await found.engine.store.read_stream(
            StreamId(scene, branch), after_version, after_version + limit
        )
        if not events and after_version == 0:
            raise NotFound(f"no scene {scene!r} on branch {branch!r}")
        entries = [HistoryEntryPublic.of(event) for event in events]
        return HistoryPage(scene=scene, branch=branch, entries=entries)
    query = HistoryQuery(
        scene=scene,
        branch=branch,
        node=node,
        actor=actor,
        execution=execution,
        studio=studio_of(principal),
        since=since,
        until=until,
        limit=limit,
    )
    found_entries = await find_history(found.read_models, query)
    entries = [
        HistoryEntryPublic.of(as_recorded(e)) for e in found_entries if e.version > after_version
    ]
    return HistoryPage(scene=scene, branch=branch, entries=entries)


@router.get(
    "/scenes/{scene}/views/{fidelity}",
    response_model=ViewPublic,
    summary="A branch at draft, preview or production fidelity",
)
async def view(
    scene: OwnedScene,
    fidelity: Annotated[Fidelity, Path()],
    found: ServicesDep,
    branch: BranchQuery = "main",
    version: Version = None,
) -> ViewPublic:
    work_cache: WorkCache = found.engine.store  # type: ignore[assignment]  # SQL stores keep it
    shown = await view_of(found.engine.scenes, work_cache, scene, branch, fidelity, version)
    return ViewPublic(
        scene=scene,
        branch=branch,
        fidelity=str(fidelity),
        version=shown.version,
        view=msgspec.to_builtins(shown),
    )
