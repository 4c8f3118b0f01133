"""The lineage of a film's final render names every task, model and intent behind it."""

from __future__ import annotations

from engine.artifact_lineage import lineage_of, summarise
from tests.engine.scenes import Studio
from tests.engine.test_planning import PROMPT, run_all


async def test_the_final_render_traces_back_to_the_prompt_and_every_model() -> None:
    studio = Studio()
    prompt = await studio.submit({"kind": "text_prompt", "text": PROMPT})
    await run_all(studio)
    state = await studio.state()
    render = state.nodes["root"].artifact("render")
    assert render is not None
    made = lineage_of(state, render)
    assert made is not None and made.task.operation == "encode"
    steps = list(made.walk())
    assert len(steps) == len(state.executions[prompt.execution_id].tasks)
    summary = summarise(made)
    assert set(summary.models) == {
        "local/media",
        "local/local-voice-1",
        "local/local-motion-1",
        "local/local-image-1",
    }
    assert prompt.intent_id in summary.intents
    assert any(t.startswith("planning.film") for t in summary.transforms)
    images = [s for s in steps if s.task.operation == "text_to_image"]
    assert len(images) == 3 and all(s.chosen_by for s in images)


async def test_after_an_edit_the_new_render_names_both_intents() -> None:
    studio = Studio()
    await studio.submit({"kind": "text_prompt", "text": PROMPT})
    await run_all(studio)
    edit = await studio.submit(
        {"kind": "direct_edit", "node": "shot-2", "prop": "prompt", "value": "a storm at night"}
    )
    await run_all(studio)
    state = await studio.state()
    made = lineage_of(state, state.nodes["root"].artifact("render") or "")
    assert made is not None
    summary = summarise(made)
    assert edit.intent_id in summary.intents and len(summary.intents) >= 2
    assert lineage_of(state, "f" * 64) is None
