"""Model commands: which model a studio's recipes plan for each kind of work, and
choosing one (or the local model again)."""

from __future__ import annotations

from typing import Annotated, NoReturn

import typer
from rich.table import Table

from api.cli._common import LOCAL_STUDIO, StudioOpt, app, console, errors, run_job
from api.cli._exits import Exit
from api.cli.styled import styled
from api.services import Services
from api.services import models as studio_models
from engine.models import ModelChoices


@app.command()
def models(studio: StudioOpt = None) -> None:
    """The model and provider each kind of work is planned on, for a studio."""

    async def job(services: Services) -> None:
        name = studio or LOCAL_STUDIO
        console.print(_table(name, await studio_models.model_choices(services, name)))

    run_job(job)


@app.command()
def model(
    kind: Annotated[str, typer.Argument(help="image, video, voice, music, text or code.")],
    name: Annotated[
        str | None, typer.Argument(help="The model, as the provider offers it.")
    ] = None,
    provider: Annotated[
        str, typer.Option(help="local, replicate, fal, elevenlabs, or hosted (any of them).")
    ] = "hosted",
    local: Annotated[bool, typer.Option("--local", help="Go back to the local model.")] = False,
    studio: StudioOpt = None,
) -> None:
    """Choose the model a studio's recipes plan for one kind of work."""

    if (name is None) == (not local):  # neither, or both
        raise_refused(
            "give the MODEL to plan (with --provider), or --local to go back to the local one"
            if name is None
            else "give a MODEL or --local, not both"
        )

    async def job(services: Services) -> None:
        chosen_studio = studio or LOCAL_STUDIO
        if name is None:
            chosen = await studio_models.use_local_model(services, chosen_studio, kind)
        else:
            chosen = await studio_models.choose_model(services, chosen_studio, kind, name, provider)
        console.print(_table(chosen_studio, chosen))

    run_job(job)


def _table(studio: str, choices: ModelChoices) -> Table:
    table = Table(title=f"models of studio {studio}")
    for column in ("kind of work", "model", "provider", "chosen"):
        table.add_column(column)
    for kind, choice in choices.all().items():
        table.add_row(kind, choice.model, choice.provider, "yes" if kind in choices.chosen else "")
    return table


def raise_refused(reason: str) -> NoReturn:
    errors.print(styled("[red]refused:[/] model: {reason}", reason=reason))
    raise typer.Exit(Exit.REFUSED)
