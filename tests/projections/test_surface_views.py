"""Surfaces in a branch's views: the draft shows each surface's structure with
placeholders; preview and production say whether its render is ready, and what it
lacks; a surface whose code failed its checks is failed, never shown broken."""

from __future__ import annotations

from engine.planning import content_keys
from engine.recipes import scene_works
from engine.scene import SceneState
from engine.tasks import ErrorKind, TaskError, TaskResult, TaskStatus
from projections.fidelity import Fidelity, FidelityView, fidelity_view
from projections.timeline import timeline_of
from projections.views import finished_work
from tests.engine.scenes import Studio
from tests.engine.test_planning import run_all
from tests.engine.test_surfaces import PROMPT


async def production(studio: Studio) -> FidelityView:
    state = await studio.state()
    keys = set(content_keys(scene_works(state)).values())
    cached = await studio.store.find_work("st", keys)  # type: ignore[attr-defined]
    finished = await finished_work(studio.service, state, Fidelity.PRODUCTION)
    return fidelity_view(state, Fidelity.PRODUCTION, cached, finished)


async def test_the_draft_shows_the_page_with_placeholders_for_what_is_not_made() -> None:
    studio = Studio()
    await studio.submit({"kind": "text_prompt", "text": PROMPT})

    [page] = timeline_of(await studio.state()).surfaces

    assert (page.node, page.kind, page.width, page.height) == ("landing-page", "web", 1280, 800)
    copy = {c.node: c for c in page.copy}
    assert copy["tagline"].text == "One night, one light, and the keeper who keeps it."
    assert (copy["synopsis"].text, copy["synopsis"].placeholder) == (None, "[synopsis]")
    assert [(m.ref, m.kind, m.artifact) for m in page.media] == [
        ("root/render", "video", None),
        ("shot-1/image", "image", None),
    ]
    assert (page.status, page.output, page.code) == ("draft", None, None)


async def test_production_shows_the_bundle_once_made_and_what_an_edit_left_to_make() -> None:
    studio = Studio()
    await studio.submit({"kind": "text_prompt", "text": PROMPT})
    await run_all(studio)
    state = await studio.state()

    [page] = (await production(studio)).surfaces
    assert (page.status, page.missing) == ("ready", [])
    assert page.output == state.nodes["landing-page"].artifact("render")
    assert page.code == state.nodes["landing-page"].artifact("code")
    assert all(c.text or c.artifact for c in page.copy)

    edit = {"kind": "direct_edit", "node": "landing-page", "prop": "prompt", "value": "split"}
    await studio.submit(edit)
    [page] = (await production(studio)).surfaces
    assert (page.status, page.output) == ("in_progress", None)
    assert sorted(m.split(":")[0] for m in page.missing) == [
        "landing-page/code",
        "landing-page/production",
    ]


async def test_a_page_whose_code_failed_its_checks_is_failed_not_broken() -> None:
    studio = Studio()
    await studio.submit({"kind": "text_prompt", "text": PROMPT})
    await run_all(studio)
    await studio.submit(
        {"kind": "direct_edit", "node": "landing-page", "prop": "prompt", "value": "split"}
    )
    state = await studio.state()
    await studio.service.record_result(failed_code(state))

    [page] = (await production(studio)).surfaces
    assert (page.status, page.output) == ("failed", None)
    assert any("leaves out the copy 'tagline'" in m for m in page.missing)


def failed_code(state: SceneState) -> TaskResult:
    task = next(t for t in state.tasks.values() if t.operation == "write_page")
    why = TaskError(
        ErrorKind.INVALID_OUTPUT, "the page written was not usable: leaves out the copy 'tagline'"
    )
    return TaskResult(
        task.id,
        task.attempt,
        task.execution,
        state.scene,
        state.branch,
        TaskStatus.FAILED,
        error=why,
        studio="st",
    )
