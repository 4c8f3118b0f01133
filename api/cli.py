"""The `scenestate` command line: migrate, submit intents, show scenes and their history."""

from __future__ import annotations

import asyncio
import getpass
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import msgspec
import typer
from rich.console import Console

from api.bootstrap import Engine, open_engine, prepare_database
from api.config import load_settings
from api.demo import run_demo
from api.render import history_table, receipt_line, scene_tree
from engine.errors import InvalidIntent, ScenestateError
from engine.intents import parse_intent
from engine.ports import StreamId

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)
console = Console()
errors = Console(stderr=True)
T = TypeVar("T")

StudioOpt = Annotated[str, typer.Option(help="Studio the intent belongs to.")]
BranchOpt = Annotated[str, typer.Option("--branch", "-b", help="Branch of the scene.")]


def _run(job: Callable[[Engine], Awaitable[T]]) -> T:
    """Run one async job against an engine built from the environment."""

    async def main() -> T:
        async with open_engine(load_settings()) as engine:
            return await job(engine)

    try:
        return asyncio.run(main())
    except InvalidIntent as exc:
        errors.print(f"[red]refused:[/] {exc}")
        raise typer.Exit(2) from None
    except ScenestateError as exc:
        errors.print(f"[red]error:[/] {exc}")
        raise typer.Exit(1) from None


@app.command()
def migrate() -> None:
    """Create or upgrade the database schema to the newest migration."""
    settings = load_settings()
    asyncio.run(prepare_database(settings))
    console.print(f"schema is up to date on {_redact(settings.database_url)}")


@app.command()
def intent(
    source: Annotated[str, typer.Argument(help="A JSON file holding the intent, or - for stdin.")],
    studio: StudioOpt = "local",
    actor: Annotated[str | None, typer.Option(help="Who is asking (default: you).")] = None,
) -> None:
    """Submit one intent (JSON) and print where it landed."""
    raw = sys.stdin.buffer.read() if source == "-" else _read(source)
    defaults = {"studio": studio, "actor": actor or _user()}

    async def job(engine: Engine) -> None:
        clock, ids = engine.scenes.clock, engine.scenes.ids
        parsed = parse_intent(raw, now=clock.now, new_id=ids.new_id, defaults=defaults)
        console.print(receipt_line(await engine.scenes.submit(parsed)))

    _run(job)


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
            raise ScenestateError(f"no scene {scene!r} on branch {branch!r}")
        if as_json:
            console.print_json(msgspec.json.encode(_plain(state)).decode())
        else:
            console.print(scene_tree(state))

    _run(job)


@app.command()
def history(scene: str, branch: BranchOpt = "main") -> None:
    """The event log of a scene, with the provenance of each event."""

    async def job(engine: Engine) -> None:
        events = await engine.store.read_stream(StreamId(scene, branch))
        if not events:
            raise ScenestateError(f"no scene {scene!r} on branch {branch!r}")
        console.print(history_table(events, f"{scene}@{branch}"))

    _run(job)


@app.command()
def demo() -> None:
    """Build the lighthouse film's scene through the engine and show it."""
    _run(lambda engine: run_demo(engine, console))


def _plain(state: Any) -> Any:
    return msgspec.to_builtins(state, enc_hook=lambda obj: dict(obj.items()))


def _read(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        errors.print(f"[red]cannot read {path}:[/] {exc.strerror}")
        raise typer.Exit(2) from None


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "cli"


def _redact(url: str) -> str:
    head, sep, tail = url.rpartition("@")
    return f"{head.split('://')[0]}://…@{tail}" if sep else url


def main() -> None:
    app()
