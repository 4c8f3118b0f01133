"""Projection commands: the read models' status, running and rebuilding them, artifact
lineage, and a scene's view at draft, preview or production fidelity."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import msgspec
import typer
from rich.table import Table
from rich.text import Text

from api.cli._common import BranchOpt, app, console, run_job
from api.cli.styled import styled
from api.cli.tables import counted, lineage_summary, lineage_tree
from api.services import Services, scenes
from api.services.ids import by_prefix
from projections.catalog import ProjectionStatus, default_projections, statuses
from projections.fidelity import Fidelity, FidelityView
from projections.lineage import artifacts_starting, trace_artifact
from projections.surfaces import SurfaceView
from projections.timeline import SlotView, Timeline

projections_app = typer.Typer(
    invoke_without_command=True,
    rich_markup_mode=None,
    no_args_is_help=False,
    help="The read models (history, lineage) and how far along each is; `run` and "
    "`rebuild` keep them up to date.",
)
app.add_typer(projections_app, name="projections")

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


@projections_app.callback()
def projections(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Show each read model: its generation, checkpoint, lag and any rebuild or error."""
    if ctx.invoked_subcommand is not None:
        return

    async def job(services: Services) -> None:

        head = await services.store.head_position()
        found = await statuses(services.read_models, default_projections(), head)
        if as_json:
            console.print_json(msgspec.json.encode(found).decode())
        else:
            console.print(_status_table(found, head))

    run_job(job)


@projections_app.command("run")
def run_projections(
    once: Annotated[bool, typer.Option(help="Catch up with the log, then stop.")] = False,
    batch_size: Annotated[
        int | None,
        typer.Option(min=1, help="Events per read of the log and per commit (default 10,000)."),
    ] = None,
) -> None:
    """Keep the read models up to date: catch up, then follow the log until stopped."""

    async def job(services: Services) -> None:
        from api.bootstrap import projection_runner

        runner = projection_runner(services, batch_size)
        if once:
            read = await runner.catch_up()
            console.print(f"caught up: {counted(read, 'event')} read")
            return
        console.print("following the log; Ctrl-C stops")
        await runner.run()

    run_job(job, keep_running=not once)


@projections_app.command()
def rebuild(
    names: Annotated[list[str], typer.Argument(help="The projections to rebuild.")],
) -> None:
    """Build read models again from the first event, beside the live ones, and switch
    over once caught up (queries keep working meanwhile)."""

    async def job(services: Services) -> None:
        from api.bootstrap import projection_runner

        runner = projection_runner(services)
        rebuilt = await runner.rebuild(*names)
        head = await services.store.head_position()
        await runner.drop_retired()
        for name, generation in rebuilt.items():
            console.print(f"projection {name} rebuilt as generation {generation} up to {head}")

    run_job(job)


@app.command()
def lineage(
    artifact: Annotated[str, typer.Argument(help="The artifact's sha256.")],
    studio: Annotated[str | None, typer.Option(help="Only within this studio.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Where an artifact came from: task, model, provider, transform and inputs, back to
    the intents that caused it."""

    async def job(services: Services) -> None:

        await caught_up(services)
        known = await artifacts_starting(services.read_models, artifact.lower(), studio)
        chosen = by_prefix(artifact.lower(), known, "artifact", "artifact")
        found = await trace_artifact(services.read_models, chosen, studio)
        if as_json:
            console.print_json(msgspec.json.encode(found).decode())
        else:
            console.print(lineage_tree(found))
            console.print(lineage_summary(found))

    run_job(job)


@app.command()
def view(
    scene: str,
    fidelity: Annotated[Fidelity, typer.Option(help="draft, preview or production.")] = (
        Fidelity.DRAFT
    ),
    branch: BranchOpt = "main",
    as_json: JsonOpt = False,
    follow: Annotated[
        bool, typer.Option(help="Draft only: print the timeline again at every change.")
    ] = False,
) -> None:
    """A scene at one fidelity: the draft timeline, the preview proxies, or the
    production render and exactly what it still lacks."""

    async def job(services: Services) -> None:

        if follow and fidelity == Fidelity.DRAFT:
            await _follow(services, scene, branch, as_json)
            return
        _print_view(await scenes.view(services, scene, branch, fidelity), as_json)

    run_job(job)


async def caught_up(services: Services) -> None:
    """Bring the read models up to the log's head now (query commands run no runner)."""
    from api.bootstrap import projection_runner

    await projection_runner(services).catch_up()


async def _follow(services: Services, scene: str, branch: str, as_json: bool) -> None:
    from projections.drafts import DraftViews

    drafts = DraftViews(services.store, services.scenes)
    following = asyncio.create_task(drafts.run())
    try:
        async for timeline in drafts.updates(scene, branch):
            _print_view(timeline, as_json)
    finally:
        following.cancel()


def _print_view(shown: Timeline | FidelityView, as_json: bool) -> None:
    if as_json:
        console.print_json(msgspec.json.encode(shown).decode())
    elif isinstance(shown, Timeline):
        for table in _timeline_tables(shown):
            console.print(table)
    else:
        for table in _fidelity_tables(shown):
            console.print(table)


def _status_table(found: list[ProjectionStatus], head: int) -> Table:
    table = Table(title=f"projections (log head: position {head})")
    for column in ("projection", "version", "generation", "position", "lag", "rebuild", "error"):
        table.add_column(column, overflow="fold")
    for s in found:
        built = f"v{s.active_version}" if s.active_version is not None else "-"
        rebuild = "-" if s.building is None else f"gen {s.building} at {s.building_position}"
        table.add_row(
            s.name,
            f"v{s.version} (built by {built})",
            "-" if s.active is None else str(s.active),
            str(s.position),
            str(s.lag),
            rebuild,
            s.error or "-",
        )
    return table


def _timeline_tables(timeline: Timeline) -> list[Table]:
    title = (
        f"{timeline.scene}@{timeline.branch} v{timeline.version} draft: {timeline.title} — "
        f"{timeline.duration:g}s at {timeline.fps:g} fps, {timeline.width}x{timeline.height}, "
        f"{counted(timeline.pending, 'task')} pending, {counted(timeline.conflicts, 'conflict')}"
    )
    shots = Table(title=title, caption=Text("  ").join(_slot_line(s) for s in timeline.outputs))
    for column in ("#", "shot", "start", "duration", "title / prompt", "slots"):
        shots.add_column(column, overflow="fold")
    for shot in timeline.shots:
        shots.add_row(
            str(shot.number),
            shot.node,
            f"{shot.start:g}s",
            f"{shot.duration:g}s",
            shot.title or shot.prompt,
            Text("\n").join(_slot_line(s) for s in shot.slots),
        )
    tables = [shots]
    for track in timeline.tracks:
        if not track.items:
            continue
        table = Table(title=f"track {track.name}")
        for column in ("start", "duration", "node", "text", "slots"):
            table.add_column(column, overflow="fold")
        for item in track.items:
            length = "-" if item.duration is None else f"{item.duration:g}s"
            slots = Text("\n").join(_slot_line(s) for s in item.slots) or Text("-")
            table.add_row(f"{item.start:g}s", length, item.node, item.text, slots)
        tables.append(table)
    return tables + [_surface_table(surface) for surface in timeline.surfaces]


def _surface_table(surface: SurfaceView) -> Table:
    """A surface's structure: each line of copy (or its placeholder), each medium, and
    at preview or production its render's status and what it lacks."""
    title = (
        f"surface {surface.node} ({surface.kind}, {surface.width}x{surface.height}): "
        f"{surface.status}" + (f", bundle {surface.output[:12]}…" if surface.output else "")
    )
    table = Table(title=title, caption="\n".join(surface.missing) or None)
    for column in ("names", "what", "now"):
        table.add_column(column, overflow="fold")
    table.add_row("code", "page", surface.code[:12] + "…" if surface.code else NOT_MADE)
    for line in surface.copy:
        now = line.text or (f"{line.artifact[:12]}…" if line.artifact else None)
        table.add_row(line.node, f"{line.role} (≤ {line.limit})", now or dim(line.placeholder))
    for medium in surface.media:
        shown = f"{medium.artifact[:12]}…" if medium.artifact else NOT_MADE
        table.add_row(medium.ref, medium.kind, shown)
    return table


NOT_MADE = styled("[dim]not made[/]")


def dim(text: str) -> Text:
    return styled("[dim]{text}[/]", text=text)


def _slot_line(slot: SlotView) -> Text:
    if slot.artifact is not None:
        working = f" (now: {slot.task.description or slot.task.operation})" if slot.task else ""
        return Text(f"{slot.slot}: {slot.artifact[:12]}…{working}")
    return styled("{slot}: [dim]{placeholder}[/]", slot=slot.slot, placeholder=slot.placeholder)


def _fidelity_tables(shown: FidelityView) -> list[Table]:
    head = Table(
        title=f"{shown.scene}@{shown.branch} v{shown.version} {shown.fidelity}: {shown.status}",
        show_header=False,
    )
    head.add_column(style="bold")
    head.add_column(overflow="fold")
    head.add_row("output", shown.output or "-")
    head.add_row("execution", shown.execution or "-")
    for reason in shown.reasons:
        head.add_row("why", reason)
    tables = [head]
    if shown.missing:
        tables.append(_rows_table("missing", shown.missing, ("work", "status", "task", "reason")))
    if shown.conflicts:
        tables.append(_rows_table("open conflicts", shown.conflicts, ("conflict", "node", "field")))
    if shown.shots:
        columns = ("number", "node", "state", "artifact", "task")
        tables.append(_rows_table(f"shots at {shown.fidelity}", shown.shots, columns))
    return tables + [_surface_table(surface) for surface in shown.surfaces]


def _rows_table(title: str, rows: list[Any], columns: tuple[str, ...]) -> Table:
    table = Table(title=title)
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*("-" if getattr(row, c) is None else str(getattr(row, c)) for c in columns))
    return table
