"""Branch commands: fork, list, merge, list and resolve conflicts, and diff."""

from __future__ import annotations

from typing import Annotated

import msgspec
import typer

from api.bootstrap import Engine
from api.cli._common import ActorOpt, BranchOpt, StudioOpt, app, console, run_job, submit_action
from api.cli.tables import branch_table, change_table, conflict_table, receipt_line
from engine.errors import InvalidIntent, NotFound
from engine.scene import SceneState


@app.command()
def branch(
    scene: str,
    name: Annotated[str, typer.Argument(help="Name of the new branch.")],
    source: Annotated[str, typer.Option("--from", help="Branch to fork from.")] = "main",
    at: Annotated[int | None, typer.Option(help="Version to fork at (default: head).")] = None,
    studio: StudioOpt = "local",
    actor: ActorOpt = None,
) -> None:
    """Fork a new branch of a scene from any branch at any version."""

    async def job(engine: Engine) -> None:
        action = {"name": "fork_branch", "source": source, "at_version": at}
        receipt = await submit_action(engine, scene, name, action, studio, actor)
        state = await engine.scenes.load(scene, name)
        console.print(receipt_line(receipt))
        console.print(f"branch {name} starts at {state.parent}@{state.fork_version}")

    run_job(job)


@app.command()
def branches(scene: str) -> None:
    """List a scene's branches with parent, fork point, head and merge history."""

    async def job(engine: Engine) -> None:
        infos = await engine.scenes.branches(scene)
        if not infos:
            raise NotFound(f"no scene {scene!r}")
        console.print(branch_table(infos, scene))

    run_job(job)


@app.command()
def merge(
    scene: str,
    source: Annotated[str, typer.Argument(help="Branch to merge from.")],
    into: Annotated[str, typer.Option("--into", help="Branch to merge into.")] = "main",
    studio: StudioOpt = "local",
    actor: ActorOpt = None,
) -> None:
    """Three-way merge SOURCE into a branch; conflicts are recorded, never guessed."""

    async def job(engine: Engine) -> None:
        before = await engine.scenes.load(scene, into)
        action = {"name": "merge_branch", "source": source}
        receipt = await submit_action(engine, scene, into, action, studio, actor)
        after = await engine.scenes.load(scene, into)
        changes = await engine.scenes.diff(before, after)
        console.print(receipt_line(receipt))
        fresh = len(after.conflicts) - len(before.conflicts)
        console.print(f"merged {source} into {into}: {len(changes)} changes, {fresh} conflicts")
        if after.conflicts:
            console.print(conflict_table(after, f"open conflicts on {scene}@{into}"))

    run_job(job)


@app.command()
def conflicts(scene: str, branch: BranchOpt = "main") -> None:
    """List a branch's open merge conflicts with base, ours and theirs."""

    async def job(engine: Engine) -> None:
        state = await _existing(engine, scene, branch)
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
    studio: StudioOpt = "local",
    actor: ActorOpt = None,
) -> None:
    """Resolve one conflict (ours, theirs or a new value) or all of them (ours or theirs)."""

    async def job(engine: Engine) -> None:
        chosen = [name for name, on in (("ours", ours), ("theirs", theirs)) if on]
        if value is not None:
            chosen.append("value")
        if len(chosen) != 1:
            raise InvalidIntent("choice", "give exactly one of --ours, --theirs or --value")
        if every == (conflict is not None):
            raise InvalidIntent("conflict", "name one conflict, or pass --all")
        action: dict[str, object]
        if every:
            action = {"name": "resolve_all", "choice": chosen[0]}
        else:
            action = {"name": "resolve_conflict", "conflict": conflict, "choice": chosen[0]}
            if value is not None:
                action["value"] = _json_value(value)
        receipt = await submit_action(engine, scene, branch, action, studio, actor)
        left = len((await engine.scenes.load(scene, branch)).conflicts)
        console.print(receipt_line(receipt))
        console.print(f"{left} conflicts left open on {scene}@{branch}")

    run_job(job)


@app.command()
def diff(
    scene: str,
    old: Annotated[str, typer.Argument(help="BRANCH or BRANCH@VERSION")],
    new: Annotated[str, typer.Argument(help="BRANCH or BRANCH@VERSION")],
) -> None:
    """Per node and property, what differs from OLD to NEW, with who set each value."""

    async def job(engine: Engine) -> None:
        before = await _at(engine, scene, old, "old")
        after = await _at(engine, scene, new, "new")
        changes = await engine.scenes.diff(before, after)
        if not changes:
            console.print(f"no differences between {old} and {new}")
            return
        console.print(change_table(changes, f"{scene}: {old} → {new}"))

    run_job(job)


async def _existing(
    engine: Engine, scene: str, branch: str, version: int | None = None
) -> SceneState:
    state = await engine.scenes.load(scene, branch, version)
    if not state.created:
        raise NotFound(f"no scene {scene!r} on branch {branch!r}")
    return state


async def _at(engine: Engine, scene: str, ref: str, field: str) -> SceneState:
    name, _, version = ref.partition("@")
    if version and not version.isdigit():
        raise InvalidIntent(field, f"{ref!r} is not BRANCH or BRANCH@VERSION")
    state = await _existing(engine, scene, name, int(version) if version else None)
    if version and state.version < int(version):
        raise InvalidIntent(field, f"{name} is at version {state.version}; {version} is past it")
    return state


def _json_value(text: str) -> object:
    try:
        return msgspec.json.decode(text)
    except msgspec.DecodeError:
        return text  # a bare word is taken as a string
