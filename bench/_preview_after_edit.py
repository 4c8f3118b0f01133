"""For `bench.media`: how soon a preview is ready after one shot changed, against
making the whole film from nothing, both through the whole pipeline (SceneService,
planner, content-key cache, dispatcher, embedded workers running the local models
and the PyAV operations) on the embedded default.

1. Full render (the baseline): a fresh scene from the demo's prompt, planned and
   rendered at production quality, from the prompt accepted to its execution done.
2. A preview of that film is rendered once (its proxies now exist).
3. Timed: shot 2 gets a new prompt and a preview is asked for; from the render
   intent accepted to its execution done. Only shot 2's image, clip and proxy and
   the preview assembly run; the other proxies are reused.
"""

from __future__ import annotations

import tempfile
import time
from typing import Any

from api.bootstrap import open_services
from api.config import load_settings
from api.runtime import Runtime
from api.services import Services
from api.services.executions import follow
from engine.intents import parse_intent

SCENE = "bench-preview"
PROMPT = "A 3-shot film about a lighthouse keeper, with narration and captions"


async def preview_after_edit() -> tuple[float, float, int]:
    """(seconds for the full render, seconds for the preview after the edit, tasks
    the preview ran)."""
    with tempfile.TemporaryDirectory() as data_dir:
        settings = load_settings({"SCENESTATE_DATA_DIR": data_dir})
        async with open_services(settings) as services, Runtime(services, workers=1) as runtime:
            await _act(services, {"name": "create_scene"})
            for prop, value in (("width", 1920), ("height", 1080), ("fps", 24.0)):
                await _act(services, {"name": "set_property", "node": "root", "prop": prop,
                                    "value": value})  # fmt: skip
            started = time.perf_counter()
            full = await _submit(services, {"kind": "text_prompt", "text": PROMPT})
            await _finished(services, full, runtime)
            full_seconds = time.perf_counter() - started
            await _finished(services, await _act(services, {"name": "render", "goal": "preview"}),
                            runtime)  # fmt: skip
            await _act(services, {"name": "set_property", "node": "shot-2", "prop": "prompt",
                                "value": "a storm at night"})  # fmt: skip
            started = time.perf_counter()
            preview = await _act(services, {"name": "render", "goal": "preview"})
            ran = await _finished(services, preview, runtime)
            return full_seconds, time.perf_counter() - started, ran


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
        return 0  # the intent planned nothing
    progress = await follow(
        services, SCENE, "main", execution, check=runtime.check if runtime else None
    )
    if progress.status != "succeeded":
        raise RuntimeError(f"execution {execution} ended {progress.status}")
    return progress.total
