"""Decisions for branch intents: fork, merge, and conflict resolution.

The service loads what these need (the parent state at the fork point; the
source, the base and the candidate nodes of a merge) and passes it in, so that
deciding stays pure.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime

from engine.errors import InvalidIntent, NotFound
from engine.events import (
    AnyEvent,
    ArtifactBound,
    BranchForked,
    ConflictRecorded,
    ConflictResolved,
    ConflictSide,
    EventMetadata,
    MergeApplied,
    NodeMoved,
    NodeRemoved,
    NodeRestored,
    PropertySet,
    RecordedEvent,
)
from engine.intents import ForkBranch, MergeBranch, ResolveAll, ResolveConflict
from engine.merging import merge_states, node_image
from engine.nodes import check_prop, may_hold, node_kind
from engine.reducers import fold
from engine.scene import Node, SceneState

CONFLICT_ID = re.compile(r"^c-[0-9a-f]{12}$")


def is_conflict_id(given: str) -> bool:
    """Whether `given` is a whole conflict id (as a merge names them), not a start."""
    return CONFLICT_ID.match(given) is not None


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
    """Every open conflict resolved one side's way, in an order that keeps the scene
    valid at each step: a pass resolves what the scene allows, and what waits for
    another resolution (a parent to come back, a child to move out first) waits for
    the next pass. What no order allows (after other resolutions made it impossible)
    stays open, as it would one at a time."""
    if not state.conflicts:
        raise InvalidIntent("action", f"branch {state.branch!r} has no open conflicts")
    events: list[AnyEvent] = []
    pending = sorted(state.conflicts.values(), key=lambda c: c.conflict)
    refusals: list[str] = []
    while pending:
        waiting, refusals = [], []
        for conflict in pending:
            try:
                step = [
                    ConflictResolved(conflict.conflict, action.choice),
                    *_carry_out(state, conflict, action.choice),
                ]
            except InvalidIntent as refusal:
                waiting.append(conflict)
                refusals.append(refusal.reason)
                continue
            state = fold(state, _as_recorded(state, step))
            events.extend(step)
        if len(waiting) == len(pending):
            break
        pending = waiting
    if not events:
        raise InvalidIntent("action.choice", "; ".join(refusals))
    return events


_PLANNED = EventMetadata("", "", "", "", "branch.resolve_all", 1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _as_recorded(state: SceneState, payloads: list[AnyEvent]) -> list[RecordedEvent]:
    """Payloads as if appended, so that the next resolution is decided on their result."""
    return [
        RecordedEvent("", state.scene, state.branch, state.version + n, None, _EPOCH, _PLANNED, p)
        for n, p in enumerate(payloads, start=1)
    ]


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
    """The events that make the state hold the chosen side of `conflict`; InvalidIntent
    (naming the conflicts to resolve first) when the scene would not be valid after.

    The merge kept ours, so choosing ours changes nothing: what the branch did since
    (edits, other merges) stays, and a conflict can always be closed that way.
    """
    if choice == "ours":
        return []
    side = conflict.theirs
    if conflict.field == "node":
        return _carry_out_node(state, conflict.node, side, choice)
    node = state.nodes.get(conflict.node)
    if node is None:
        return []  # the node went since: nothing of it is left to choose
    if conflict.field.startswith("prop:"):
        return _carry_out_prop(node, conflict.field.removeprefix("prop:"), side, choice)
    if not side.present:
        return []  # a merge records no slot or place that is absent on a side
    if conflict.field.startswith("slot:"):
        return _carry_out_slot(node, conflict.field.removeprefix("slot:"), side, choice)
    parent = None if side.value is None else str(side.value)
    if parent == node.parent and side.order == node.order:
        return []
    _check_place(state, node.id, node.kind, parent, choice)
    return [NodeMoved(node=node.id, parent=str(parent), order=side.order or node.order)]


def _carry_out_prop(node: Node, prop: str, side: ConflictSide, choice: str) -> list[AnyEvent]:
    held = node.props.get(prop)
    if not side.present:
        if held is None:
            return []
        image = node_image(node)
        del image.props[prop]
        return [NodeRestored(image=image)]
    if held is not None and (type(held.value), held.value) == (type(side.value), side.value):
        return []
    if prop not in node_kind(node.kind, "action").props:
        raise InvalidIntent("action.choice", f"{choice}: a {node.kind} has no prop {prop!r}")
    return [PropertySet(node=node.id, prop=prop, value=side.value)]


def _carry_out_slot(node: Node, slot: str, side: ConflictSide, choice: str) -> list[AnyEvent]:
    artifact = str(side.value)
    if node.artifact(slot) == artifact:
        return []
    if slot not in node_kind(node.kind, "action").slots:
        raise InvalidIntent("action.choice", f"{choice}: a {node.kind} has no slot {slot!r}")
    task = next((b.task for b in node.slots.get(slot, ()) if b.artifact == artifact), None)
    return [ArtifactBound(node=node.id, slot=slot, artifact=artifact, task=task)]


def _carry_out_node(
    state: SceneState, node_id: str, side: ConflictSide, choice: str
) -> list[AnyEvent]:
    current = state.nodes.get(node_id)
    kids = state.child_ids(node_id) if current is not None else []
    if not side.present:
        if current is None:
            return []
        if kids:
            under = ", ".join(repr(k) for k in kids)
            verb = "is" if len(kids) == 1 else "are"
            _refuse(state, choice, f"removes {node_id!r}, but {under} {verb} under it", kids)
        return [NodeRemoved(node=node_id)]
    image = side.node
    if image is None or (current is not None and node_image(current) == image):
        return []
    if node_id != state.root:
        _check_place(state, node_id, image.kind, image.parent, choice)
    misfits = [k for k in kids if not may_hold(image.kind, state.nodes[k].kind)]
    if misfits:
        held = ", ".join(repr(k) for k in misfits)
        _refuse(
            state, choice, f"makes {node_id!r} a {image.kind}, which cannot hold {held}", misfits
        )
    return [NodeRestored(image=image)]


def _check_place(
    state: SceneState, node_id: str, kind: str, parent_id: str | None, choice: str
) -> None:
    """Refuse to put a `kind` node under `parent_id` unless the scene allows it."""
    parent = state.nodes.get(parent_id) if parent_id is not None else None
    if parent is None:
        _refuse(state, choice, f"puts {node_id!r} under {parent_id!r}, which is gone", [parent_id])
    elif not may_hold(parent.kind, kind):
        reason = f"puts the {kind} {node_id!r} under a {parent.kind} ({parent.id!r})"
        _refuse(state, choice, reason, [parent.id])
    elif parent.id == node_id or state.is_ancestor(node_id, parent.id):
        between = _path_up(state, parent.id, node_id)
        _refuse(state, choice, f"puts {node_id!r} under {parent.id!r}, which is inside it", between)


def _path_up(state: SceneState, start: str, stop: str) -> list[str]:
    path, current = [], state.nodes.get(start)
    while current is not None and current.id != stop:
        path.append(current.id)
        current = state.nodes.get(current.parent) if current.parent is not None else None
    return path


def _refuse(state: SceneState, choice: str, reason: str, nodes: Collection[str | None]) -> None:
    first = sorted(c.conflict for c in state.conflicts.values() if c.node in nodes)
    hint = f"; resolve {', '.join(first)} first" if first else ""
    raise InvalidIntent("action.choice", f"{choice} {reason}{hint}")
