"""Branch commands: fork, list, merge, list and resolve conflicts, and diff."""

from __future__ import annotations

from typing import Annotated

import msgspec
import typer

from api.cli._common import ActorOpt, BranchOpt, StudioOpt, app, caller_for, console, run_job
from api.cli.tables import branch_table, change_table, conflict_table, counted, receipt_line
from api.services import Services
from api.services import branches as branching
from api.services.scenes import scene_state
from engine.errors import InvalidIntent, NotFound


@app.command()
def branch(
    scene: str,
    name: Annotated[str, typer.Argument(help="Name of the new branch.")],
    source: Annotated[str, typer.Option("--from", help="Branch to fork from.")] = "main",
    at: Annotated[int | None, typer.Option(help="Version to fork at (default: head).")] = None,
    studio: StudioOpt = None,
    actor: ActorOpt = None,
) -> None:
    """Fork a new branch of a scene from any branch at any version."""

    async def job(services: Services) -> None:
        caller = await caller_for(services, scene, studio, actor)
        submitted = await branching.fork(services, caller, scene, name, source, at)
        state = await services.scenes.load(scene, name)
        console.print(receipt_line(submitted.receipt, submitted.execution_started))
        console.print(f"branch {name} starts at {state.parent}@{state.fork_version}")

    run_job(job)


@app.command()
def branches(scene: str) -> None:
    """List a scene's branches with parent, fork point, head and merge history."""

    async def job(services: Services) -> None:
        infos = await branching.branches(services, scene)
        if not infos:
            raise NotFound(f"no scene {scene!r}")
        console.print(branch_table(infos, scene))

    run_job(job)


@app.command()
def merge(
    scene: str,
    source: Annotated[str, typer.Argument(help="Branch to merge from.")],
    into: Annotated[str, typer.Option("--into", help="Branch to merge into.")] = "main",
    studio: StudioOpt = None,
    actor: ActorOpt = None,
) -> None:
    """Three-way merge SOURCE into a branch; conflicts are recorded, never guessed."""

    async def job(services: Services) -> None:
        caller = await caller_for(services, scene, studio, actor)
        merged = await branching.merge(services, caller, scene, source, into)
        changes = await branching.diff(services, merged.before, merged.after)
        console.print(receipt_line(merged.submission.receipt, merged.submission.execution_started))
        console.print(
            f"merged {source} into {into}: {counted(len(changes), 'change')}, "
            f"{counted(merged.new_conflicts, 'conflict')}"
        )
        if merged.after.conflicts:
            console.print(conflict_table(merged.after, f"open conflicts on {scene}@{into}"))

    run_job(job)


@app.command()
def conflicts(scene: str, branch: BranchOpt = "main") -> None:
    """List a branch's open merge conflicts with base, ours and theirs."""

    async def job(services: Services) -> None:
        state = await scene_state(services, scene, branch)
        if not state.conflicts:
            console.print(f"{scene}@{branch} has no open conflicts")
            return
        console.print(conflict_table(state, f"open conflicts on {scene}@{branch}"))

    run_job(job)


@app.command()
def resolve(
    scene: str,
    conflict: Annotated[str | None, typer.Argument(help="Conflict id (omit with --all).")] = None,
    ours: Annotated[bool, typer.Option("--ours", help="Keep this branch's side.")] = False,
    theirs: Annotated[bool, typer.Option("--theirs", help="Take the source's side.")] = False,
    value: Annotated[str | None, typer.Option(help="A new value, as JSON.")] = None,
    every: Annotated[bool, typer.Option("--all", help="Resolve every open conflict.")] = False,
    branch: BranchOpt = "main",
    studio: StudioOpt = None,
    actor: ActorOpt = None,
) -> None:
    """Resolve one conflict (ours, theirs or a new value) or all of them (ours or theirs)."""

    async def job(services: Services) -> None:
        sides: tuple[tuple[branching.Choice, bool], ...] = (
            ("ours", ours),
            ("theirs", theirs),
            ("value", value is not None),
        )
        chosen = [name for name, on in sides if on]
        if len(chosen) != 1:
            raise InvalidIntent("choice", "give exactly one of --ours, --theirs or --value")
        if every == (conflict is not None):
            raise InvalidIntent("conflict", "name one conflict, or pass --all")
        caller = await caller_for(services, scene, studio, actor)
        if conflict is None:
            submitted = await branching.resolve_all(services, caller, scene, chosen[0], branch)
        else:
            new = None if value is None else _json_value(value)
            submitted = await branching.resolve(
                services, caller, scene, conflict, chosen[0], new, branch
            )
        left = len((await services.scenes.load(scene, branch)).conflicts)
        console.print(receipt_line(submitted.receipt, submitted.execution_started))
        console.print(f"{counted(left, 'conflict')} left open on {scene}@{branch}")

    run_job(job)


@app.command()
def diff(
    scene: str,
    old: Annotated[str, typer.Argument(help="BRANCH or BRANCH@VERSION")],
    new: Annotated[str, typer.Argument(help="BRANCH or BRANCH@VERSION")],
) -> None:
    """Per node and property, what differs from OLD to NEW, with who set each value."""

    async def job(services: Services) -> None:
        before = await branching.state_at(services, scene, old, "old")
        after = await branching.state_at(services, scene, new, "new")
        changes = await branching.diff(services, before, after)
        if not changes:
            console.print(f"no differences between {old} and {new}")
            return
        console.print(change_table(changes, f"{scene}: {old} → {new}"))

    run_job(job)


def _json_value(text: str) -> object:
    try:
        return msgspec.json.decode(text)
    except msgspec.DecodeError:
        return text  # a bare word is taken as a string
