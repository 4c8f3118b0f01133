"""Rich renderings of scene state and event history for the CLI."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC

import msgspec
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from api.cli.styled import styled
from engine.branching import Change
from engine.events import ConflictSide, RecordedEvent
from engine.executions import ExecutionRecord
from engine.progress import Progress
from engine.provenance import Provenance
from engine.scene import Node, SceneState
from engine.service import BranchInfo, Receipt
from projections.lineage_records import ArtifactOrigin, Lineage, TaskOrigin


def scene_tree(state: SceneState) -> Tree:
    title = styled(
        "[bold]{scene}[/]@{branch} v{version}  [dim]{title}[/]",
        scene=state.scene,
        branch=state.branch,
        version=state.version,
        title=state.title,
    )
    top = Tree(title)
    _add_children(top, state, state.root, include_self=True)
    return top


def _add_children(branch: Tree, state: SceneState, node_id: str, include_self: bool) -> None:
    node = state.nodes[node_id]
    here = branch.add(_node_label(node)) if include_self else branch
    for name, prop in sorted(node.props.items()):
        here.add(
            styled(
                "[cyan]{name}[/] = {value}  [dim]{who}[/]",
                name=name,
                value=repr(prop.value),
                who=_who(prop.provenance),
            )
        )
    for slot, bindings in sorted(node.slots.items()):
        for binding in bindings:
            sha = binding.artifact[:12]
            who = _who(binding.provenance)
            here.add(
                styled(
                    "[magenta]slot {slot}[/] → {sha}…  [dim]{who}[/]", slot=slot, sha=sha, who=who
                )
            )
    for child in state.child_ids(node_id):
        _add_children(here, state, child, include_self=True)


def _node_label(node: Node) -> Text:
    return styled("[bold green]{kind}[/] {id}", kind=node.kind, id=node.id)


def _who(prov: Provenance) -> str:
    return f"v{prov.version} by {prov.actor} via {prov.transform}@{prov.transform_version}"


# Columns that hold ids are never wrapped: an id is copied whole, or as a unique prefix.
_ID_COLUMNS = frozenset({"id", "intent", "execution", "task", "branch"})


def _columns(table: Table, names: Iterable[str]) -> None:
    for name in names:
        table.add_column(name, overflow="fold", no_wrap=name in _ID_COLUMNS)


def history_table(events: Iterable[RecordedEvent], title: str) -> Table:
    table = Table(title=title, show_lines=False)
    _columns(table, ("ver", "pos", "recorded", "event", "actor", "transform", "intent"))
    for event in events:
        meta = event.metadata
        table.add_row(
            str(event.version),
            "-" if event.position is None else str(event.position),
            event.recorded_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"),
            _describe(event),
            meta.actor,
            f"{meta.transform}@{meta.transform_version}",
            meta.intent_id[:13],
        )
    return table


def _describe(event: RecordedEvent) -> str:
    fields = msgspec.structs.asdict(event.payload)
    args = ", ".join(f"{k}={v!r}" for k, v in fields.items() if v not in (None, {}, ""))
    return f"{type(event.payload).__name__}({args})"


def counted(count: int, thing: str) -> str:
    """`1 conflict`, `2 conflicts`."""
    return f"{count} {thing}" if count == 1 else f"{count} {thing}s"


def receipt_line(receipt: Receipt, started: bool = True) -> str:
    """Where an accepted intent landed; the execution only when it started one."""
    span = (
        f"v{receipt.first_version}"
        if receipt.first_version == receipt.last_version
        else f"v{receipt.first_version}..v{receipt.last_version}"
    )
    where = f"{receipt.scene}@{receipt.branch} {span}"
    again = " (repeat: nothing new appended)" if receipt.duplicate else ""
    runs = f" → execution {receipt.execution_id}" if started else ""
    return f"accepted intent {receipt.intent_id}{runs}; {where}{again}"


def branch_table(infos: Iterable[BranchInfo], scene: str) -> Table:
    table = Table(title=f"branches of {scene}")
    _columns(table, ("branch", "forked from", "head", "merges in", "open conflicts"))
    for info in infos:
        fork = f"{info.parent}@{info.fork_version}" if info.parent else "-"
        merges = ", ".join(f"{m.source}@{m.source_version}→v{m.version}" for m in info.merges)
        table.add_row(
            info.name, fork, f"v{info.head_version}", merges or "-", str(info.open_conflicts)
        )
    return table


def conflict_table(state: SceneState, title: str) -> Table:
    table = Table(title=title)
    _columns(table, ("id", "node", "field", "base", "ours", "theirs"))
    for c in sorted(state.conflicts.values(), key=lambda c: (c.node, c.field)):
        table.add_row(c.conflict, c.node, c.field, _side(c.base), _side(c.ours), _side(c.theirs))
    return table


def _side(side: ConflictSide) -> Text:
    if not side.present:
        return Text("(absent)")
    if side.node is not None:
        shown = f"{side.node.kind} under {side.node.parent}"
    elif side.order is not None:
        shown = f"under {side.value} at {side.order}"
    else:
        shown = repr(side.value)
    if side.provenance is None:
        return Text(shown)
    return styled("{shown}  [dim]{who}[/]", shown=shown, who=_who(side.provenance))


def change_table(changes: Iterable[Change], title: str) -> Table:
    table = Table(title=title)
    _columns(table, ("node", "field", "old", "new", "set by"))
    for change in changes:
        who = _who(change.new_provenance) if change.new_provenance else "-"
        table.add_row(change.node, change.field, repr(change.old), repr(change.new), who)
    return table


def executions_table(records: Iterable[ExecutionRecord], title: str) -> Table:
    table = Table(title=title)
    _columns(table, ("execution", "intent", "status", "tasks", "done", "reused"))
    for execution, tasks in ((r.execution, r.tasks) for r in records):
        done = sum(1 for t in tasks if str(t.status) in ("succeeded",))
        table.add_row(
            execution.id,
            execution.intent_id[:13],
            execution.status,
            str(len(tasks)),
            str(done),
            str(execution.reused),
        )
    return table


def execution_table(progress: Progress) -> Table:
    table = Table(title=f"execution {progress.execution}: {progress.status}")
    _columns(
        table,
        (
            "task",
            "what",
            "status",
            "attempt",
            "queue wait",
            "run time",
            "cost",
            "worker / reason",
        ),
    )
    for task in progress.tasks:
        note = task.error or task.worker or ""
        table.add_row(
            task.id,
            task.description or task.operation,
            str(task.status),
            str(task.attempt),
            f"{task.queue_wait:.2f}s",
            f"{task.run_time:.2f}s",
            f"${task.cost:.4f}",
            note,
        )
    return table


def lineage_tree(found: Lineage) -> Tree:
    top = Tree(styled("[bold]artifact[/] {artifact}", artifact=found.origin.artifact))
    _add_origin(top, found.origin)
    return top


def _add_origin(branch: Tree, origin: ArtifactOrigin, execution: str | None = None) -> None:
    """`execution`: the one of the task this artifact feeds (not repeated below)."""
    if origin.repeated:
        branch.add(styled("[dim](shown above)[/]"))
        return
    if origin.made_by is not None:
        _add_task(branch, origin.made_by, execution)
        if origin.also_made_by:
            also = ", ".join(origin.also_made_by)
            branch.add(styled("[dim]same bytes also made by {also}[/]", also=also))
        return
    for bound in origin.bound_by:
        said = f": {bound.intent.summary}" if bound.intent is not None else ""
        rest = (
            f" into {bound.node}.{bound.slot} by {bound.actor} "
            f"via {bound.transform} (intent {bound.intent_id}{said})"
        )
        branch.add(styled("[yellow]bound[/]{rest}", rest=rest))


def _add_task(branch: Tree, task: TaskOrigin, seen: str | None = None) -> None:
    what = task.description or task.operation
    rest = f" · model {task.model} · provider {task.provider} · lane {task.lane}  "
    here = branch.add(
        styled(
            "[green]made by[/] task {task}: [bold]{operation}[/]{rest}[dim]{what}[/]",
            task=task.task,
            operation=task.operation,
            rest=rest,
            what=what,
        )
    )
    execution = task.execution
    if execution is not None and execution.execution != seen:
        intent = execution.intent
        asked = f"{intent.kind} by {intent.actor}: {intent.summary}" if intent else "?"
        rest = (
            f" {execution.execution} (goal {execution.goal}, planned by "
            f"{task.transform}) ← intent {intent.intent_id if intent else '?'} ({asked})"
        )
        here.add(styled("[cyan]execution[/]{rest}", rest=rest))
    for item in task.inputs:
        shown = item.artifact[:16] + "…" if item.artifact else "(no artifact recorded)"
        feed = here.add(styled("[magenta]input {name}[/] ← {shown}", name=item.name, shown=shown))
        mine = execution.execution if execution is not None else None
        if item.source is not None:
            _add_origin(feed, item.source, mine)
        elif item.task is not None:
            _add_task(feed, item.task, mine)


def lineage_summary(found: Lineage) -> Table:
    table = Table(show_header=False, box=None)
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    table.add_row("models", ", ".join(found.models) or "-")
    table.add_row("providers", ", ".join(found.providers) or "-")
    table.add_row("operations", ", ".join(found.operations) or "-")
    table.add_row("transforms", ", ".join(found.transforms) or "-")
    table.add_row("actors", ", ".join(found.actors) or "-")
    for intent in found.root_intents:
        table.add_row("root intent", f"{intent.intent_id} {intent.kind} by {intent.actor}: ")
        table.add_row("", intent.text or intent.summary)
    return table
