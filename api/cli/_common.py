"""What every CLI command shares: the Typer app, consoles, the caller a command acts
as, and running a job on the process's services."""

from __future__ import annotations

import asyncio
import getpass
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import typer
from rich.console import Console

from api.bootstrap import open_services
from api.config import ConfigError, Settings, load_settings
from api.services import Caller, Services
from engine.errors import ConcurrencyConflict, InvalidIntent, ScenestateError, Unavailable

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="scenestate: an event-sourced scene-state engine for AI media studios.",
)
console = Console()
errors = Console(stderr=True)
T = TypeVar("T")

LOCAL_STUDIO = "local"
RETRY_FIRST, RETRY_MOST = 1.0, 30.0  # seconds a long-running command waits for a backend

BranchOpt = Annotated[str, typer.Option("--branch", "-b", help="Branch of the scene.")]
StudioOpt = Annotated[
    str | None,
    typer.Option(help="Studio to act as (default: the scene's own, or local for a new one)."),
]
ActorOpt = Annotated[str | None, typer.Option(help="Who is asking (default: you).")]


def run_job(job: Callable[[Services], Awaitable[T]], *, keep_running: bool = False) -> T:
    """Run one async job against the services built from the environment; errors
    become a message and an exit code (2 for refused input, 3 for a concurrency
    conflict). With `keep_running` (the commands that run until stopped), a backend
    that fails or cannot be reached is waited for, saying so, and the job starts again."""

    async def main() -> T:
        settings = settings_or_exit()
        delay = RETRY_FIRST
        while True:
            try:
                async with open_services(settings) as services:
                    return await job(services)
            except Unavailable as exc:
                if not keep_running:
                    raise
                errors.print(f"[yellow]waiting:[/] {exc}; trying again in {delay:g} s")
                await asyncio.sleep(delay)
                delay = min(delay * 2, RETRY_MOST)

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


async def caller_for(
    services: Services, scene: str | None, studio: str | None, actor: str | None
) -> Caller:
    """Who a command acts as: `--studio`, else the scene's own studio (the operator at
    the command line acts on its behalf), else `local`; `--actor`, else the user."""
    if studio is None and scene:
        studio = await services.tenancy.owner(scene)
    return Caller(studio or LOCAL_STUDIO, actor or user())
