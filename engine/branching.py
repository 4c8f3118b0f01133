"""Branch lineage: where two branches last agreed, and which nodes changed since.

A merge base is the newest state both branches contain: the fork point, or the
source or target state of the last merge between them, or (for siblings) the
older of their fork points on a common parent. `change_plan` says which slices of
which streams (and which nodes a past merge kept) can hold every change of a
branch since a base, so merges and diffs read what changed, not the whole scene.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

import msgspec

from engine.events import (
    AnyEvent,
    ArtifactBound,
    ArtifactUnbound,
    ConflictRecorded,
    MergeApplied,
    NodeAdded,
    NodeMoved,
    NodeRemoved,
    NodeRestored,
    PropertySet,
    SceneCreated,
)
from engine.merging import same_content
from engine.provenance import Prop, PropValue, Provenance
from engine.scene import Node, SceneState


class BranchRef(msgspec.Struct, frozen=True, order=True):
    branch: str
    version: int


class StreamSlice(msgspec.Struct, frozen=True):
    """Events of `branch` with after < version <= up_to."""

    branch: str
    after: int
    up_to: int


class ChangePlan(msgspec.Struct, frozen=True):
    slices: tuple[StreamSlice, ...]
    kept: frozenset[str] = frozenset()


def base_refs(ours: SceneState, theirs: SceneState) -> list[BranchRef]:
    """States both branches contain; the merge base is the newest of them."""
    refs = set()
    if theirs.branch in ours.includes:
        refs.add(BranchRef(theirs.branch, ours.includes[theirs.branch]))
    if ours.branch in theirs.includes:
        refs.add(BranchRef(ours.branch, theirs.includes[ours.branch]))
    for branch in set(ours.includes.keys()) & set(theirs.includes.keys()):
        refs.add(BranchRef(branch, min(ours.includes[branch], theirs.includes[branch])))
    return sorted(refs)


def contains(state: SceneState, ref: BranchRef) -> bool:
    """Does `state` hold everything `ref` names?"""
    if state.branch == ref.branch:
        return state.version >= ref.version
    return state.includes.get(ref.branch, 0) >= ref.version


def pick_base(candidates: Mapping[BranchRef, SceneState]) -> BranchRef | None:
    """The candidate that contains all the others (the newest common state).

    Criss-cross histories can leave no single newest; the one containing the most
    others is taken then, which can only add conflicts, never lose a change.
    """
    if not candidates:
        return None

    def covered(ref: BranchRef) -> int:
        return sum(contains(candidates[ref], other) for other in candidates)

    return max(sorted(candidates), key=covered)


def change_plan(
    branch: str, head: int, base: BranchRef, states: Callable[[str], SceneState | None]
) -> ChangePlan | None:
    """Where every change of `branch` at `head` since `base` is recorded, or None when
    the lineage is too tangled to say (then callers compare whole states)."""
    if branch == base.branch:
        if head < base.version:
            return None
        return ChangePlan((StreamSlice(branch, base.version, head),))
    state = states(branch)
    if state is None:
        return None
    mark = next(
        (
            m
            for m in reversed(state.merges)
            if m.version <= head and m.source == base.branch and m.source_version >= base.version
        ),
        None,
    )
    if mark is not None:
        since = (
            StreamSlice(branch, mark.version, head),
            StreamSlice(base.branch, base.version, mark.source_version),
        )
        return ChangePlan(since, frozenset(mark.kept))
    if state.parent is None:
        return None
    upstream = change_plan(state.parent, state.fork_version, base, states)
    if upstream is None:
        return None
    return ChangePlan((StreamSlice(branch, 0, head), *upstream.slices), upstream.kept)


def touched_nodes(events: Iterable[AnyEvent]) -> set[str]:
    """Every node an event could have changed."""
    touched: set[str] = set()
    for event in events:
        if isinstance(
            event,
            NodeAdded | NodeRemoved | NodeMoved | PropertySet | ArtifactBound | ArtifactUnbound,
        ):
            touched.add(event.node)
        elif isinstance(event, MergeApplied):
            touched.update(image.id for image in event.upserts)
            touched.update(event.removals)
        elif isinstance(event, NodeRestored):
            touched.add(event.image.id)
        elif isinstance(event, ConflictRecorded):
            touched.add(event.node)
        elif isinstance(event, SceneCreated):
            touched.add(event.root)
    return touched


class Change(msgspec.Struct, frozen=True):
    """One difference between two states: `field` is `node`, `parent`, `order`,
    `prop:NAME` or `slot:NAME`; `old`/`new` are None where the node or value is absent."""

    node: str
    field: str
    old: PropValue | list[str]
    new: PropValue | list[str]
    old_provenance: Provenance | None
    new_provenance: Provenance | None


def diff_states(
    old: SceneState, new: SceneState, candidates: Iterable[str] | None = None
) -> list[Change]:
    """Per node and field, what differs from `old` to `new` (over `candidates` if given)."""
    ids = set(old.nodes) | set(new.nodes) if candidates is None else set(candidates)
    changes: list[Change] = []
    for node_id in sorted(ids):
        a, b = old.nodes.get(node_id), new.nodes.get(node_id)
        if not same_content(a, b) or (a is None) != (b is None):
            changes.extend(_node_changes(node_id, a, b))
    return changes


def _node_changes(node_id: str, a: Node | None, b: Node | None) -> list[Change]:
    if a is None or b is None:
        kind_a = a.kind if a is not None else None
        kind_b = b.kind if b is not None else None
        return [
            Change(
                node_id,
                "node",
                kind_a,
                kind_b,
                a.created if a is not None else None,
                b.created if b is not None else None,
            )
        ]
    changes = []
    if a.parent != b.parent:
        changes.append(Change(node_id, "parent", a.parent, b.parent, a.placed, b.placed))
    if a.order != b.order:
        changes.append(Change(node_id, "order", a.order, b.order, a.placed, b.placed))
    for name in sorted(set(a.props) | set(b.props)):
        pa, pb = a.props.get(name), b.props.get(name)
        if _prop_key(pa) != _prop_key(pb):
            changes.append(
                Change(
                    node_id,
                    f"prop:{name}",
                    pa.value if pa else None,
                    pb.value if pb else None,
                    pa.provenance if pa else None,
                    pb.provenance if pb else None,
                )
            )
    for slot in sorted(set(a.slots) | set(b.slots)):
        sa, sb = a.slots.get(slot, ()), b.slots.get(slot, ())
        if [x.artifact for x in sa] != [x.artifact for x in sb]:
            changes.append(
                Change(
                    node_id,
                    f"slot:{slot}",
                    [x.artifact for x in sa],
                    [x.artifact for x in sb],
                    sa[-1].provenance if sa else None,
                    sb[-1].provenance if sb else None,
                )
            )
    return changes


def _prop_key(prop: Prop | None) -> object:
    return None if prop is None else (type(prop.value), prop.value)
