"""Scene commands: migrate, submit intents, show a scene, its history, and the demo."""

from __future__ import annotations

import asyncio
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import msgspec
import typer

from api.bootstrap import Engine, prepare_database, read_models_of
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
from api.cli.tables import history_table, receipt_line, scene_tree
from api.demo import FilmFormat, ShotEdit, run_demo
from engine.errors import InvalidIntent, NotFound, ScenestateError
from engine.ports import StreamId
from projections.as_of import parse_as_of, state_as_of
from projections.history import HistoryQuery, as_recorded, find_history
from projections.times import parse_moment


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
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of", help="Show the scene as of a version, or an ISO 8601 time (UTC if bare)."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the state as JSON.")] = False,
) -> None:
    """Show a scene's tree with props, slots and who set each."""

    async def job(engine: Engine) -> None:
        if version is not None and as_of is not None:
            raise InvalidIntent("--as-of", "give --version or --as-of, not both")
        if version is not None and version < 0:
            raise InvalidIntent("--version", "must be 0 or more")
        at = parse_as_of(as_of) if as_of is not None else version
        if isinstance(at, datetime):
            async with read_models_of(engine) as read_models:
                state = await state_as_of(engine.scenes, read_models, scene, branch, at)
        else:
            state = await engine.scenes.load(scene, branch, at)
        if not state.created:
            raise NotFound(f"no scene {scene!r} on branch {branch!r}")
        if as_json:
            console.print_json(msgspec.json.encode(_plain(state)).decode())
        else:
            console.print(scene_tree(state))

    run_job(job)


@app.command()
def history(
    scene: str,
    branch: BranchOpt = "main",
    node: Annotated[str | None, typer.Option(help="Only events that touched this node.")] = None,
    actor: Annotated[str | None, typer.Option(help="Only events of this actor.")] = None,
    execution: Annotated[str | None, typer.Option(help="Only events of this execution.")] = None,
    since: Annotated[str | None, typer.Option(help="From this ISO 8601 time on.")] = None,
    until: Annotated[str | None, typer.Option(help="Before this ISO 8601 time.")] = None,
) -> None:
    """The event log of a scene, with the provenance of each event; the filters read
    the history read model."""

    async def job(engine: Engine) -> None:
        title = f"{scene}@{branch}"
        if (node, actor, execution, since, until) == (None,) * 5:
            events = await engine.store.read_stream(StreamId(scene, branch))
            if not events:
                raise NotFound(f"no scene {scene!r} on branch {branch!r}")
            console.print(history_table(events, title))
            return
        query = HistoryQuery(
            scene=scene,
            branch=branch,
            node=node,
            actor=actor,
            execution=execution,
            since=parse_moment(since, "--since") if since is not None else None,
            until=parse_moment(until, "--until") if until is not None else None,
        )
        async with read_models_of(engine) as read_models:
            found = await find_history(read_models, query)
        console.print(history_table([as_recorded(entry) for entry in found], title))

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
