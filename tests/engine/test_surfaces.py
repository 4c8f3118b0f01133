"""Surfaces: a prompt that asks for a landing page plans copy, code and the page's
render beside the film; copy shared with the film is one node; an edit re-runs
exactly the tasks whose content keys changed (the consistency law)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.errors import InvalidIntent
from engine.planning import Work, content_keys
from engine.recipes import scene_works
from engine.scene import SceneState
from engine.ui_copy import spoken_text
from tests.engine.scenes import Studio
from tests.engine.test_planning import run_all

PROMPT = (
    "A 3-shot film about a lighthouse keeper, with narration and captions, "
    "and a landing page for it"
)


async def made(studio: Studio) -> None:
    await studio.submit({"kind": "text_prompt", "text": PROMPT})
    await run_all(studio)


async def test_a_prompt_asking_for_a_landing_page_plans_copy_code_and_its_render() -> None:
    studio = Studio()
    receipt = await studio.submit({"kind": "text_prompt", "text": PROMPT})
    record = await studio.execution(receipt.execution_id)
    operations = sorted(t.operation for t in record.tasks)
    assert operations.count("write_copy") == 3  # synopsis, button, alt; the tagline is written
    assert operations.count("write_page") == 1 and operations.count("render_surface") == 1
    render = next(t for t in record.tasks if t.operation == "render_surface")
    assert sorted(i.name for i in render.inputs) == [
        "code", "copy:poster-alt", "copy:synopsis", "copy:watch-button",
        "media:root/render", "media:shot-1/image",
    ]  # fmt: skip
    code = next(t for t in record.tasks if t.operation == "write_page")
    assert "tagline" in {slot["node"] for slot in code.params["copy"]}
    assert not code.inputs  # the code names copy and media; it never holds them


async def test_running_the_plan_binds_the_code_the_copy_and_the_page() -> None:
    studio = Studio()
    await made(studio)
    state = await studio.state()
    page = state.nodes["landing-page"]
    assert page.artifact("code") is not None and page.artifact("render") is not None
    assert all(state.nodes[n].artifact("text") for n in ("synopsis", "watch-button"))


async def test_the_tagline_is_one_node_spoken_by_the_closing_caption_and_shown_by_the_page() -> (
    None
):
    studio = Studio()
    await made(studio)
    state = await studio.state()
    closing = state.nodes["caption-tagline"]
    assert spoken_text(state, closing) == state.nodes["tagline"].value("text")
    assert state.nodes["landing-page"].value("copy") == "tagline"
    assert [n for n in state.nodes.values() if n.kind == "copy" and n.value("role") == "tagline"]


async def test_an_edited_tagline_reruns_the_film_render_and_the_page_not_the_code() -> None:
    studio = Studio()
    await made(studio)
    await studio.submit(
        {"kind": "direct_edit", "node": "tagline", "prop": "text", "value": "Keep the light."}
    )
    state = await studio.state()
    ran = await run_all(studio)
    by_key = _by_key(state)
    assert sorted(by_key[k].operation for k in ran) == ["encode", "render_surface"]


async def test_an_edited_layout_prompt_reruns_only_the_code_and_the_render() -> None:
    studio = Studio()
    await made(studio)
    await studio.submit(
        {
            "kind": "direct_edit",
            "node": "landing-page",
            "prop": "prompt",
            "value": "a bright split page",
        }
    )
    state = await studio.state()
    ran = await run_all(studio)
    by_key = _by_key(state)
    assert sorted(by_key[k].operation for k in ran) == ["render_surface", "write_page"]


COPY_EDITS = st.one_of(
    st.tuples(
        st.just("tagline"),
        st.just("text"),
        st.sampled_from(["Keep the light.", "One night, one light, and the keeper who keeps it."]),
    ),
    st.tuples(
        st.sampled_from(["synopsis", "watch-button", "poster-alt"]),
        st.sampled_from(["brief", "tone", "seed"]),
        st.sampled_from(["a storm", "warm", 3]),
    ).filter(lambda e: (e[1] == "seed") == isinstance(e[2], int)),
    st.tuples(
        st.sampled_from(["synopsis", "watch-button"]),
        st.just("text"),
        st.sampled_from(["Watch", "A quiet film."]),
    ),
    st.tuples(
        st.just("landing-page"),
        st.sampled_from(["prompt", "seed"]),
        st.sampled_from(["a stacked page", 7]),
    ).filter(lambda e: (e[1] == "seed") == isinstance(e[2], int)),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(COPY_EDITS)
def test_after_one_copy_or_layout_edit_exactly_the_tasks_whose_key_changed_run(
    edit: tuple[str, str, Any],
) -> None:
    async def check() -> None:
        studio = Studio()
        await made(studio)
        before = await studio.state()
        node, prop, value = edit
        await studio.submit({"kind": "direct_edit", "node": node, "prop": prop, "value": value})
        after = await studio.state()
        ran = await run_all(studio)
        assert set(ran) == changed_keys(before, after)
        if before.nodes[node].value(prop) != value:  # a real change shows on the page
            assert "render_surface" in {_by_key(after)[k].operation for k in ran}
        if node == "landing-page":  # a layout edit touches the page's code and render only
            by_key = _by_key(after)
            assert {by_key[k].operation for k in ran} <= {"write_page", "render_surface"}

    asyncio.run(check())


def _by_key(state: SceneState) -> dict[str, Work]:
    works = scene_works(state)
    keys = content_keys(works)
    return {keys[w.key]: w for w in works}


def changed_keys(before: SceneState, after: SceneState) -> set[str]:
    """Keys of the work the new goals need that no earlier run produced."""
    old = set(content_keys(scene_works(before)).values())
    works = scene_works(after)
    keys = content_keys(works)
    by_key = {w.key: w for w in works}
    used = {dep for w in works for dep in w.inputs.values()}
    needed: set[str] = set()
    stack = [w.key for w in works if w.key not in used]
    while stack:
        key = stack.pop()
        if keys[key] in old or keys[key] in needed:
            continue
        needed.add(keys[key])
        stack.extend(by_key[key].inputs.values())
    return needed


async def test_a_voice_over_that_speaks_a_copy_node_is_spoken_again_when_the_copy_changes() -> None:
    studio = Studio()
    await made(studio)
    await studio.set("main", "narration-3", "copy", "tagline")
    await studio.submit({"kind": "direct_edit", "node": "narration-3", "prop": "text", "value": ""})
    await run_all(studio)
    await studio.submit(
        {"kind": "direct_edit", "node": "tagline", "prop": "text", "value": "Keep the light."}
    )
    state = await studio.state()
    ran = await run_all(studio)
    by_key = _by_key(state)
    # its speech, the mix it is in, the encode (the closing caption says it too), the page
    assert sorted(by_key[k].operation for k in ran) == [
        "encode", "mix", "render_surface", "text_to_speech",
    ]  # fmt: skip
    speech = next(w for w in by_key.values() if w.key == "narration-3/speech")
    assert speech.params["text"] == "Keep the light."


async def test_naming_a_node_that_is_not_copy_as_copy_is_refused_and_changes_nothing() -> None:
    studio = Studio()
    await studio.submit({"kind": "text_prompt", "text": PROMPT})
    before = await studio.state()
    refusals = [
        ("caption-1", "copy", "shot-2", "'shot-2' is not a copy node of the scene"),
        ("landing-page", "copy", "tagline nowhere", "'nowhere' is not a copy node"),
        ("landing-page", "media", "root ghost/image", "'ghost' is not a node of the scene"),
    ]
    for node, prop, value, said in refusals:
        with pytest.raises(InvalidIntent) as refused:
            await studio.submit({"kind": "direct_edit", "node": node, "prop": prop, "value": value})
        assert refused.value.field == "value" and said in str(refused.value)
    assert (await studio.state()).version == before.version
