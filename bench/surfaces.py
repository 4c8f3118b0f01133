"""Benchmark: after an edit to one line of copy, how many tasks run again and how soon
the preview of the landing page is ready, against making that preview from nothing.

Everything runs through the whole pipeline on the embedded default (SceneService,
planner, content-key cache, dispatcher, one in-process worker with the local models,
the PyAV operations and the surface operations), from the demo's prompt with its
landing page:

1. From scratch (the baseline): the scene's structure is made, then a preview is
   asked for; timed from the render intent accepted to its execution done: every
   shot's picture, clip and proxy, the voices, the music, the preview film, the page's
   copy, code and preview render.
2. The tagline (the film's closing caption and the page's headline: one node) gets
   new words and a preview is asked for: only the preview film's encode (it burns the
   caption in) and the page's render run.
3. The button's words change: only the page's render runs.

    python -m bench.surfaces [--json FILE]
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from typing import Any

from api.bootstrap import open_services
from api.config import load_settings
from api.runtime import Runtime
from api.services import Services
from api.services.executions import follow
from bench._report import Figure, parser, report
from engine.intents import parse_intent

SCENE = "bench-surfaces"
PROMPT = (
    "A 3-shot film about a lighthouse keeper, with narration and captions, "
    "and a landing page for it"
)
TARGET = 5.0  # the preview after a copy edit is ready at least this many times sooner


class Timed:
    def __init__(self, seconds: float, tasks: int) -> None:
        self.seconds, self.tasks = seconds, tasks


async def measure() -> dict[str, Timed]:
    with tempfile.TemporaryDirectory() as data_dir:
        settings = load_settings({"SCENESTATE_DATA_DIR": data_dir})
        async with open_services(settings) as services:
            await _act(services, {"name": "create_scene"})
            # The prompt makes the structure and plans the finished film; that plan is
            # cancelled before any worker starts, so nothing it would make exists yet.
            planned = await _submit(services, {"kind": "text_prompt", "text": PROMPT})
            await _act(services, {"name": "cancel_execution", "execution": planned})
            async with Runtime(services, workers=1) as runtime:
                found = {"from scratch": await _preview(services, runtime)}
                await _edit(services, "tagline", "Keep the light burning.")
                found["tagline edited"] = await _preview(services, runtime)
                await _edit(services, "watch-button", "Watch it now")
                found["button edited"] = await _preview(services, runtime)
    return found


async def _preview(services: Services, runtime: Runtime) -> Timed:
    started = time.perf_counter()
    execution = await _act(services, {"name": "render", "goal": "preview"})
    ran = await _finished(services, execution, runtime)
    seconds = time.perf_counter() - started
    state = await services.scenes.load(SCENE)
    if state.nodes["landing-page"].artifact("preview") is None:
        raise RuntimeError("the preview of the landing page was not made")
    return Timed(seconds, ran)


async def _edit(services: Services, node: str, text: str) -> None:
    await _act(services, {"name": "set_property", "node": node, "prop": "text", "value": text})


async def _act(services: Services, action: dict[str, Any]) -> str:
    return await _submit(services, {"kind": "structured_action", "action": action})


async def _submit(services: Services, fields: dict[str, Any]) -> str:
    scenes = services.scenes
    raw = {"studio": "bench", "actor": "bench", "scene": SCENE, **fields}
    intent = parse_intent(raw, now=scenes.clock.now, new_id=scenes.ids.new_id)
    return (await scenes.submit(intent)).execution_id


async def _finished(services: Services, execution: str, runtime: Runtime) -> int:
    state = await services.scenes.load(SCENE)
    if execution not in state.executions:
        return 0  # the intent planned nothing: all of it was made already
    progress = await follow(services, SCENE, "main", execution, check=runtime.check)
    if progress.status != "succeeded":
        raise RuntimeError(f"execution {execution} ended {progress.status}")
    return progress.total


def figures(found: dict[str, Timed]) -> list[Figure]:
    scratch = found["from scratch"]
    rows = [
        Figure("preview surface from scratch", scratch.seconds, "s"),
        Figure("tasks run from scratch", scratch.tasks, "tasks"),
    ]
    for edit, expected in (("tagline edited", 2), ("button edited", 1)):
        after = found[edit]
        ratio = scratch.seconds / after.seconds if after.seconds else float("inf")
        rows.append(
            Figure(
                f"preview surface ready, {edit}",
                after.seconds,
                "s",
                baseline=scratch.seconds,
                target=f">= {TARGET:g} x sooner",
                met=ratio >= TARGET,
                higher_is_better=False,
            )
        )
        rows.append(
            Figure(
                f"tasks re-run, {edit}",
                after.tasks,
                "tasks",
                target=f"== {expected}",
                met=after.tasks == expected,
            )
        )
    return rows


def main() -> None:
    args = parser(__doc__.splitlines()[0]).parse_args()
    report("surfaces", figures(asyncio.run(measure())), args.json)


if __name__ == "__main__":
    main()
