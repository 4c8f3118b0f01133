"""Scenes: create and list them; a branch's state now, at a version or at a moment;
its history (straight from the log, or filtered through the history read model);
its views at draft, preview or production fidelity."""

from __future__ import annotations

from datetime import datetime

import msgspec

from api.services import Caller, Services
from api.services.idempotency import Retry
from api.services.intake import Submission, submit
from engine.errors import InvalidIntent
from engine.events import RecordedEvent
from engine.ports import StreamId
from engine.scene import SceneState
from projections.as_of import state_as_of
from projections.fidelity import Fidelity, FidelityView
from projections.history import HistoryQuery, as_recorded, find_history
from projections.timeline import Timeline
from projections.views import view_of


class HistoryFilter(msgspec.Struct, frozen=True, kw_only=True):
    """What a history query narrows to; with none of it, the log is read directly."""

    node: str | None = None
    actor: str | None = None
    execution: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def __post_init__(self) -> None:
        if self.since is not None and self.until is not None and self.since >= self.until:
            raise InvalidIntent(
                "until", f"{self.until.isoformat()} is not after since {self.since.isoformat()}"
            )

    @property
    def empty(self) -> bool:
        return (self.node, self.actor, self.execution, self.since, self.until) == (None,) * 5


async def create_scene(
    services: Services,
    caller: Caller,
    scene: str,
    title: str | None = None,
    retry: Retry | None = None,
) -> Submission:
    """A new scene of the caller's studio; an id another studio holds is refused the
    same way as one of its own (another studio's ids are not news)."""
    owner = await services.tenancy.owner(scene)
    if owner is not None and owner != caller.studio:
        raise InvalidIntent("scene", f"scene {scene!r} already exists")
    action = {"name": "create_scene", "title": title}
    fields = {"kind": "structured_action", "scene": scene, "branch": "main", "action": action}
    return await submit(services, caller, fields, retry=retry)


async def list_scenes(services: Services, studio: str) -> list[str]:
    return await services.tenancy_store.list_scenes(studio)


async def scene_state(
    services: Services, scene: str, branch: str = "main", at: int | datetime | None = None
) -> SceneState:
    """A branch as it is now, at a version, or at a moment; NotFound when the scene
    does not exist on that branch (then)."""
    if at is not None:
        return await state_as_of(services.scenes, services.read_models, scene, branch, at)
    state = await services.scenes.load(scene, branch)
    if not state.created:
        raise await services.scenes.missing(scene, branch)
    return state


async def history(
    services: Services,
    scene: str,
    branch: str = "main",
    narrow: HistoryFilter | None = None,
    *,
    studio: str | None = None,
    after_version: int = 0,
    limit: int | None = None,
) -> list[RecordedEvent]:
    """A branch's events with their provenance, oldest first: from the log, paged by
    version, or through the history read model when `narrow` narrows anything
    (`studio`: only that studio's events)."""
    if narrow is None or narrow.empty:
        up_to = None if limit is None else after_version + limit
        events = await services.store.read_stream(StreamId(scene, branch), after_version, up_to)
        if not events and after_version == 0:
            raise await services.scenes.missing(scene, branch)
        return events
    query = HistoryQuery(
        scene=scene,
        branch=branch,
        node=narrow.node,
        actor=narrow.actor,
        execution=narrow.execution,
        studio=studio,
        since=narrow.since,
        until=narrow.until,
        limit=limit,
    )
    found = await find_history(services.read_models, query)
    return [as_recorded(entry) for entry in found if entry.version > after_version]


async def view(
    services: Services,
    scene: str,
    branch: str,
    fidelity: Fidelity,
    version: int | None = None,
) -> Timeline | FidelityView:
    return await view_of(services.scenes, services.work_cache, scene, branch, fidelity, version)
