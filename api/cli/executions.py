"""Execution commands: list and follow executions, run the pipeline, run a worker."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from adapters.bus import open_bus
from adapters.workers import Worker
from api.bootstrap import Engine, close_artifacts, open_artifacts
from api.cli._common import BranchOpt, app, console, errors, run_job, settings_or_exit
from api.cli.tables import execution_table, executions_table
from api.runtime import (
    Runtime,
    close_providers,
    follow_execution,
    open_providers,
    operations,
    provider_limits,
    worker_name,
)
from engine.errors import NotFound
from engine.progress import Progress as ExecutionProgress
from engine.progress import progress_of
from engine.tasks import LANES, Lane


@app.command()
def executions(scene: str, branch: BranchOpt = "main") -> None:
    """List a scene's executions with their status and task counts."""

    async def job(engine: Engine) -> None:
        state = await engine.scenes.load(scene, branch)
        if not state.created:
            raise NotFound(f"no scene {scene!r} on branch {branch!r}")
        console.print(executions_table(state, f"executions of {scene}@{branch}"))

    run_job(job)


@app.command()
def execution(
    scene: str,
    execution_id: Annotated[str, typer.Argument(metavar="EXECUTION")],
    branch: BranchOpt = "main",
    follow: Annotated[bool, typer.Option(help="Follow it live until it finishes.")] = False,
) -> None:
    """One execution: progress, and per task its status, attempts, waits, run time and cost."""

    async def job(engine: Engine) -> None:
        if follow:
            final = await follow_live(engine, scene, branch, execution_id)
        else:
            state = await engine.scenes.load(scene, branch)
            final_or_none = progress_of(state, execution_id)
            if final_or_none is None:
                raise NotFound(f"no execution {execution_id} on {scene}@{branch}")
            final = final_or_none
        console.print(final.headline())
        console.print(execution_table(final))

    run_job(job)


async def follow_live(
    engine: Engine, scene: str, branch: str, execution_id: str
) -> ExecutionProgress:
    """Follow an execution with a progress bar; embedded, run the pipeline meanwhile."""
    runtime = Runtime(engine, workers=2) if engine.volatile_bus else None
    with Progress(
        TextColumn("[bold]{task.fields[status]}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.description}"),
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

        async with runtime or contextlib.nullcontext():
            try:
                return await follow_execution(
                    engine, scene, branch, execution_id, update, runtime=runtime
                )
            except LookupError as exc:
                raise NotFound(str(exc)) from None


@app.command()
def run(
    workers: Annotated[int, typer.Option(help="Worker loops in this process.")] = 2,
    no_workers: Annotated[
        bool, typer.Option("--no-workers", help="Dispatch and fold only.")
    ] = False,
) -> None:
    """Run the pipeline: the dispatcher, the result folder and workers, until stopped."""

    async def job(engine: Engine) -> None:
        count = 0 if no_workers else workers
        console.print(f"running the pipeline with {count} workers; Ctrl-C stops it")
        async with Runtime(engine, workers=count) as runtime:
            while True:
                runtime.check()
                await asyncio.sleep(1.0)

    with contextlib.suppress(KeyboardInterrupt):
        run_job(job)


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
        errors.print("[red]error:[/] a worker process needs SCENESTATE_NATS_URL (nats://...)")
        raise typer.Exit(2)
    try:
        chosen = [Lane(name.strip()) for name in lanes.split(",") if name.strip()]
    except ValueError:
        errors.print(f"[red]refused:[/] --lanes: expected some of {', '.join(LANES)}")
        raise typer.Exit(2) from None

    async def serve() -> None:
        bus = open_bus(settings.nats_url, **settings.bus.options(jetstream=True))
        artifacts = open_artifacts(settings)
        providers = open_providers(settings)
        name = worker_name()
        console.print(f"worker {name} serving {', '.join(chosen)} from {settings.nats_url}")
        try:
            await Worker(
                bus,
                artifacts,
                operations(providers, settings.hosted),
                chosen,
                name=name,
                concurrency=concurrency,
                heartbeat=settings.bus.heartbeat,
                limits=provider_limits(settings),
            ).run()
        finally:
            await bus.close()
            await close_artifacts(artifacts)
            await close_providers(providers)

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve())
