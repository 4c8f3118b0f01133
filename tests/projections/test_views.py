"""The draft timeline, live draft views, and the preview and production views."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from adapters.system import RandomIds, SystemClock
from engine.intents import parse_intent
from engine.service import SceneService
from engine.tasks import ErrorKind, TaskError, TaskResult, TaskStatus
from projections.drafts import DraftViews
from projections.fidelity import Fidelity, FidelityView, fidelity_view
from projections.timeline import timeline_of
from projections.views import finished_work
from tests.memory_store import MemoryStore
from tests.projections.conftest import Backend
from tests.projections.scenes import sha


class Studio:
    """A scene service on an in-memory store, and the intents a person would send."""

    def __init__(self) -> None:
        self.store = MemoryStore()
        self.scenes = SceneService(self.store, SystemClock(), RandomIds(), work_cache=self.store)

    async def act(self, action: dict[str, Any], branch: str = "main") -> str:
        raw = {
            "kind": "structured_action",
            "studio": "st",
            "actor": "ana",
            "scene": "s",
            "branch": branch,
            "action": action,
        }
        scenes = self.scenes
        intent = parse_intent(raw, now=scenes.clock.now, new_id=scenes.ids.new_id)
        return (await scenes.submit(intent)).execution_id

    async def finish(self, description: str, ok: bool = True, error: str = "") -> None:
        state = await self.scenes.load("s")
        task = next(
            t
            for t in state.tasks.values()
            if t.description == description and t.status == TaskStatus.PLANNED
        )
        status = TaskStatus.SUCCEEDED if ok else TaskStatus.FAILED
        await self.scenes.record_result(
            TaskResult(
                task.id,
                task.attempt,
                task.execution,
                "s",
                "main",
                status,
                artifact=sha(task.id) if ok else None,
                error=None if ok else _error(error),
                studio="st",
            )
        )

    async def finish_all(self) -> None:
        while True:
            state = await self.scenes.load("s")
            ready = [t for t in state.tasks.values() if t.status == TaskStatus.PLANNED]
            if not ready:
                return
            for task in ready:
                await self.finish(task.description)


def _error(message: str) -> TaskError:
    return TaskError(ErrorKind.INVALID_INPUT, message)


async def two_shots(studio: Studio) -> None:
    await studio.act({"name": "create_scene", "title": "Keeper"})
    for n, length in ((1, 2), (2, 3)):
        props = {"title": f"Shot {n}", "prompt": f"view {n}", "duration": length}
        await studio.act({"name": "add_node", "kind": "shot", "node": f"shot-{n}", "props": props})
    caption = {"text": "Dawn.", "start": 0.5, "end": 2}
    await studio.act(
        {"name": "add_node", "kind": "caption", "parent": "shot-2", "node": "c", "props": caption}
    )
    voice = {"text": "Every night.", "start": 1}
    await studio.act({"name": "add_node", "kind": "voiceover", "node": "v", "props": voice})


async def test_the_draft_timeline_lays_out_shots_tracks_and_placeholders() -> None:
    studio = Studio()
    await two_shots(studio)
    await studio.act({"name": "render"})
    timeline = timeline_of(await studio.scenes.load("s"))
    assert [(s.node, s.start, s.duration) for s in timeline.shots] == [
        ("shot-1", 0.0, 2.0),
        ("shot-2", 2.0, 3.0),
    ]
    assert timeline.duration == 5.0 and timeline.title == "Keeper"
    captions, voices, _ = timeline.tracks
    assert [(i.text, i.start, i.duration) for i in captions.items] == [("Dawn.", 2.5, 1.5)]
    assert [(i.node, i.text, i.start) for i in voices.items] == [("v", "Every night.", 1.0)]
    preview, render = timeline.outputs
    assert (preview.slot, preview.placeholder, preview.task) == ("preview", "no preview yet", None)
    assert render.task is not None and render.task.operation == "encode"
    assert render.placeholder == f"{render.task.description} (planned)"
    image = timeline.shots[0].slots[0]
    assert (image.slot, image.artifact) == ("image", None)
    assert image.placeholder == "generating image for shot 1 (planned)"
    assert image.task is not None and image.task.operation == "text_to_image"
    await studio.finish("generating image for shot 1")
    await studio.finish("generating video for shot 1", ok=False, error="the model refused")
    shot = timeline_of(await studio.scenes.load("s")).shots[0]
    image, video, _ = shot.slots
    assert image.artifact is not None and image.placeholder is None and image.task is None
    assert shot.display == image.artifact
    assert video.placeholder == "generating video for shot 1: failed (the model refused)"


async def test_a_caption_that_speaks_a_copy_shows_the_copy_s_text() -> None:
    """A caption naming a copy node (a tagline shared by the film and a page) shows
    what the film burns in: the copy's text, after every edit of it."""
    studio = Studio()
    await two_shots(studio)
    tagline = {"role": "tagline", "text": "One night, one light."}
    await studio.act({"name": "add_node", "kind": "copy", "node": "tagline", "props": tagline})
    spoken = {"copy": "tagline", "start": 0.0, "end": 1.0}
    await studio.act(
        {"name": "add_node", "kind": "caption", "parent": "shot-1", "node": "ct", "props": spoken}
    )
    await studio.act(
        {"name": "set_property", "node": "tagline", "prop": "text", "value": "Keep it lit."}
    )
    captions, _, _ = timeline_of(await studio.scenes.load("s")).tracks
    assert [(i.node, i.text) for i in captions.items] == [("ct", "Keep it lit."), ("c", "Dawn.")]


async def test_draft_views_follow_the_log_within_milliseconds(sqlite_backend: Backend) -> None:
    backend = sqlite_backend
    await backend.act("s", {"name": "create_scene", "title": "Live"})
    drafts = DraftViews(backend.store, backend.scenes)
    following = asyncio.create_task(drafts.run())
    try:
        first = await drafts.timeline("s")
        assert first.shots == []
        lags = []
        for n in range(1, 6):
            started = time.perf_counter()
            shot = {"name": "add_node", "kind": "shot", "node": f"shot-{n}"}
            receipt = await backend.act("s", shot)
            timeline = await asyncio.wait_for(drafts.wait_for("s", "main", receipt.last_version), 5)
            lags.append(time.perf_counter() - started)
            assert [s.node for s in timeline.shots][-1] == f"shot-{n}"
            assert timeline.position is not None and timeline.position >= receipt.last_version
        assert sorted(lags)[len(lags) // 2] < 0.25, lags
    finally:
        following.cancel()


async def production_view(studio: Studio) -> FidelityView:
    return await _view(studio, Fidelity.PRODUCTION)


async def preview_view(studio: Studio) -> FidelityView:
    return await _view(studio, Fidelity.PREVIEW)


async def _view(studio: Studio, fidelity: Fidelity) -> FidelityView:
    """The view with no work cache: what the branch's own executions made."""
    state = await studio.scenes.load("s")
    return fidelity_view(state, fidelity, {}, await finished_work(studio.scenes, state, fidelity))


async def test_production_lists_exactly_what_is_missing_until_it_is_made() -> None:
    studio = Studio()
    await two_shots(studio)
    before = await production_view(studio)
    assert before.status == "not_rendered" and before.output is None
    assert {g.status for g in before.missing} == {"not planned"}
    await studio.act({"name": "render"})
    await studio.finish("generating image for shot 2", ok=False, error="content refused")
    failing = await production_view(studio)
    assert failing.status == "failed"
    image = next(g for g in failing.missing if g.work == "shot-2/image")
    assert (image.status, image.reason) == ("failed", "content refused")
    video = next(g for g in failing.missing if g.work == "shot-2/video")
    assert video.status == "blocked" and video.reason == f"waits on {image.task}"
    await studio.act({"name": "retry_task", "task": image.task})
    await studio.finish_all()
    ready = await production_view(studio)
    assert (ready.status, ready.missing, ready.conflicts) == ("ready", [], [])
    state = await studio.scenes.load("s")
    assert ready.output == state.nodes[state.root].artifact("render")
    await studio.act({"name": "set_property", "node": "shot-2", "prop": "prompt", "value": "storm"})
    edited = await production_view(studio)
    assert edited.status == "not_rendered" and edited.output is None
    # only the edited shot's work and the assembly after it are missing
    missing = [g.work for g in edited.missing]
    assert missing[:2] == ["shot-2/image", "shot-2/video"] and missing[-1] == "production/render"
    assert all(w.startswith(("shot-2/", "production/")) for w in missing)
    assert {g.status for g in edited.missing} == {"not planned"}


async def test_production_is_refused_while_a_merge_conflict_is_open_on_its_nodes() -> None:
    studio = Studio()
    await two_shots(studio)
    await studio.act({"name": "render"})
    await studio.finish_all()
    await studio.act({"name": "fork_branch"}, branch="alt")
    edit = {"name": "set_property", "node": "shot-1", "prop": "title"}
    await studio.act({**edit, "value": "Storm"}, branch="alt")
    await studio.act({**edit, "value": "Calm"})
    await studio.act({"name": "merge_branch", "source": "alt"})
    conflicted = await production_view(studio)
    (conflict,) = conflicted.conflicts
    assert (conflicted.status, conflicted.output) == ("conflicted", None)
    assert (conflict.node, conflict.field) == ("shot-1", "prop:title")
    assert conflicted.reasons[0] == f"conflict {conflict.conflict} is open on shot-1 (prop:title)"
    await studio.act({"name": "resolve_conflict", "conflict": conflict.conflict, "choice": "ours"})
    assert (await production_view(studio)).status == "ready"


async def test_preview_remakes_only_the_edited_shots_proxies() -> None:
    studio = Studio()
    await two_shots(studio)
    assert (await preview_view(studio)).status == "not_rendered"
    first = await studio.act({"name": "render", "goal": "preview"})
    await studio.finish("generating image for shot 1")
    halfway = await preview_view(studio)
    assert (halfway.status, halfway.execution, halfway.output) == ("in_progress", first, None)
    assert [(s.node, s.state) for s in halfway.shots] == [
        ("shot-1", "pending"),
        ("shot-2", "pending"),
    ]
    await studio.finish_all()
    done = await preview_view(studio)
    state = await studio.scenes.load("s")
    assert (done.status, done.output) == ("ready", state.nodes[state.root].artifact("preview"))
    assert [(s.node, s.state) for s in done.shots] == [("shot-1", "remade"), ("shot-2", "remade")]
    proxy = state.nodes["shot-2"].artifact("preview")
    await studio.act({"name": "set_property", "node": "shot-2", "prop": "prompt", "value": "fog"})
    edited = await preview_view(studio)
    assert edited.status == "not_rendered" and edited.output is None
    assert [(s.node, s.state, s.artifact) for s in edited.shots][1] == ("shot-2", "stale", proxy)
    second = await studio.act({"name": "render", "goal": "preview"})
    await studio.finish_all()
    again = await preview_view(studio)
    assert (again.status, again.execution) == ("ready", second)
    assert [(s.node, s.state) for s in again.shots] == [("shot-1", "reused"), ("shot-2", "remade")]
