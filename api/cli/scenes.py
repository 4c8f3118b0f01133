"""Scene commands: migrate, submit intents, show a scene, its history, and the demo."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Annotated, Any

import msgspec
import typer

from api.bootstrap import Engine, prepare_database
from api.cli._common import (
    ActorOpt,
    BranchOpt,
    StudioOpt,
    app,
    console,
    errors,
    make_intent,
    run_job,
    settings_or_exit,
)
from api.cli.executions import follow_live
from api.demo import FilmFormat, ShotEdit, run_demo
from api.render import history_table, receipt_line, scene_tree
from engine.errors import InvalidIntent, NotFound, ScenestateError
from engine.ports import StreamId


@app.command()
def migrate() -> None:
    """Create or upgrade the database schema to the newest migration."""
    settings = settings_or_exit()
    asyncio.run(prepare_database(settings))
    console.print(f"schema is up to date on {_redact(settings.database_url)}")


@app.command()
def intent(
    source: Annotated[str, typer.Argument(help="A JSON file holding the intent, or - for stdin.")],
    studio: StudioOpt = "local",
    actor: ActorOpt = None,
    wait: Annotated[
        bool, typer.Option(help="Follow the execution it starts until it finishes.")
    ] = False,
) -> None:
    """Submit one intent (JSON) and print where it landed."""
    raw = sys.stdin.buffer.read() if source == "-" else _read(source)

    async def job(engine: Engine) -> None:
        receipt = await engine.scenes.submit(make_intent(engine, raw, studio, actor))
        console.print(receipt_line(receipt))
        state = await engine.scenes.load(receipt.scene, receipt.branch)
        if wait and receipt.execution_id in state.executions:
            progress = await follow_live(
                engine, receipt.scene, receipt.branch, receipt.execution_id
            )
            console.print(progress.headline())
            if progress.status != "succeeded":
                raise ScenestateError(f"execution {progress.status}; see scenestate execution")

    run_job(job)


@app.command()
def show(
    scene: str,
    branch: BranchOpt = "main",
    version: Annotated[int | None, typer.Option(help="Show the scene as of this version.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the state as JSON.")] = False,
) -> None:
    """Show a scene's tree with props, slots and who set each."""

    async def job(engine: Engine) -> None:
        if version is not None and version < 0:
            raise InvalidIntent("--version", "must be 0 or more")
        state = await engine.scenes.load(scene, branch, version)
        if not state.created:
            raise NotFound(f"no scene {scene!r} on branch {branch!r}")
        if as_json:
            console.print_json(msgspec.json.encode(_plain(state)).decode())
        else:
            console.print(scene_tree(state))

    run_job(job)


@app.command()
def history(scene: str, branch: BranchOpt = "main") -> None:
    """The event log of a scene, with the provenance of each event."""

    async def job(engine: Engine) -> None:
        events = await engine.store.read_stream(StreamId(scene, branch))
        if not events:
            raise NotFound(f"no scene {scene!r} on branch {branch!r}")
        console.print(history_table(events, f"{scene}@{branch}"))

    run_job(job)


@app.command()
def demo(
    edit_shot: Annotated[
        tuple[int, str] | None,
        typer.Option(
            "--edit-shot",
            metavar="N PROMPT",
            help='Give shot N a new prompt first, e.g. --edit-shot 2 "a storm at night".',
        ),
    ] = None,
    output: Annotated[Path, typer.Option(help="Where to write the finished film.")] = Path(
        "lighthouse-keeper.mp4"
    ),
    film_format: Annotated[
        str, typer.Option("--format", help="The film's WIDTHxHEIGHT@FPS, set when first made.")
    ] = "1920x1080@24",
    no_workers: Annotated[
        bool,
        typer.Option("--no-workers", help="Leave the tasks to `scenestate worker` processes."),
    ] = False,
) -> None:
    """Make the lighthouse keeper film from one prompt, offline, and show its lineage."""
    edit = ShotEdit(edit_shot[0], edit_shot[1]) if edit_shot else None
    workers = 0 if no_workers else 1

    async def job(engine: Engine) -> None:
        film = FilmFormat.parse(film_format)
        await run_demo(engine, console, output=output, edit=edit, film=film, workers=workers)

    run_job(job)


def _plain(state: Any) -> Any:
    return msgspec.to_builtins(state, enc_hook=lambda obj: dict(obj.items()))


def _read(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        errors.print(f"[red]cannot read {path}:[/] {exc.strerror}")
        raise typer.Exit(2) from None


def _redact(url: str) -> str:
    head, sep, tail = url.rpartition("@")
    return f"{head.split('://')[0]}://…@{tail}" if sep else url
