"""A branch's view at any fidelity, loaded through the engine: the one entry point the
CLI and the API use (`view_of`)."""

from __future__ import annotations

from engine.ports import StreamId, WorkCache
from engine.scene import SceneState
from engine.service import SceneService
from projections.fidelity import (
    Fidelity,
    FidelityView,
    FinishedWork,
    fidelity_view,
    needed_keys,
)
from projections.timeline import Timeline, timeline_of


async def view_of(
    scenes: SceneService,
    work_cache: WorkCache,
    scene: str,
    branch: str,
    fidelity: Fidelity,
    version: int | None = None,
) -> Timeline | FidelityView:
    state = await scenes.load(scene, branch, version)
    if not state.created:
        raise await scenes.missing(scene, branch, version)
    if fidelity == Fidelity.DRAFT:
        return timeline_of(state)
    keys = set(needed_keys(state, fidelity).values())
    studio = await _studio_of(scenes, scene, branch)
    cached = await work_cache.find_work(studio, keys) if studio and keys else {}
    return fidelity_view(state, fidelity, cached, await finished_work(scenes, state, fidelity))


async def finished_work(
    scenes: SceneService, state: SceneState, fidelity: Fidelity
) -> FinishedWork:
    """What the branch's finished executions did for its view at `fidelity`."""
    keys = set(needed_keys(state, fidelity).values())
    stream = StreamId(state.scene, state.branch)
    return FinishedWork(
        tasks=tuple(await scenes.archive.tasks_for(stream, keys, state.version)),
        newest=await scenes.archive.newest(stream, str(fidelity), state.version),
    )


async def _studio_of(scenes: SceneService, scene: str, branch: str) -> str:
    first = await scenes.store.read_stream(StreamId(scene, branch), 0, 1)
    return first[0].metadata.studio if first else ""
