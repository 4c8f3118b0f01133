"""`scenestate serve`: the HTTP API under uvicorn, with the pipeline's workers and the
projection runner in the same process unless told to leave them to their own."""

from __future__ import annotations

import socket
from typing import Annotated

import typer

from api.cli._common import app, errors, run_async, settings_or_exit, waiting
from api.cli._exits import Exit
from api.cli.styled import styled


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker loops in this process.")] = 1,
    no_workers: Annotated[
        bool,
        typer.Option("--no-workers", help="Run no workers here (they run as `scenestate worker`)."),
    ] = False,
    no_projections: Annotated[
        bool,
        typer.Option(
            "--no-projections",
            help="Leave the read models to `scenestate projections run` processes.",
        ),
    ] = False,
) -> None:
    """Run the HTTP API. Migrations run first when the database needs them; the
    dispatcher and result folder run here; logs are JSON lines on stderr."""
    # imported here, so that other commands do not pay for FastAPI and uvicorn
    import uvicorn

    from api.app import create_app
    from api.bootstrap import prepare_database
    from api.metrics import configure_json_logs

    settings = settings_or_exit()
    if settings.http.admin_key is None:
        errors.print(
            styled(
                "[yellow]note:[/] SCENESTATE_ADMIN_KEY is not set: no studio or key can be "
                "created over HTTP"
            )
        )
    if no_workers and settings.nats_url is None:
        errors.print(
            styled(
                "[yellow]note:[/] --no-workers with the in-process bus: nothing will run "
                "tasks (set SCENESTATE_NATS_URL and run `scenestate worker`)"
            )
        )
    # A database that refuses or cannot be reached is waited for, a line each try.
    run_async(lambda: waiting(lambda: prepare_database(settings)), settings)
    listening = _listen(host, port)
    configure_json_logs()
    api = create_app(
        settings,
        workers=0 if no_workers else workers,
        projections=not no_projections,
        settle_heap=True,
    )
    server = uvicorn.Server(uvicorn.Config(api, log_config=None, access_log=False, lifespan="on"))
    server.run(sockets=[listening])
    if not server.started:
        errors.print(
            styled("[red]unreachable:[/] the API did not start (the log line above says why)")
        )
        raise typer.Exit(Exit.UNREACHABLE)


def _listen(host: str, port: int) -> socket.socket:
    """The listening socket, bound before anything starts, so that a port in use is
    one clear line (uvicorn would say so only after starting everything)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listening = socket.socket(family, socket.SOCK_STREAM)
    listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listening.bind((host, port))
    except OSError as exc:
        listening.close()
        said = "[red]unreachable:[/] cannot listen on {where}: {why}; "
        said += "choose another --port or --host, or stop what holds it"
        errors.print(styled(said, where=f"{host}:{port}", why=exc.strerror or exc))
        raise typer.Exit(Exit.UNREACHABLE) from None
    return listening
