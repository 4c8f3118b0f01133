"""Execution commands: list and follow executions, run the pipeline, run a worker."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Annotated

import msgspec
import typer

from api.cli._common import (
    BranchOpt,
    app,
    console,
    errors,
    run_async,
    run_job,
    settings_or_exit,
    waiting,
)
from api.cli._exits import Exit
from api.cli.styled import styled
from api.cli.tables import execution_table, executions_table
from api.services import Services
from api.services import executions as running
from engine.progress import Progress as ExecutionProgress
from engine.tasks import LANES, Lane


@app.command()
def executions(scene: str, branch: BranchOpt = "main") -> None:
    """List a scene's executions with their status and task counts."""

    async def job(services: Services) -> None:
        found = await running.list_executions(services, scene, branch)
        console.print(executions_table(found, f"executions of {scene}@{branch}"))

    run_job(job)


@app.command()
def execution(
    scene: str,
    execution_id: Annotated[str, typer.Argument(metavar="EXECUTION")],
    branch: BranchOpt = "main",
    follow: Annotated[bool, typer.Option(help="Follow it live until it finishes.")] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print its progress and tasks as JSON.")
    ] = False,
) -> None:
    """One execution: progress, and per task its status, attempts, waits, run time and cost."""

    async def job(services: Services) -> None:
        if follow:
            final = await follow_live(services, scene, branch, execution_id)
        else:
            _, final = await running.execution(services, scene, execution_id, branch)
        if as_json:
            console.print_json(msgspec.json.encode(final).decode())
            return
        console.print(final.headline())
        console.print(execution_table(final))

    run_job(job)


async def follow_live(
    services: Services, scene: str, branch: str, execution_id: str
) -> ExecutionProgress:
    """Follow an execution with a progress bar; embedded, run the pipeline meanwhile."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from api.runtime import Runtime

    runtime = Runtime(services, workers=2) if services.volatile_bus else None
    with Progress(
        TextColumn("{task.fields[status]}", style="bold", markup=False),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.description}", markup=False),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        shown = bar.add_task("planning", total=None, status="running")

        def update(progress: ExecutionProgress) -> None:
            now = "now: " + "; ".join(progress.now) if progress.now else ""
            bar.update(
                shown,
                total=progress.total,
                completed=progress.done,
                description=now,
                status=progress.status,
            )

        told: set[str] = set()

        def unserved(lanes: list[str]) -> None:
            if set(lanes) - told:  # say it once per lane
                told.update(lanes)
                errors.print(
                    styled("[yellow]waiting:[/] {hint}", hint=running.unserved_hint(lanes))
                )

        async with runtime or contextlib.nullcontext():
            check = runtime.check if runtime is not None else None
            followed = await running.follow(
                services, scene, branch, execution_id, update, check, on_unserved=unserved
            )
            if runtime is not None:  # this process runs the pipeline: finish what it left
                for left in (await services.scenes.load(scene, branch)).executions:
                    console.print(f"finishing execution {left}, left unfinished by an earlier run")
                    await running.follow(
                        services, scene, branch, left, update, check, on_unserved=unserved
                    )
            return followed


@app.command()
def run(
    workers: Annotated[int, typer.Option(help="Worker loops in this process.")] = 2,
    no_workers: Annotated[
        bool, typer.Option("--no-workers", help="Dispatch and fold only.")
    ] = False,
) -> None:
    """Run the pipeline: the dispatcher, the result folder and workers, until stopped."""

    async def job(services: Services) -> None:
        from api.runtime import Runtime

        count = 0 if no_workers else workers
        console.print(f"running the pipeline with {count} workers; Ctrl-C stops it")
        async with Runtime(services, workers=count) as runtime:
            while True:
                runtime.check()
                await asyncio.sleep(1.0)

    run_job(
        job,
        keep_running=True,
        interrupted=lambda: (
            "the pipeline stopped; tasks in flight are handed out again when it runs next"
        ),
    )


@app.command()
def worker(
    lanes: Annotated[str, typer.Option(help="Lanes to serve, in priority order.")] = ",".join(
        LANES
    ),
    concurrency: Annotated[int, typer.Option(help="Tasks run at once.")] = 2,
) -> None:
    """Run a worker against NATS: it takes tasks from the bus and needs no database."""
    settings = settings_or_exit()
    if settings.nats_url is None:
        errors.print(
            styled(
                "[red]configuration:[/] a worker process needs SCENESTATE_NATS_URL "
                "(nats://...); with the in-process bus, `scenestate run` runs the workers"
            )
        )
        raise typer.Exit(Exit.CONFIGURATION)
    try:
        chosen = [Lane(name.strip()) for name in lanes.split(",") if name.strip()]
    except ValueError:
        errors.print(
            styled("[red]refused:[/] --lanes: expected some of {lanes}", lanes=", ".join(LANES))
        )
        raise typer.Exit(Exit.REFUSED) from None

    async def serve() -> None:
        from api.bootstrap import open_worker

        async with open_worker(settings, chosen, concurrency) as worker:
            console.print(
                f"worker {worker.name} serving {', '.join(chosen)} from {settings.nats_url}"
            )
            await worker.run()

    stopped = "the worker stopped; its tasks go to another worker"
    run_async(lambda: waiting(serve), settings, lambda: stopped)
