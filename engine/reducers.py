"""Stage 5, state merge: pure reducers that fold recorded events into scene state.

`apply(state, event)` has no clock, no randomness and no I/O, and never fails on
an event that `engine.decisions.decide` produced. Every value it writes carries
the `Provenance` of the event that wrote it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import immutables
import msgspec

from engine.events import (
    ArtifactBound,
    ArtifactUnbound,
    BranchForked,
    ConflictRecorded,
    ConflictResolved,
    IntentAccepted,
    MergeApplied,
    NodeAdded,
    NodeMoved,
    NodeRemoved,
    NodeRestored,
    PropertySet,
    RecordedEvent,
    RegenerationRequested,
    SceneCreated,
)
from engine.merging import node_from_image
from engine.provenance import Binding, Prop, Provenance
from engine.scene import EMPTY_CHILDREN, MergeMark, Node, SceneState
from engine.task_reducers import TASK_HANDLERS

_replace = msgspec.structs.replace


def provenance_of(event: RecordedEvent) -> Provenance:
    meta = event.metadata
    return Provenance(
        event.branch,
        event.version,
        meta.intent_id,
        meta.execution_id,
        meta.actor,
        meta.transform,
        meta.transform_version,
    )


def apply(state: SceneState, event: RecordedEvent) -> SceneState:
    """The state after `event`; unknown payload types only advance the version."""
    handler = _HANDLERS.get(type(event.payload))
    if handler is not None:
        state = handler(state, event.payload, provenance_of(event))
    return _replace(state, version=event.version)


def fold(state: SceneState, events: Iterable[RecordedEvent]) -> SceneState:
    for event in events:
        state = apply(state, event)
    return state


def _scene_created(state: SceneState, event: SceneCreated, prov: Provenance) -> SceneState:
    root = Node(event.root, "scene", None, "", prov, prov)
    root = _replace(root, props=root.props.set("title", Prop(event.title, prov)))
    return _replace(
        state,
        created=True,
        title=event.title,
        root=event.root,
        nodes=state.nodes.set(root.id, root),
    )


def _node_added(state: SceneState, event: NodeAdded, prov: Provenance) -> SceneState:
    props = immutables.Map({k: Prop(v, prov) for k, v in event.props.items()})
    node = Node(event.node, event.kind, event.parent, event.order, prov, prov, props=props)
    return _replace(
        state,
        nodes=state.nodes.set(node.id, node),
        children=_link(state.children, event.parent, node.id, event.order),
    )


def _node_removed(state: SceneState, event: NodeRemoved, prov: Provenance) -> SceneState:
    node = state.nodes.get(event.node)
    if node is None:
        return state
    children = state.children
    if node.parent is not None:
        children = _unlink(children, node.parent, node.id)
    if node.id in children:
        children = children.delete(node.id)
    return _replace(
        state,
        nodes=state.nodes.delete(node.id),
        children=children,
        slot_failures=_forget_node(state, node.id),
    )


def _forget_node(state: SceneState, node_id: str) -> immutables.Map[str, Any]:
    failures = state.slot_failures
    return failures.delete(node_id) if node_id in failures else failures


def _node_moved(state: SceneState, event: NodeMoved, prov: Provenance) -> SceneState:
    node = state.nodes.get(event.node)
    if node is None:
        return state
    children = state.children
    if node.parent is not None:
        children = _unlink(children, node.parent, node.id)
    children = _link(children, event.parent, node.id, event.order)
    moved = _replace(node, parent=event.parent, order=event.order, placed=prov)
    return _replace(state, nodes=state.nodes.set(node.id, moved), children=children)


def _property_set(state: SceneState, event: PropertySet, prov: Provenance) -> SceneState:
    node = state.nodes.get(event.node)
    if node is None:
        return state
    updated = _replace(node, props=node.props.set(event.prop, Prop(event.value, prov)))
    title = event.value if node.id == state.root and event.prop == "title" else state.title
    return _replace(state, nodes=state.nodes.set(node.id, updated), title=str(title or ""))


def _artifact_bound(state: SceneState, event: ArtifactBound, prov: Provenance) -> SceneState:
    """The artifact becomes the slot's binding; the ones before it are history (the log
    and the read models hold them), not state."""
    node = state.nodes.get(event.node)
    if node is None:
        return state
    slots = node.slots.set(event.slot, (Binding(event.artifact, prov, event.task),))
    return _replace(state, nodes=state.nodes.set(node.id, _replace(node, slots=slots)))


def _artifact_unbound(state: SceneState, event: ArtifactUnbound, prov: Provenance) -> SceneState:
    node = state.nodes.get(event.node)
    if node is None:
        return state
    kept = tuple(b for b in node.slots.get(event.slot, ()) if b.artifact != event.artifact)
    slots = node.slots.set(event.slot, kept) if kept else node.slots.delete(event.slot)
    return _replace(state, nodes=state.nodes.set(node.id, _replace(node, slots=slots)))


def _branch_forked(state: SceneState, event: BranchForked, prov: Provenance) -> SceneState:
    """Applied on top of the parent's state at the fork point. Executions still running
    there stay the parent's: their tasks report to it, never to the new branch (which
    plans its own work, reusing their results through the work cache once they exist)."""
    includes = state.includes.set(event.parent, event.parent_version)
    if prov.branch in includes:
        includes = includes.delete(prov.branch)
    return _replace(
        state,
        branch=prov.branch,
        parent=event.parent,
        fork_version=event.parent_version,
        includes=includes,
        merges=(),
        conflicts=immutables.Map(),
        executions=immutables.Map(),
        tasks=immutables.Map(),
        waiting=immutables.Map(),
    )


def _merge_applied(state: SceneState, event: MergeApplied, prov: Provenance) -> SceneState:
    nodes, children, failures = state.nodes, state.children, state.slot_failures
    for node_id in event.removals:
        gone = nodes.get(node_id)
        if gone is None:
            continue
        if gone.parent is not None:
            children = _unlink(children, gone.parent, node_id)
        nodes = nodes.delete(node_id)
        if node_id in failures:
            failures = failures.delete(node_id)
    for image in event.upserts:
        nodes, children = _put(nodes, children, node_from_image(image))
    includes = state.includes
    for branch, version in event.includes.items():
        if branch != state.branch and includes.get(branch, 0) < version:
            includes = includes.set(branch, version)
    mark = MergeMark(event.source, event.source_version, prov.version, tuple(event.kept))
    root = nodes.get(state.root)
    title = str(root.value("title", state.title)) if root is not None else state.title
    return _replace(
        state,
        nodes=nodes,
        children=children,
        includes=includes,
        merges=(*state.merges, mark),
        title=title,
        slot_failures=failures,
    )


def _conflict_recorded(state: SceneState, event: ConflictRecorded, prov: Provenance) -> SceneState:
    return _replace(state, conflicts=state.conflicts.set(event.conflict, event))


def _conflict_resolved(state: SceneState, event: ConflictResolved, prov: Provenance) -> SceneState:
    """The conflict closes; a slot it was about keeps its current binding only (the
    merge had kept the other side's binding beside it until then)."""
    conflict = state.conflicts.get(event.conflict)
    if conflict is None:
        return state
    state = _replace(state, conflicts=state.conflicts.delete(event.conflict))
    node = state.nodes.get(conflict.node)
    slot = conflict.field.removeprefix("slot:")
    bindings = node.slots.get(slot, ()) if node is not None else ()
    if node is None or slot == conflict.field or len(bindings) < 2:
        return state
    trimmed = _replace(node, slots=node.slots.set(slot, bindings[-1:]))
    return _replace(state, nodes=state.nodes.set(node.id, trimmed))


def _node_restored(state: SceneState, event: NodeRestored, prov: Provenance) -> SceneState:
    nodes, children = _put(state.nodes, state.children, node_from_image(event.image))
    return _replace(state, nodes=nodes, children=children)


def _put(
    nodes: immutables.Map[str, Node],
    children: immutables.Map[str, immutables.Map[str, str]],
    node: Node,
) -> tuple[immutables.Map[str, Node], immutables.Map[str, immutables.Map[str, str]]]:
    """Set a whole node, moving its entry in the children index if its place changed."""
    old = nodes.get(node.id)
    if old is not None and old.parent is not None:
        children = _unlink(children, old.parent, node.id)
    if node.parent is not None:
        children = _link(children, node.parent, node.id, node.order)
    return nodes.set(node.id, node), children


def _regeneration_requested(
    state: SceneState, event: RegenerationRequested, prov: Provenance
) -> SceneState:
    """A new take of the node: its work gets new content keys and runs again."""
    node = state.nodes.get(event.node)
    if node is None:
        return state
    take = Prop(int(node.value("take", 0) or 0) + 1, prov)
    updated = _replace(node, props=node.props.set("take", take))
    return _replace(state, nodes=state.nodes.set(node.id, updated))


def _unchanged(state: SceneState, event: Any, prov: Provenance) -> SceneState:
    return state


def _link(
    children: immutables.Map[str, immutables.Map[str, str]], parent: str, child: str, order: str
) -> immutables.Map[str, immutables.Map[str, str]]:
    return children.set(parent, children.get(parent, EMPTY_CHILDREN).set(child, order))


def _unlink(
    children: immutables.Map[str, immutables.Map[str, str]], parent: str, child: str
) -> immutables.Map[str, immutables.Map[str, str]]:
    siblings = children.get(parent)
    if siblings is None or child not in siblings:
        return children
    remaining = siblings.delete(child)
    return children.set(parent, remaining) if remaining else children.delete(parent)


_HANDLERS: dict[type, Callable[[SceneState, Any, Provenance], SceneState]] = {
    SceneCreated: _scene_created,
    NodeAdded: _node_added,
    NodeRemoved: _node_removed,
    NodeMoved: _node_moved,
    PropertySet: _property_set,
    ArtifactBound: _artifact_bound,
    ArtifactUnbound: _artifact_unbound,
    IntentAccepted: _unchanged,
    RegenerationRequested: _regeneration_requested,
    BranchForked: _branch_forked,
    MergeApplied: _merge_applied,
    ConflictRecorded: _conflict_recorded,
    ConflictResolved: _conflict_resolved,
    NodeRestored: _node_restored,
    **TASK_HANDLERS,
}
