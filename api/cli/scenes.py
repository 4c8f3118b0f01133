"""Scene commands: migrate, submit intents, show a scene, its history, and the demo."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import msgspec
import typer

from api.cli._common import (
    ActorOpt,
    BranchOpt,
    StudioOpt,
    app,
    caller_for,
    console,
    errors,
    run_async,
    run_job,
    settings_or_exit,
)
from api.cli._exits import redacted
from api.cli.styled import styled
from api.cli.tables import history_table, receipt_line, scene_tree
from api.config import ConfigError
from api.services import Services, intake, scenes
from engine.errors import InvalidIntent, ScenestateError
from engine.tasks import ExecutionStatus
from projections.as_of import parse_as_of
from projections.times import parse_moment


@app.command()
def migrate() -> None:
    """Create or upgrade the database schema to the newest migration."""
    from api.bootstrap import prepare_database

    settings = settings_or_exit()
    run_async(lambda: prepare_database(settings), settings)
    console.print(f"schema is up to date on {redacted(settings.database_url)}")


@app.command()
def intent(
    source: Annotated[str, typer.Argument(help="A JSON file holding the intent, or - for stdin.")],
    studio: StudioOpt = None,
    actor: ActorOpt = None,
    wait: Annotated[
        bool, typer.Option(help="Follow the execution it starts until it finishes.")
    ] = False,
) -> None:
    """Submit one intent (JSON) and print where it landed."""
    raw = sys.stdin.buffer.read() if source == "-" else _read(source)

    async def job(services: Services) -> None:
        from api.cli.executions import follow_live

        caller = await caller_for(services, _scene_named(raw), studio, actor)
        submitted = await intake.submit(services, caller, raw)
        receipt = submitted.receipt
        console.print(receipt_line(receipt, submitted.execution_started))
        if wait and submitted.execution_started:
            progress = await follow_live(
                services, receipt.scene, receipt.branch, receipt.execution_id
            )
            console.print(progress.headline())
            if progress.status != ExecutionStatus.SUCCEEDED:
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

    async def job(services: Services) -> None:
        if version is not None and as_of is not None:
            raise InvalidIntent("--as-of", "give --version or --as-of, not both")
        if version is not None and version < 0:
            raise InvalidIntent("--version", "must be 0 or more")
        at = parse_as_of(as_of) if as_of is not None else version
        if isinstance(at, datetime):
            from api.cli.projections import caught_up

            await caught_up(services)
        state = await scenes.scene_state(services, scene, branch, at)
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

    async def job(services: Services) -> None:
        narrow = scenes.HistoryFilter(
            node=node,
            actor=actor,
            execution=execution,
            since=parse_moment(since, "--since") if since is not None else None,
            until=parse_moment(until, "--until") if until is not None else None,
        )
        if not narrow.empty:
            from api.cli.projections import caught_up

            await caught_up(services)
        events = await scenes.history(services, scene, branch, narrow)
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
    edit_copy: Annotated[
        tuple[str, str] | None,
        typer.Option(
            "--edit-copy",
            metavar="NODE TEXT",
            help='Give a line of copy new words first, e.g. --edit-copy tagline "Keep it lit." '
            "(the tagline is the film's closing caption and the page's headline).",
        ),
    ] = None,
    output: Annotated[
        Path,
        typer.Option(help="Where to write the finished film; the page goes in a folder beside it."),
    ] = Path("lighthouse-keeper.mp4"),
    film_format: Annotated[
        str | None,
        typer.Option(
            "--format",
            help="The film's WIDTHxHEIGHT@FPS, set when first made "
            "(default: SCENESTATE_DEMO_FORMAT, or 1920x1080@24).",
        ),
    ] = None,
    no_workers: Annotated[
        bool,
        typer.Option("--no-workers", help="Leave the tasks to `scenestate worker` processes."),
    ] = False,
) -> None:
    """Make the lighthouse keeper film and its landing page from one prompt, offline, and
    show the film's lineage."""
    from api.demo import CopyEdit, DemoProgress, FilmFormat, ShotEdit, run_demo

    edit = ShotEdit(edit_shot[0], edit_shot[1]) if edit_shot else None
    copy = CopyEdit(edit_copy[0], edit_copy[1]) if edit_copy else None
    workers = 0 if no_workers else 1
    progress = DemoProgress()

    async def job(services: Services) -> None:
        if film_format is not None:
            film = FilmFormat.parse(film_format)
        else:
            try:
                film = FilmFormat.parse(services.settings.demo_format, "SCENESTATE_DEMO_FORMAT")
            except InvalidIntent as exc:  # a setting, not something asked for
                raise ConfigError(str(exc)) from None
        await run_demo(
            services,
            console,
            output=output,
            edit=edit,
            copy=copy,
            film=film,
            workers=workers,
            progress=progress,
        )

    run_job(job, interrupted=progress.say)


def _scene_named(raw: bytes) -> str | None:
    """The scene an intent's JSON names, if it can be read (the intake says why not)."""
    try:
        named = msgspec.json.decode(raw)
    except msgspec.DecodeError:
        return None
    scene = named.get("scene") if isinstance(named, dict) else None
    return scene if isinstance(scene, str) else None


def _plain(state: Any) -> Any:
    return msgspec.to_builtins(state, enc_hook=lambda obj: dict(obj.items()))


def _read(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        errors.print(styled("[red]cannot read {path}:[/] {why}", path=path, why=exc.strerror))
        raise typer.Exit(2) from None
