"""`scenestate demo`: the lighthouse keeper film, made offline from one prompt.

The prompt goes through intake, binding (the local structure planner makes the
shots, captions and narration), planning (a task DAG with content keys) and
generation (local providers and PyAV media operations on workers); the final
MP4 is written out and its lineage printed. Every step is idempotent: running
the demo again regenerates nothing, and `--edit-shot 2 "a storm at night"`
regenerates only that shot's chain and the final assembly.
"""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path
from typing import Any

import msgspec
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from api.bootstrap import projection_runner
from api.cli.tables import lineage_summary, lineage_tree
from api.runtime import Runtime
from api.services import Caller, Services, executions, intake
from engine.errors import InvalidIntent, NotFound, ScenestateError
from engine.progress import Progress as ExecutionProgress
from engine.recipes import film_works
from engine.service import Receipt
from engine.tasks import ExecutionStatus
from projections.lineage import trace_artifact
from projections.lineage_records import Lineage

SCENE = "lighthouse"
PROMPT = "A 3-shot film about a lighthouse keeper, with narration and captions"
STUDIO = ACTOR = "demo"
DEMO = Caller(STUDIO, ACTOR)


class FilmFormat(msgspec.Struct, frozen=True):
    width: int = 1920
    height: int = 1080
    fps: float = 24.0

    @classmethod
    def parse(cls, text: str) -> FilmFormat:
        """`1280x720@25` (the frame rate is optional)."""
        size, _, rate = text.partition("@")
        width, _, height = size.partition("x")
        try:
            found = cls(int(width), int(height), float(rate) if rate else cls.fps)
        except ValueError:
            raise InvalidIntent("--format", f"{text!r} is not WIDTHxHEIGHT[@FPS]") from None
        if not (16 <= found.width <= 3840 and 16 <= found.height <= 2160):
            raise InvalidIntent("--format", "width 16..3840 and height 16..2160 pixels")
        if found.width % 2 or found.height % 2 or not 1 <= found.fps <= 60:
            raise InvalidIntent("--format", "even width and height, and 1 to 60 frames a second")
        return found


class ShotEdit(msgspec.Struct, frozen=True):
    shot: int  # 1-based, as a person counts shots
    prompt: str


class DemoFailed(ScenestateError):
    """The film's execution finished without a render; the message lists why."""


class DemoOutcome(msgspec.Struct, frozen=True):
    film: Path
    artifact: str
    ran: int
    reused: int
    execution: str


async def run_demo(
    services: Services,
    console: Console,
    *,
    output: Path,
    edit: ShotEdit | None = None,
    film: FilmFormat | None = None,
    workers: int = 1,
) -> DemoOutcome:
    await _set_up_scene(services, film or FilmFormat())
    receipt = await _submit(services, {"kind": "text_prompt", "text": PROMPT}, "demo-prompt")
    if edit is not None:
        receipt = await _edit_shot(services, edit)
    if receipt.duplicate:
        # everything asked for was asked before: render again, which reuses what exists
        render = {"kind": "structured_action", "action": {"name": "render"}}
        receipt = await _submit(services, render, None)
    async with Runtime(services, workers=workers, concurrency=2) as runtime:
        try:
            final = await _follow(services, console, receipt.execution_id, runtime)
        except NotFound:
            raise DemoFailed("the demo's intent planned no work") from None
    state = await services.scenes.load(SCENE)
    artifact = state.nodes[state.root].artifact("render")
    if final.status != ExecutionStatus.SUCCEEDED or artifact is None:
        raise DemoFailed(_failures(final))
    output.parent.mkdir(parents=True, exist_ok=True)
    await asyncio.to_thread(output.write_bytes, await services.artifacts.get(artifact))
    reused = len(film_works(state)) - final.total  # the film's work this run did not do
    outcome = DemoOutcome(output, artifact, final.total, reused, final.execution)
    await projection_runner(services).catch_up()
    made = await trace_artifact(services.read_models, artifact, STUDIO)
    _report(console, made, outcome)
    return outcome


async def _submit(services: Services, step: dict[str, Any], key: str | None) -> Receipt:
    raw = {"scene": SCENE, **step}
    if key is not None:
        raw["idempotency_key"] = key
    return (await intake.submit(services, DEMO, raw)).receipt


async def _set_up_scene(services: Services, film: FilmFormat) -> None:
    """The scene and its picture format, before the prompt plans anything for it."""
    create = {"kind": "structured_action", "action": {"name": "create_scene"}}
    await _submit(services, create, "demo")
    for prop, value in (("width", film.width), ("height", film.height), ("fps", film.fps)):
        action = {"name": "set_property", "node": "root", "prop": prop, "value": value}
        await _submit(
            services, {"kind": "structured_action", "action": action}, f"demo-{prop}-{value}"
        )


async def _edit_shot(services: Services, edit: ShotEdit) -> Receipt:
    state = await services.scenes.load(SCENE)
    shots = [n for n in state.child_ids(state.root) if state.nodes[n].kind == "shot"]
    if not 1 <= edit.shot <= len(shots):
        raise InvalidIntent("--edit-shot", f"the film has shots 1 to {len(shots)}, not {edit.shot}")
    if not edit.prompt.strip():
        raise InvalidIntent("--edit-shot", "the new prompt is empty")
    node = shots[edit.shot - 1]
    digest = hashlib.sha256(edit.prompt.encode()).hexdigest()[:16]
    step = {"kind": "direct_edit", "node": node, "prop": "prompt", "value": edit.prompt}
    return await _submit(services, step, f"demo-edit-{node}-{digest}")


async def _follow(
    services: Services, console: Console, execution: str, runtime: Runtime
) -> ExecutionProgress:
    with Progress(
        TextColumn("[bold]{task.fields[status]}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=console,
    ) as bar:
        shown = bar.add_task("planning", total=None, status="making the film")

        def update(progress: ExecutionProgress) -> None:
            now = "now: " + "; ".join(progress.now) if progress.now else ""
            bar.update(shown, total=progress.total, completed=progress.done, description=now)

        return await executions.follow(
            services, SCENE, "main", execution, update, runtime.check, poll=0.1
        )


def _failures(final: ExecutionProgress) -> str:
    broken = [t for t in final.tasks if t.status in ("failed", "blocked", "canceled")]
    lines = [f"{t.description or t.operation}: {t.status} ({t.error or t.cause})" for t in broken]
    return "the film was not finished:\n  " + "\n  ".join(lines or [final.status])


def _report(console: Console, made: Lineage, outcome: DemoOutcome) -> None:
    console.print(
        f"[bold]{outcome.film}[/] written; this run generated "
        f"{outcome.ran} tasks and reused {outcome.reused} made earlier.\n"
        f"artifact {outcome.artifact}"
    )
    console.print(lineage_tree(made))
    console.print(lineage_summary(made))
    console.print(
        f"Try: scenestate lineage ARTIFACT; scenestate history {SCENE}; "
        f"scenestate view {SCENE} --fidelity production; "
        f'scenestate demo --edit-shot 2 "a storm at night"'
    )
