"""What every CLI command shares: the Typer app, consoles, the caller a command acts
as, and running a job on the process's services."""

from __future__ import annotations

import asyncio
import getpass
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer
from rich.console import Console

from api.cli._exits import Exit, explain
from api.cli.styled import styled
from api.config import ConfigError, Settings, load_settings
from api.services import Caller

if TYPE_CHECKING:
    from api.services import Services
from engine.errors import Unavailable

app = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode=None)
# No markup: what users and models wrote is printed as written (`api.cli.styled`). Piped,
# lines are as long as they need to be, so ids and times are never broken.
console = Console(markup=False, width=None if sys.stdout.isatty() else 100_000)
errors = Console(stderr=True, soft_wrap=True, markup=False)  # a message is one line
T = TypeVar("T")

LOCAL_STUDIO = "local"
INTERRUPTED = "stopped; everything appended so far is kept, and work under way resumes next time"
RETRY_FIRST, RETRY_MOST = 1.0, 30.0  # seconds a long-running command waits for a backend

BranchOpt = Annotated[str, typer.Option("--branch", "-b", help="Branch of the scene.")]
StudioOpt = Annotated[
    str | None,
    typer.Option(help="Studio to act as (default: the scene's own, or local for a new one)."),
]
ActorOpt = Annotated[str | None, typer.Option(help="Who is asking (default: you).")]


class Flags:
    """What the whole command line was asked (`scenestate --debug ...`)."""

    debug = False


@app.callback()
def _options(
    debug: Annotated[
        bool, typer.Option("--debug", help="Show the traceback of an unexpected error.")
    ] = False,
) -> None:
    """scenestate: an event-sourced scene-state engine for AI media studios."""
    Flags.debug = debug


def run_async(
    work: Callable[[], Awaitable[T]],
    settings: Settings | None = None,
    interrupted: Callable[[], str] | None = None,
) -> T:
    """Run `work` to its end; an error becomes one line and an exit code (`Exit`),
    Ctrl-C ends it with 130 after saying what was kept (`interrupted()`)."""
    try:
        return asyncio.run(work())  # type: ignore[arg-type]
    except KeyboardInterrupt:
        kept = interrupted() if interrupted is not None else INTERRUPTED
        errors.print(styled("[yellow]interrupted:[/] {kept}", kept=kept))
        raise typer.Exit(Exit.INTERRUPTED) from None
    except typer.Exit:
        raise
    except Exception as exc:
        if Flags.debug:
            raise
        line, code = explain(exc, settings)
        errors.print(line)
        raise typer.Exit(code) from None


def run_job(
    job: Callable[[Services], Awaitable[T]],
    *,
    keep_running: bool = False,
    interrupted: Callable[[], str] | None = None,
) -> T:
    """Run one async job against the services built from the environment, ending as
    `run_async` says. With `keep_running` (the commands that run until stopped), a
    backend that fails or cannot be reached is waited for, saying so, and the job
    starts again."""
    settings = settings_or_exit()

    async def once() -> T:
        from api.bootstrap import open_services  # not for --help: it loads the drivers

        async with open_services(settings) as services:
            return await job(services)

    return run_async(lambda: waiting(once) if keep_running else once(), settings, interrupted)


async def waiting(work: Callable[[], Awaitable[T]]) -> T:
    """`work()`, started again for as long as a backend fails or cannot be reached (a
    database that refuses connections, too many clients, a server down), with one
    line saying so each time and waits doubling up to RETRY_MOST seconds: what the
    commands that run until stopped do instead of exiting."""
    delay = RETRY_FIRST
    while True:
        try:
            return await work()
        except Unavailable as exc:
            errors.print(
                styled(
                    "[yellow]waiting:[/] {exc}; trying again in {delay} s",
                    exc=exc,
                    delay=f"{delay:g}",
                )
            )
            await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY_MOST)


def settings_or_exit() -> Settings:
    try:
        return load_settings()
    except ConfigError as exc:
        line, code = explain(exc, None)
        errors.print(line)
        raise typer.Exit(code) from None


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
