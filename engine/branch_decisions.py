"""Decisions for branch intents: fork, merge, and conflict resolution.

The service loads what these need (the parent state at the fork point; the
source, the base and the candidate nodes of a merge) and passes it in, so that
deciding stays pure.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from engine.errors import InvalidIntent, NotFound
from engine.events import (
    AnyEvent,
    BranchForked,
    ConflictRecorded,
    ConflictResolved,
    ConflictSide,
    MergeApplied,
    NodeMoved,
    NodeRemoved,
    NodeRestored,
    PropertySet,
)
from engine.intents import ForkBranch, MergeBranch, ResolveAll, ResolveConflict
from engine.merging import merge_states, node_image
from engine.nodes import check_prop, node_kind
from engine.scene import SceneState


@dataclass(frozen=True)
class ForkContext:
    """The parent branch at its head and at the requested fork point."""

    parent_head: SceneState
    parent_at: SceneState


@dataclass(frozen=True)
class MergeContext:
    source: SceneState
    base: SceneState
    candidates: frozenset[str] | None


def decide_fork(state: SceneState, action: ForkBranch, context: ForkContext) -> list[AnyEvent]:
    if state.version > 0:
        raise InvalidIntent("branch", f"branch {state.branch!r} already exists")
    if action.source == state.branch:
        raise InvalidIntent("action.source", "a branch cannot be forked from itself")
    head = context.parent_head
    if not head.created:
        raise NotFound(f"scene {state.scene!r} has no branch {action.source!r}")
    at = head.version if action.at_version is None else action.at_version
    if at > head.version:
        raise InvalidIntent(
            "action.at_version", f"{action.source} is at version {head.version}; {at} is past it"
        )
    if not context.parent_at.created:
        raise InvalidIntent(
            "action.at_version", f"the scene did not exist yet at {action.source} version {at}"
        )
    return [BranchForked(parent=action.source, parent_version=at)]


def decide_merge(
    state: SceneState, action: MergeBranch, context: MergeContext, intent_id: str
) -> list[AnyEvent]:
    source = context.source
    if not source.created:
        raise NotFound(f"scene {state.scene!r} has no branch {action.source!r}")
    if action.source == state.branch or state.includes.get(source.branch, -1) >= source.version:
        return []  # nothing in the source that this branch does not already hold
    candidates = context.candidates
    if candidates is None:
        candidates = (
            frozenset(state.nodes) | frozenset(source.nodes) | frozenset(context.base.nodes)
        )

    def conflict_id(node: str, what: str) -> str:
        digest = hashlib.sha256(f"{intent_id}|{node}|{what}".encode()).hexdigest()
        return f"c-{digest[:12]}"

    outcome = merge_states(context.base, state, source, candidates, conflict_id)
    includes = dict(source.includes.items())
    includes[source.branch] = source.version
    applied = MergeApplied(
        source=source.branch,
        source_version=source.version,
        base_branch=context.base.branch,
        base_version=context.base.version,
        upserts=[node_image(node) for node in outcome.upserts],
        removals=outcome.removals,
        kept=outcome.kept,
        includes=includes,
    )
    return [applied, *outcome.conflicts]


def decide_resolve(state: SceneState, action: ResolveConflict) -> list[AnyEvent]:
    conflict = state.conflicts.get(action.conflict)
    if conflict is None:
        open_ids = ", ".join(sorted(state.conflicts)) or "none"
        raise InvalidIntent(
            "action.conflict", f"no open conflict {action.conflict!r}; open: {open_ids}"
        )
    if action.choice == "value":
        return [ConflictResolved(conflict.conflict, "value"), *_set_value(state, conflict, action)]
    return [
        ConflictResolved(conflict.conflict, action.choice),
        *_carry_out(state, conflict, action.choice),
    ]


def decide_resolve_all(state: SceneState, action: ResolveAll) -> list[AnyEvent]:
    if not state.conflicts:
        raise InvalidIntent("action", f"branch {state.branch!r} has no open conflicts")
    events: list[AnyEvent] = []
    removed: set[str] = set()
    fields = sorted(
        (c for c in state.conflicts.values() if c.field != "node"), key=lambda c: c.conflict
    )
    for conflict in fields:
        events.append(ConflictResolved(conflict.conflict, action.choice))
        events.extend(_carry_out(state, conflict, action.choice))
    nodes = sorted(
        (c for c in state.conflicts.values() if c.field == "node"), key=lambda c: c.conflict
    )
    for conflict in _parents_first(nodes, action.choice, set(state.nodes)):
        events.append(ConflictResolved(conflict.conflict, action.choice))
        if conflict.node in removed:
            continue
        side = conflict.ours if action.choice == "ours" else conflict.theirs
        changes = _carry_out_node(state, conflict.node, side, restorable=True)
        removed.update(e.node for e in changes if isinstance(e, NodeRemoved))
        events.extend(changes)
    return events


def _parents_first(
    conflicts: list[ConflictRecorded], choice: str, present: set[str]
) -> list[ConflictRecorded]:
    """Node conflicts ordered so that a restored node's parent is restored before it."""
    restoring = {
        c.node: side.node.parent
        for c in conflicts
        if (side := c.ours if choice == "ours" else c.theirs).present and side.node is not None
    }
    ordered: list[ConflictRecorded] = []
    pending = list(conflicts)
    while pending:
        ready = [
            c
            for c in pending
            if restoring.get(c.node) is None
            or restoring[c.node] in present
            or restoring[c.node] not in {p.node for p in pending}
        ]
        if not ready:
            ready = pending[:1]
        for conflict in ready:
            ordered.append(conflict)
            pending.remove(conflict)
            present.add(conflict.node)
    return ordered


def _set_value(
    state: SceneState, conflict: ConflictRecorded, action: ResolveConflict
) -> list[AnyEvent]:
    if not conflict.field.startswith("prop:"):
        raise InvalidIntent(
            "action.choice", f"a {conflict.field} conflict is resolved with ours or theirs"
        )
    node = state.nodes.get(conflict.node)
    if node is None:
        raise InvalidIntent("action.conflict", f"node {conflict.node!r} is no longer here")
    prop = conflict.field.removeprefix("prop:")
    value = check_prop(node_kind(node.kind, "action"), prop, action.value, "action.value")
    return [PropertySet(node=node.id, prop=prop, value=value)]


def _carry_out(state: SceneState, conflict: ConflictRecorded, choice: str) -> list[AnyEvent]:
    """The events that make the state match the chosen side of `conflict`."""
    side = conflict.ours if choice == "ours" else conflict.theirs
    node = state.nodes.get(conflict.node)
    if conflict.field == "node":
        return _carry_out_node(state, conflict.node, side)
    if node is None:
        return []
    if conflict.field.startswith("prop:"):
        prop = conflict.field.removeprefix("prop:")
        held = node.props.get(prop)
        if held is not None and (type(held.value), held.value) == (type(side.value), side.value):
            return []
        return [PropertySet(node=node.id, prop=prop, value=side.value)]
    if side.value == node.parent and side.order == node.order:
        return []
    parent = str(side.value) if side.value is not None else None
    if parent is None or parent not in state.nodes or state.is_ancestor(node.id, parent):
        raise InvalidIntent(
            "action.choice",
            f"{choice} would place {node.id!r} under {parent!r}, which is "
            "gone or inside it; resolve by moving the node instead",
        )
    return [NodeMoved(node=node.id, parent=parent, order=side.order or node.order)]


def _carry_out_node(
    state: SceneState, node_id: str, side: ConflictSide, restorable: bool = False
) -> list[AnyEvent]:
    current = state.nodes.get(node_id)
    if not side.present:
        if current is None:
            return []
        doomed = [node_id, *state.descendants(node_id)]
        return [NodeRemoved(node=n) for n in reversed(doomed)]
    image = side.node
    if image is None or (current is not None and node_image(current) == image):
        return []
    if image.parent is not None and image.parent not in state.nodes and not restorable:
        raise InvalidIntent(
            "action.choice", f"the chosen {node_id!r} sits under {image.parent!r}, which is gone"
        )
    return [NodeRestored(image=image)]
