"""Planning: a prompt becomes a film's task DAG; edits re-run only what their keys change."""

from __future__ import annotations

import asyncio
import hashlib
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.binding import propose_structure
from engine.errors import InvalidIntent
from engine.planning import content_keys
from engine.recipes import film_works
from engine.scene import SceneState
from engine.tasks import TaskResult, TaskStatus
from tests.engine.scenes import Studio

PROMPT = "A 3-shot film about a lighthouse keeper, with narration and captions"


def fake_artifact(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


async def run_all(studio: Studio, branch: str = "main") -> list[str]:
    """Play a perfect worker: succeed every runnable task; return the keys that ran."""
    ran = []
    while True:
        state = await studio.state(branch)
        ready = [
            t
            for t in state.tasks.values()
            if t.status == TaskStatus.PLANNED
            and all(state.tasks[d].status == TaskStatus.SUCCEEDED for d in t.depends_on)
        ]
        if not ready:
            return ran
        for task in sorted(ready, key=lambda t: t.id):
            ran.append(task.content_key)
            await studio.service.record_result(
                TaskResult(
                    task.id,
                    task.attempt,
                    task.execution,
                    studio.scene,
                    branch,
                    TaskStatus.SUCCEEDED,
                    artifact=fake_artifact(task.content_key),
                    studio="st",
                )
            )


async def test_a_prompt_on_an_empty_scene_builds_the_film_and_its_plan() -> None:
    studio = Studio()
    receipt = await studio.submit({"kind": "text_prompt", "text": PROMPT})
    state = await studio.state()
    shots = [n for n in state.child_ids("root") if state.nodes[n].kind == "shot"]
    assert shots == ["shot-1", "shot-2", "shot-3"]
    assert {"caption-1", "narration-1", "narration-3", "score"} <= set(state.nodes)
    record = await studio.execution(receipt.execution_id)
    operations = sorted(t.operation for t in record.tasks)
    assert operations.count("text_to_image") == 3 and operations.count("image_to_video") == 3
    assert operations.count("text_to_speech") == 3 and operations.count("music") == 1
    assert {"concat", "mix", "encode"} <= set(operations)
    mix = next(t for t in record.tasks if t.operation == "mix")
    assert sorted(i.name for i in mix.inputs) == [
        "bed-001", "video", "voice-001", "voice-002", "voice-003",
    ]  # fmt: skip
    video = next(t for t in record.tasks if t.description == "generating video for shot 2")
    assert [i.name for i in video.inputs] == ["image"]


async def test_running_the_plan_binds_artifacts_and_finishes_the_execution() -> None:
    studio = Studio()
    receipt = await studio.submit({"kind": "text_prompt", "text": PROMPT})
    await run_all(studio)
    state = await studio.state()
    record = await studio.execution(receipt.execution_id)
    assert record.execution.status == "succeeded"
    assert receipt.execution_id not in state.executions  # finished: it left the state
    render = state.nodes["root"].slots["render"][-1]
    made = {t.id: t for t in record.tasks}
    assert render.task is not None and made[render.task].operation == "encode"
    assert state.nodes["shot-2"].artifact("video") is not None


async def test_an_edit_reruns_only_the_changed_shot_and_the_assembly() -> None:
    studio = Studio()
    await studio.submit({"kind": "text_prompt", "text": PROMPT})
    await run_all(studio)
    receipt = await studio.submit(
        {"kind": "direct_edit", "node": "shot-2", "prop": "prompt", "value": "a storm at night"}
    )
    record = await studio.execution(receipt.execution_id)
    execution = record.execution
    described = sorted(t.description for t in record.tasks)
    assert "generating image for shot 2" in described and "generating video for shot 2" in described
    assert not any("shot 1" in d or "shot 3" in d for d in described)
    assert execution.reused > 0 and execution.planned == len(execution.tasks)
    assert execution.bound == ("shot-2",)  # binding: the node the edit targeted


async def test_a_preview_makes_small_proxies_on_the_preview_lane() -> None:
    studio = Studio()
    await studio.submit({"kind": "text_prompt", "text": PROMPT})
    await run_all(studio)
    receipt = await studio.act("main", "render", goal="preview")
    record = await studio.execution(receipt.execution_id)
    execution, tasks = record.execution, list(record.tasks)
    assert execution.goal == "preview" and {t.lane for t in tasks} == {"preview"}
    proxies = [t for t in tasks if t.operation == "normalize"]
    assert len(proxies) == 3 and all(t.params["width"] <= 640 for t in proxies)
    assert not any(t.operation in ("text_to_image", "image_to_video") for t in tasks)
    await run_all(studio)
    state = await studio.state()
    assert state.nodes["root"].artifact("preview") is not None
    assert all(state.nodes[f"shot-{n}"].artifact("preview") for n in (1, 2, 3))


async def test_after_an_edit_only_the_changed_shots_proxy_is_remade() -> None:
    studio = Studio()
    await studio.submit({"kind": "text_prompt", "text": PROMPT})
    await studio.act("main", "render", goal="preview")
    await run_all(studio)
    await studio.set("main", "shot-3", "prompt", "gulls over the rocks")
    receipt = await studio.act("main", "render", goal="preview")
    record = await studio.execution(receipt.execution_id)
    described = [t.description for t in record.tasks]
    assert "making the preview proxy of shot 3" in described
    assert not any("shot 1" in d or "shot 2" in d for d in described)


async def test_the_same_prompt_again_regenerates_nothing() -> None:
    studio = Studio()
    await studio.submit({"kind": "text_prompt", "text": PROMPT})
    await run_all(studio)
    again = await studio.act("main", "render")
    execution = (await studio.execution(again.execution_id)).execution
    assert (execution.planned, execution.status) == (0, "succeeded") and execution.reused > 0


async def test_equal_work_has_equal_keys_across_scenes() -> None:
    one, two = Studio(scene="one"), Studio(scene="two", store=None)
    for studio in (one, two):
        await studio.submit({"kind": "text_prompt", "text": PROMPT})
    keys_one = content_keys(film_works(await one.state()))
    keys_two = content_keys(film_works(await two.state()))
    assert set(keys_one.values()) == set(keys_two.values())


async def test_render_of_a_scene_without_shots_is_refused() -> None:
    studio = Studio()
    await studio.act("main", "create_scene", title="empty")
    with pytest.raises(InvalidIntent, match="no shots"):
        await studio.act("main", "render")


async def test_a_shot_with_nothing_to_picture_is_left_out_until_it_has() -> None:
    """A shot without a prompt, captions or style is pictured from its title; one
    without a title either is left out of the film (never a task bound to fail on an
    empty prompt), and a render of nothing but such shots says what is missing."""
    studio = Studio()
    await studio.act("main", "create_scene", title="bare")
    await studio.act("main", "add_node", kind="shot", node="s1", parent="root")
    assert film_works(await studio.state()) == []
    with pytest.raises(InvalidIntent, match="nothing to picture"):
        await studio.act("main", "render")

    props = {"prompt": "a storm"}
    await studio.act("main", "add_node", kind="shot", node="s2", parent="root", props=props)

    def pictures(state: SceneState) -> list[object]:
        return [w.params["prompt"] for w in film_works(state) if w.operation == "text_to_image"]

    assert pictures(await studio.state()) == ["a storm"]  # s1 waits, s2 is made
    await studio.set("main", "s1", "title", "a lighthouse at dusk")
    assert pictures(await studio.state()) == ["a lighthouse at dusk", "a storm"]


EDITS = st.one_of(
    st.tuples(
        st.just("prompt"),
        st.sampled_from(["shot-1", "shot-2", "shot-3"]),
        st.sampled_from(["a storm", "calm sea", "a lighthouse keeper, establishing wide shot"]),
    ),
    st.tuples(
        st.just("duration"),
        st.sampled_from(["shot-1", "shot-2", "shot-3"]),
        st.sampled_from([2.0, 5.0, 7.5]),
    ),
    st.tuples(
        st.just("text"),
        st.sampled_from(["caption-1", "caption-3", "narration-2"]),
        st.sampled_from(["Hello.", "This is a lighthouse keeper."]),
    ),
    st.tuples(
        st.sampled_from(["prompt", "volume", "start"]),
        st.just("score"),
        st.sampled_from([1.0, 0.0]),
    ).map(lambda e: (e[0], e[1], "calm" if e[0] == "prompt" else e[2])),
    st.tuples(st.just("fps"), st.just("root"), st.sampled_from([24, 25, 30])),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from([1, 2, 3, 4]), EDITS)
def test_after_one_edit_exactly_the_tasks_whose_key_changed_run(
    shots: int, edit: tuple[str, str, Any]
) -> None:
    async def check() -> None:
        studio = Studio()
        await studio.submit(
            {
                "kind": "text_prompt",
                "text": f"A {shots}-shot film about a lighthouse keeper, "
                "with narration and captions",
            }
        )
        await run_all(studio)
        before = await studio.state()
        prop, node, value = edit
        if node not in before.nodes:
            return
        await studio.submit({"kind": "direct_edit", "node": node, "prop": prop, "value": value})
        after = await studio.state()
        ran = await run_all(studio)
        assert set(ran) == changed_keys(before, after)

    asyncio.run(check())


def changed_keys(before: SceneState, after: SceneState) -> set[str]:
    """Keys of the work the new goal needs that no earlier run produced."""
    old = set(content_keys(film_works(before)).values())
    works = film_works(after)
    keys = content_keys(works)
    by_key = {w.key: w for w in works}
    needed, stack = set(), [works[-1].key]
    while stack:
        key = stack.pop()
        if keys[key] in old or keys[key] in needed:
            continue
        needed.add(keys[key])
        stack.extend(by_key[key].inputs.values())
    return needed


TIMES = {
    "dusk": "dusk", "sunset": "dusk", "evening": "dusk",
    "night": "night", "midnight": "night", "moon": "night",
    "dawn": "dawn", "sunrise": "dawn", "morning": "dawn",
    "day": "day", "sunny": "day", "noon": "day",
}  # fmt: skip


def first_time_of_day(text: str) -> str | None:
    return next((TIMES[w] for w in re.findall(r"[a-z]+", text.lower()) if w in TIMES), None)


async def test_the_demo_prompt_tells_a_story_from_dusk_through_a_storm_to_dawn() -> None:
    studio = Studio()
    await studio.submit({"kind": "text_prompt", "text": PROMPT})
    state = await studio.state()
    works = {w.key: w for w in film_works(state)}
    lines = [str(state.nodes[f"caption-{n}"].value("text")) for n in (1, 2, 3)]
    assert [first_time_of_day(line) for line in lines] == ["dusk", "night", "dawn"]
    assert "storm" in lines[1] and "window" in lines[1] and "gallery" in lines[2]
    assert all("keeper" in line for line in lines)
    for n, line in enumerate(lines, start=1):
        picture = str(works[f"shot-{n}/image"].params["prompt"])
        assert line.rstrip(".") in picture  # the picture is asked for with its caption's words
        assert first_time_of_day(picture) == first_time_of_day(line)
        narration = state.nodes[f"narration-{n}"]
        assert narration.value("text") == line  # the narrator says what the caption shows
        start = float(narration.value("start") or 0.0)
        assert (n - 1) * 5.0 < start < n * 5.0 - 4.0  # early in its own shot
    music = works["score/music"]
    assert music.params["duration"] == 15.0  # under the whole film
    assert "sea" in str(music.params["mood"])


@pytest.mark.parametrize("shots", range(1, 13))
def test_every_shot_the_planner_proposes_agrees_with_its_caption(shots: int) -> None:
    """Whatever the length, no caption names another time of day than its picture."""
    specs = propose_structure(f"A {shots}-shot film about a fox in the woods, with captions")
    prompts = {s.node: str(s.props["prompt"]) for s in specs if s.kind == "shot"}
    captions = {s.parent: str(s.props["text"]) for s in specs if s.kind == "caption"}
    assert len(prompts) == shots == len(captions)
    for shot, prompt in prompts.items():
        assert first_time_of_day(prompt) == first_time_of_day(captions[shot]) is not None
    assert [s.node for s in specs if s.kind == "audio"] == ["score"]


async def test_an_edited_caption_repaints_its_own_shot_only() -> None:
    studio = Studio()
    await studio.submit({"kind": "text_prompt", "text": PROMPT})
    await run_all(studio)
    edit = {"kind": "direct_edit", "node": "caption-3", "prop": "text", "value": "Night again."}
    receipt = await studio.submit(edit)
    state = await studio.state()
    described = [state.tasks[t].description for t in state.executions[receipt.execution_id].tasks]
    assert "generating image for shot 3" in described
    assert not any("shot 1" in d or "shot 2" in d for d in described)
    assert not any(d.startswith(("speaking", "making the music")) for d in described)
