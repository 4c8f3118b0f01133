"""What every CLI command shares: the Typer app, consoles, and running a job on an engine."""

from __future__ import annotations

import asyncio
import getpass
from collections.abc import Awaitable, Callable, Mapping
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console

from api.bootstrap import Engine, open_engine
from api.config import ConfigError, Settings, load_settings
from engine.errors import ConcurrencyConflict, InvalidIntent, ScenestateError
from engine.intents import AnyIntent, parse_intent
from engine.service import Receipt

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="scenestate: an event-sourced scene-state engine for AI media studios.",
)
console = Console()
errors = Console(stderr=True)
T = TypeVar("T")

BranchOpt = Annotated[str, typer.Option("--branch", "-b", help="Branch of the scene.")]
StudioOpt = Annotated[str, typer.Option(help="Studio the intent belongs to.")]
ActorOpt = Annotated[str | None, typer.Option(help="Who is asking (default: you).")]


def run_job(job: Callable[[Engine], Awaitable[T]]) -> T:
    """Run one async job against an engine built from the environment; errors become
    a message and an exit code (2 for refused input, 3 for a concurrency conflict)."""

    async def main() -> T:
        async with open_engine(load_settings()) as engine:
            return await job(engine)

    try:
        return asyncio.run(main())
    except InvalidIntent as exc:
        errors.print(f"[red]refused:[/] {exc}")
        raise typer.Exit(2) from None
    except ConcurrencyConflict as exc:
        errors.print(f"[red]conflict:[/] {exc}")
        raise typer.Exit(3) from None
    except ScenestateError as exc:
        errors.print(f"[red]error:[/] {exc}")
        raise typer.Exit(1) from None


def settings_or_exit() -> Settings:
    try:
        return load_settings()
    except ConfigError as exc:
        errors.print(f"[red]configuration:[/] {exc}")
        raise typer.Exit(2) from None


def user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "cli"


def make_intent(
    engine: Engine, raw: bytes | Mapping[str, Any], studio: str, actor: str | None
) -> AnyIntent:
    scenes = engine.scenes
    defaults = {"studio": studio, "actor": actor or user()}
    return parse_intent(raw, now=scenes.clock.now, new_id=scenes.ids.new_id, defaults=defaults)


async def submit_action(
    engine: Engine,
    scene: str,
    branch: str,
    action: dict[str, Any],
    studio: str = "local",
    actor: str | None = None,
) -> Receipt:
    raw = {"kind": "structured_action", "scene": scene, "branch": branch, "action": action}
    return await engine.scenes.submit(make_intent(engine, raw, studio, actor))
