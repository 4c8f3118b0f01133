"""`scenestate demo`: the lighthouse keeper film and its landing page, made offline
from one prompt.

The prompt goes through intake, binding (the local structure planner makes the
shots, captions, narration, the tagline and the landing page), planning (a task DAG
with content keys) and generation (local providers, PyAV media operations and the
surface operations on workers); the final MP4 is written out, the page beside it
(`lighthouse-keeper/index.html` with its assets), and the film's lineage printed.
Every step is idempotent: running the demo again regenerates nothing;
`--edit-shot 2 "a storm at night"` regenerates only that shot's chain, the assembly
and the page's render; `--edit-copy tagline "..."` changes the closing caption and the
page's headline (one node), re-running only the film's encode and the page's render.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import io
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, TextIO

import msgspec
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from api.bootstrap import projection_runner
from api.cli.styled import styled
from api.cli.tables import lineage_summary, lineage_tree
from api.runtime import Runtime
from api.services import Caller, Services, executions, intake
from engine.binding import LANDING_PAGE
from engine.errors import InvalidIntent, NotFound, ScenestateError
from engine.planning import Work, content_keys
from engine.progress import Progress as ExecutionProgress
from engine.recipes import scene_works
from engine.scene import SceneState
from engine.service import Receipt
from engine.tasks import ExecutionStatus
from projections.lineage import trace_artifact
from projections.lineage_records import Lineage

SCENE = "lighthouse"
PROMPT = (
    "A 3-shot film about a lighthouse keeper, with narration and captions, "
    "and a landing page for it"
)
STUDIO = ACTOR = "demo"
DEMO = Caller(STUDIO, ACTOR)


DEFAULT_FPS = 24.0


class FilmFormat(msgspec.Struct, frozen=True):
    width: int = 1920
    height: int = 1080
    fps: float = DEFAULT_FPS

    @classmethod
    def parse(cls, text: str, field: str = "--format") -> FilmFormat:
        """`1280x720@25` (the frame rate is optional); `field` names where it came from."""
        size, _, rate = text.partition("@")
        width, _, height = size.partition("x")
        try:
            found = cls(int(width), int(height), float(rate) if rate else DEFAULT_FPS)
        except ValueError:
            raise InvalidIntent(field, f"{text!r} is not WIDTHxHEIGHT[@FPS]") from None
        if not (16 <= found.width <= 3840 and 16 <= found.height <= 2160):
            raise InvalidIntent(field, "width 16..3840 and height 16..2160 pixels")
        if found.width % 2 or found.height % 2 or not 1 <= found.fps <= 60:
            raise InvalidIntent(field, "even width and height, and 1 to 60 frames a second")
        return found


class ShotEdit(msgspec.Struct, frozen=True):
    shot: int  # 1-based, as a person counts shots
    prompt: str


class CopyEdit(msgspec.Struct, frozen=True):
    node: str  # a copy node: tagline, synopsis, watch-button, poster-alt
    text: str


class DemoFailed(ScenestateError):
    """The film's execution finished without a render; the message lists why."""


class DemoProgress:
    """How far the film is, for the line Ctrl-C prints."""

    def __init__(self) -> None:
        self.done, self.total = 0, 0
        self.done_before: int | None = None  # finished before this run followed it

    def say(self) -> str:
        along = f"the film is {self.done} of {self.total} tasks along; " if self.total else ""
        return f"{along}what is done is kept: run `scenestate demo` again to finish it"


class DemoOutcome(msgspec.Struct, frozen=True):
    film: Path
    artifact: str
    ran: int
    reused: int
    execution: str
    page: Path | None = None
    reused_work: dict[str, int] = {}  # what this run reused, by operation


async def run_demo(
    services: Services,
    console: Console,
    *,
    output: Path,
    edit: ShotEdit | None = None,
    copy: CopyEdit | None = None,
    film: FilmFormat | None = None,
    workers: int = 1,
    progress: DemoProgress | None = None,
) -> DemoOutcome:
    async with one_demo_at_a_time(services.settings.data_dir, console):
        await _set_up_scene(services, film or FilmFormat())
        receipt = await _submit(services, {"kind": "text_prompt", "text": PROMPT}, "demo-prompt")
        if edit is not None:
            receipt = await _edit_shot(services, edit) or receipt
        if copy is not None:
            receipt = await _edit_copy(services, copy) or receipt
        async with Runtime(services, workers=workers, concurrency=2) as runtime:
            chosen = progress or DemoProgress()
            final = await _make_the_film(services, console, receipt, runtime, chosen)
    state = await services.scenes.load(SCENE)
    artifact = state.nodes[state.root].artifact("render")
    if final.status != ExecutionStatus.SUCCEEDED or artifact is None:
        raise DemoFailed(_failures(final))
    output.parent.mkdir(parents=True, exist_ok=True)
    await asyncio.to_thread(output.write_bytes, await services.artifacts.get(artifact))
    page = await _write_page(services, state, output.parent / output.stem)
    ran = final.total - (chosen.done_before or 0)  # an interrupted run's share is not ours
    works = scene_works(state)
    reused = len(works) - ran  # the film's and the page's work this run did not do
    made_now = {task.content_key for task in final.tasks} if ran else set()
    reused_work = _reused_by_operation(works, made_now)
    outcome = DemoOutcome(output, artifact, ran, reused, final.execution, page, reused_work)
    await projection_runner(services).catch_up()
    made = await trace_artifact(services.read_models, artifact, STUDIO)
    _report(console, made, outcome)
    return outcome


def _reused_by_operation(works: list[Work], made_now: set[str]) -> dict[str, int]:
    keys = content_keys(works)
    reused: dict[str, int] = {}
    for work in works:
        if keys[work.key] not in made_now:
            reused[work.operation] = reused.get(work.operation, 0) + 1
    return reused


async def _write_page(services: Services, state: SceneState, folder: Path) -> Path | None:
    """Unpack the landing page's bundle (`index.html` and `assets/`) into `folder`,
    leaving no asset of an older page behind."""
    page = state.nodes.get(LANDING_PAGE)
    bundle = page.artifact("render") if page is not None else None
    if bundle is None:
        return None
    data = await services.artifacts.get(bundle)
    return await asyncio.to_thread(_unpack, data, folder)


def _unpack(data: bytes, folder: Path) -> Path:
    with zipfile.ZipFile(io.BytesIO(data)) as bundle:
        page = ("index.html", "thumbnail.png")
        names = [n for n in bundle.namelist() if n in page or _is_asset(n)]
        assets = folder / "assets"
        assets.mkdir(parents=True, exist_ok=True)
        for old in assets.iterdir():
            if f"assets/{old.name}" not in names and old.is_file():
                old.unlink()
        for name in names:
            (folder / name).write_bytes(bundle.read(name))
    return folder / "index.html"


def _is_asset(name: str) -> bool:
    """An asset the render wrote: `assets/<name>`, nothing that climbs out of it."""
    head, _, file = name.partition("/")
    return head == "assets" and bool(file) and "/" not in file and not file.startswith(".")


async def _make_the_film(
    services: Services,
    console: Console,
    receipt: Receipt,
    runtime: Runtime,
    progress: DemoProgress,
) -> ExecutionProgress:
    """Follow the work that makes the film to its end. A run that was interrupted left
    its execution unfinished: that one is resumed (the pipeline hands its lost tasks
    out again) rather than a new one started; with nothing unfinished, a render is
    asked for, which reuses whatever exists."""
    execution = receipt.execution_id
    if receipt.duplicate:
        unfinished = await _unfinished(services)
        if unfinished is None:
            render = {"kind": "structured_action", "action": {"name": "render"}}
            execution = (await _submit(services, render, None)).execution_id
        else:
            console.print(f"resuming execution {unfinished}, which an earlier run left unfinished")
            execution = unfinished
    while True:
        try:
            final = await _follow(services, console, execution, runtime, progress)
        except NotFound:
            raise DemoFailed("the demo's intent planned no work") from None
        state = await services.scenes.load(SCENE)
        waiting = await _unfinished(services)
        if state.nodes[state.root].artifact("render") is not None or waiting is None:
            return final
        execution = waiting  # the render is another execution's, still under way


async def _unfinished(services: Services) -> str | None:
    """The newest execution of the film still running, if any."""
    state = await services.scenes.load(SCENE)
    running = [e for e in state.executions.values() if e.status == ExecutionStatus.RUNNING]
    if not running:
        return None
    return max(running, key=lambda e: e.started.version).id


@contextlib.asynccontextmanager
async def one_demo_at_a_time(data_dir: Path, console: Console) -> AsyncIterator[None]:
    """Two demos in one data directory take turns: the second says so and waits, then
    finds the film made (or resumes what is left)."""
    with await asyncio.to_thread(_lock_file, data_dir) as held:
        try:
            fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            console.print(
                "another `scenestate demo` is making the film in this directory; "
                "waiting for it to finish"
            )
            await asyncio.to_thread(fcntl.flock, held, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(held, fcntl.LOCK_UN)


def _lock_file(data_dir: Path) -> TextIO:
    data_dir.mkdir(parents=True, exist_ok=True)
    return (data_dir / "demo.lock").open("a")


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
        await _change(services, "root", prop, value, direct=False)


async def _change(
    services: Services, node: str, prop: str, value: object, *, direct: bool = True
) -> Receipt | None:
    """Set `node`'s `prop` to `value` unless it holds it already (then None). The key
    names the version it was decided on: a rerun whose change landed finds the value
    in place, and a later change back to an earlier value is a change again (a key of
    the value alone would replay the first time and write nothing)."""
    state = await services.scenes.load(SCENE)
    found = state.nodes.get(node)
    if found is not None and found.value(prop) == value:
        return None
    step: dict[str, Any] = {"kind": "direct_edit", "node": node, "prop": prop, "value": value}
    if not direct:  # a setting, not an edit someone makes
        action = {"name": "set_property", "node": node, "prop": prop, "value": value}
        step = {"kind": "structured_action", "action": action}
    return await _submit(services, step, f"demo-{node}-{prop}-v{state.version}")


async def _edit_copy(services: Services, edit: CopyEdit) -> Receipt | None:
    state = await services.scenes.load(SCENE)
    copy = sorted(n for n, node in state.nodes.items() if node.kind == "copy")
    if edit.node not in copy:
        have = ", ".join(copy) or "none"
        raise InvalidIntent("--edit-copy", f"the scene has no copy {edit.node!r}; it has: {have}")
    if not edit.text.strip():
        raise InvalidIntent("--edit-copy", "the new text is empty")
    return await _change(services, edit.node, "text", edit.text)


async def _edit_shot(services: Services, edit: ShotEdit) -> Receipt | None:
    state = await services.scenes.load(SCENE)
    shots = [n for n in state.child_ids(state.root) if state.nodes[n].kind == "shot"]
    if not 1 <= edit.shot <= len(shots):
        raise InvalidIntent("--edit-shot", f"the film has shots 1 to {len(shots)}, not {edit.shot}")
    if not edit.prompt.strip():
        raise InvalidIntent("--edit-shot", "the new prompt is empty")
    node = shots[edit.shot - 1]
    return await _change(services, node, "prompt", edit.prompt)


async def _follow(
    services: Services,
    console: Console,
    execution: str,
    runtime: Runtime,
    progress: DemoProgress,
) -> ExecutionProgress:
    with Progress(
        TextColumn("{task.fields[status]}", style="bold", markup=False),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.description}", markup=False),
        TimeElapsedColumn(),
        console=console,
    ) as bar:
        shown = bar.add_task("planning", total=None, status="making the film")

        def update(found: ExecutionProgress) -> None:
            now = "now: " + "; ".join(found.now) if found.now else ""
            bar.update(shown, total=found.total, completed=found.done, description=now)
            progress.done, progress.total = found.done, found.total
            if progress.done_before is None:
                progress.done_before = found.done

        told: set[str] = set()

        def unserved(lanes: list[str]) -> None:
            if set(lanes) - told:
                told.update(lanes)
                bar.console.print(f"waiting: {executions.unserved_hint(lanes)}")

        return await executions.follow(
            services,
            SCENE,
            "main",
            execution,
            update,
            runtime.check,
            poll=0.1,
            on_unserved=unserved,
        )


def _failures(final: ExecutionProgress) -> str:
    broken = [t for t in final.tasks if t.status in ("failed", "blocked", "canceled")]
    if not broken:
        return (
            f"execution {final.execution} ended {final.status} without a film; "
            "run `scenestate demo` again, or see `scenestate executions lighthouse`"
        )
    lines = [f"{t.description or t.operation}: {t.status} ({t.error or t.cause})" for t in broken]
    return "the film was not finished: " + "; ".join(lines)


def _report(console: Console, made: Lineage, outcome: DemoOutcome) -> None:
    said = f" written; this run generated {outcome.ran} tasks"
    said += f" and reused {outcome.reused} made earlier."
    console.print(styled("[bold]{film}[/]{said}", film=outcome.film, said=said))
    if outcome.page is not None:
        page = styled(
            "[bold]{page}[/] written: the landing page, the film embedded", page=outcome.page
        )
        console.print(page)
    if outcome.reused_work and outcome.ran:
        reused = ", ".join(f"{n} {op}" for op, n in sorted(outcome.reused_work.items()))
        console.print(f"reused: {reused}", soft_wrap=True)
    console.print(lineage_tree(made))  # its root is the film's artifact id
    console.print(lineage_summary(made))
    console.print("Try:", soft_wrap=True)
    for command in (
        f"scenestate lineage {outcome.artifact}",
        f"scenestate history {SCENE}",
        f"scenestate view {SCENE} --fidelity production",
        'scenestate demo --edit-shot 2 "a storm at night"',
        'scenestate demo --edit-copy tagline "Keep the light burning."',
        "scenestate serve   # then the HTTP API (see the README)",
    ):
        console.print(f"  {command}", soft_wrap=True, highlight=False)
