"""`scenestate key`: make a studio's API key at the machine itself, for the inspector
(`/studio`) or any client, without an admin key or a running server."""

from __future__ import annotations

from typing import Annotated

import typer

from api.cli._common import LOCAL_STUDIO, ActorOpt, app, console, errors, run_job
from api.services import Services, studios


@app.command()
def key(
    name: Annotated[str, typer.Argument(help="What the key is for.")] = "studio",
    studio: Annotated[
        str, typer.Option(help="The studio (made if missing; the CLI's scenes are local's).")
    ] = LOCAL_STUDIO,
    actor: ActorOpt = None,
) -> None:
    """Make an API key of a studio and print it (shown this once, stored hashed)."""

    async def job(services: Services) -> None:
        minted = await studios.key_for_operator(services, studio, name, actor)
        errors.print(
            f"key {minted.key.id} of studio {studio} (acts as {minted.key.actor}); "
            "it is shown this once:"
        )
        console.print(minted.token, soft_wrap=True, highlight=False)

    run_job(job)
