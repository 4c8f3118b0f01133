"""Three-way merge of scene state: base, ours (the target branch) and theirs (the source).

Per node and field: equal on both sides, take it; changed on one side only, take
that side; changed on both to different values, a conflict that keeps ours and
records base, ours and theirs. Delete on one side and modify on the other is a
conflict; both sides' additions to an artifact slot survive. Only the
`candidates` (nodes that may differ from the base on either side) are looked at,
so a merge costs what changed, not what the scene holds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import immutables
import msgspec

from engine.events import ConflictRecorded, ConflictSide, NodeImage
from engine.provenance import Binding, Prop
from engine.scene import Node, SceneState

_replace = msgspec.structs.replace
_ABSENT: Any = object()

ConflictId = Callable[[str, str], str]


@dataclass
class MergeOutcome:
    """What merging theirs into ours changes on ours, and what it could not decide."""

    upserts: list[Node] = field(default_factory=list)
    removals: list[str] = field(default_factory=list)
    conflicts: list[ConflictRecorded] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)


def node_image(node: Node) -> NodeImage:
    return NodeImage(
        id=node.id,
        kind=node.kind,
        parent=node.parent,
        order=node.order,
        created=node.created,
        placed=node.placed,
        props=dict(node.props.items()),
        slots={slot: list(bindings) for slot, bindings in node.slots.items()},
    )


def node_from_image(image: NodeImage) -> Node:
    return Node(
        image.id,
        image.kind,
        image.parent,
        image.order,
        image.created,
        image.placed,
        immutables.Map(image.props),
        immutables.Map({slot: tuple(bindings) for slot, bindings in image.slots.items()}),
    )


def same_content(a: Node | None, b: Node | None) -> bool:
    """Equal as a viewer sees them: kind, place, prop values and slot contents."""
    if a is None or b is None:
        return a is b
    if a is b:
        return True
    return (
        a.kind == b.kind
        and a.parent == b.parent
        and a.order == b.order
        and _values(a) == _values(b)
        and _artifacts(a) == _artifacts(b)
    )


def _values(node: Node) -> dict[str, tuple[type, Any]]:
    return {name: _key(prop.value) for name, prop in node.props.items()}


def _artifacts(node: Node) -> dict[str, tuple[str, ...]]:
    return {slot: tuple(b.artifact for b in bindings) for slot, bindings in node.slots.items()}


def _key(value: Any) -> tuple[type, Any]:
    return (type(value), value)


class _Merge:
    def __init__(
        self, base: SceneState, ours: SceneState, theirs: SceneState, conflict_id: ConflictId
    ) -> None:
        self.base, self.ours, self.theirs = base, ours, theirs
        self.conflict_id = conflict_id
        self.result: dict[str, Node | None] = {}
        self.conflicts: dict[tuple[str, str], ConflictRecorded] = {}

    def final(self, node_id: str) -> Node | None:
        if node_id in self.result:
            return self.result[node_id]
        return self.ours.nodes.get(node_id)

    def run(self, candidates: Iterable[str]) -> MergeOutcome:
        touched = sorted(set(candidates))
        for node_id in touched:
            merged = self._node(node_id)
            if merged is not self.ours.nodes.get(node_id):
                self.result[node_id] = merged
        self._keep_parents()
        self._refuse_cycles()
        self._name_absent_parents()
        return self._outcome(touched)

    # -- per node ---------------------------------------------------------

    def _node(self, node_id: str) -> Node | None:
        b = self.base.nodes.get(node_id)
        o = self.ours.nodes.get(node_id)
        t = self.theirs.nodes.get(node_id)
        if o is None and t is None:
            return None
        if b is None:
            return self._added(node_id, o, t)
        if o is None:
            if t is not None and not same_content(b, t):
                self._conflict_node(node_id, b, o, t)
            return None
        if t is None:
            if not same_content(b, o):
                self._conflict_node(node_id, b, o, t)
                return o
            return None
        return self._three_way(b, o, t)

    def _added(self, node_id: str, o: Node | None, t: Node | None) -> Node | None:
        if o is None or t is None:
            return o if t is None else t
        if same_content(o, t):
            return o
        if o.kind != t.kind:
            self._conflict_node(node_id, None, o, t)
            return o
        empty = Node(node_id, o.kind, None, "", o.created, o.created)
        return self._three_way(empty, o, t)

    def _three_way(self, b: Node, o: Node, t: Node) -> Node:
        if same_content(o, t) or same_content(b, t):
            return o
        if same_content(b, o):
            return t
        props = self._props(b, o, t)
        slots = self._slots(b, o, t)
        parent, order, placed = self._placement(b, o, t)
        if props is o.props and slots is o.slots and placed is o.placed:
            return o
        return _replace(o, props=props, slots=slots, parent=parent, order=order, placed=placed)

    def _props(self, b: Node, o: Node, t: Node) -> immutables.Map[str, Prop]:
        props = o.props
        for name in sorted(set(o.props) | set(t.props) | set(b.props)):
            bp, op, tp = b.props.get(name), o.props.get(name), t.props.get(name)
            bv, ov, tv = (_key(p.value) if p else _ABSENT for p in (bp, op, tp))
            if ov == tv or tv == bv:
                continue
            if ov == bv and tp is not None:
                props = props.set(name, tp)
            elif ov == bv:
                props = props.delete(name)
            else:
                self._conflict_prop(o.id, name, bp, op, tp)
        return props

    def _slots(self, b: Node, o: Node, t: Node) -> immutables.Map[str, tuple[Binding, ...]]:
        slots = o.slots
        for slot in sorted(set(o.slots) | set(t.slots)):
            base = {x.artifact for x in b.slots.get(slot, ())}
            ours, theirs = o.slots.get(slot, ()), t.slots.get(slot, ())
            ours_ids, theirs_ids = {x.artifact for x in ours}, {x.artifact for x in theirs}
            kept = [x for x in ours if not (x.artifact in base and x.artifact not in theirs_ids)]
            added = [x for x in theirs if x.artifact not in base and x.artifact not in ours_ids]
            merged = (*kept, *added)
            if merged != ours:
                slots = slots.set(slot, merged) if merged else slots.delete(slot)
        return slots

    def _placement(self, b: Node, o: Node, t: Node) -> tuple[str | None, str, Any]:
        bp, op, tp = (b.parent, b.order), (o.parent, o.order), (t.parent, t.order)
        if op == tp or tp == bp:
            return o.parent, o.order, o.placed
        if op == bp:
            return t.parent, t.order, t.placed
        which = "parent" if o.parent != t.parent else "order"
        self._record(o.id, which, _place_side(b), _place_side(o), _place_side(t))
        return o.parent, o.order, o.placed

    # -- structure ----------------------------------------------------------

    def _keep_parents(self) -> None:
        """A node whose parent the merge would remove keeps that parent, as a conflict."""
        changed = True
        while changed:
            changed = False
            for node_id in list(self.result):
                node = self.final(node_id)
                parents = [node.parent] if node is not None and node.parent else []
                if node is None:
                    parents = []
                    kids = self._children_anywhere(node_id)
                    if any(self._parent_of(k) == node_id for k in kids):
                        parents = [node_id]
                for parent in parents:
                    if self.final(parent) is None:
                        self._restore(parent)
                        changed = True

    def _name_absent_parents(self) -> None:
        """A conflict takes into conflict the ancestors either side's version of its node
        needs but the result removed, so that either choice can be carried out (and the
        conflicts do not depend on which branch is the target)."""
        for node_id, _ in sorted(self.conflicts):
            for side in (self.ours, self.theirs):
                node = side.nodes.get(node_id)
                while node is not None and node.parent and self.final(node.parent) is None:
                    parent = node.parent
                    if (parent, "node") not in self.conflicts:
                        self._conflict_node(
                            parent,
                            self.base.nodes.get(parent),
                            self.ours.nodes.get(parent),
                            self.theirs.nodes.get(parent),
                        )
                    node = side.nodes.get(parent)

    def _parent_of(self, node_id: str) -> str | None:
        node = self.final(node_id)
        return None if node is None else node.parent

    def _children_anywhere(self, node_id: str) -> set[str]:
        empty: immutables.Map[str, str] = immutables.Map()
        return set(self.ours.children.get(node_id, empty)) | set(
            self.theirs.children.get(node_id, empty)
        )

    def _restore(self, node_id: str) -> None:
        o, t = self.ours.nodes.get(node_id), self.theirs.nodes.get(node_id)
        kept = o if o is not None else t
        if kept is o:
            self.result.pop(node_id, None)
        else:
            self.result[node_id] = kept
        self._conflict_node(node_id, self.base.nodes.get(node_id), o, t)

    def _refuse_cycles(self) -> None:
        for node_id in sorted(self.result):
            node, mine = self.result[node_id], self.ours.nodes.get(node_id)
            if node is None or mine is None or node.parent == mine.parent:
                continue
            if self._cycles(node_id):
                self.result[node_id] = _replace(
                    node, parent=mine.parent, order=mine.order, placed=mine.placed
                )
                base = self.base.nodes.get(node_id)
                self._record(
                    node_id, "parent", _place_side(base), _place_side(mine), _place_side(node)
                )

    def _cycles(self, node_id: str) -> bool:
        seen = {node_id}
        current = self.final(node_id)
        while current is not None and current.parent is not None:
            if current.parent in seen:
                return True
            seen.add(current.parent)
            current = self.final(current.parent)
        return False

    # -- conflicts ----------------------------------------------------------

    def _conflict_node(self, node_id: str, b: Node | None, o: Node | None, t: Node | None) -> None:
        self._record(node_id, "node", _node_side(b), _node_side(o), _node_side(t))

    def _conflict_prop(self, node_id: str, name: str, *sides: Prop | None) -> None:
        b, o, t = (
            ConflictSide(True, p.value, provenance=p.provenance) if p else _GONE for p in sides
        )
        self._record(node_id, f"prop:{name}", b, o, t)

    def _record(
        self, node_id: str, what: str, b: ConflictSide, o: ConflictSide, t: ConflictSide
    ) -> None:
        self.conflicts[(node_id, what)] = ConflictRecorded(
            conflict=self.conflict_id(node_id, what),
            node=node_id,
            field=what,
            source=self.theirs.branch,
            base=b,
            ours=o,
            theirs=t,
        )

    def _outcome(self, touched: list[str]) -> MergeOutcome:
        outcome = MergeOutcome()
        for node_id in sorted(self.result):
            node = self.result[node_id]
            if node is None:
                if node_id in self.ours.nodes:
                    outcome.removals.append(node_id)
            elif node is not self.ours.nodes.get(node_id):
                outcome.upserts.append(node)
        outcome.conflicts = [self.conflicts[k] for k in sorted(self.conflicts)]
        outcome.kept = [
            n for n in touched if not same_content(self.final(n), self.theirs.nodes.get(n))
        ]
        return outcome


_GONE = ConflictSide(False)


def _place_side(node: Node | None) -> ConflictSide:
    if node is None:
        return _GONE
    return ConflictSide(True, node.parent, node.order, node.placed)


def _node_side(node: Node | None) -> ConflictSide:
    if node is None:
        return _GONE
    return ConflictSide(True, provenance=node.placed, node=node_image(node))


def merge_states(
    base: SceneState,
    ours: SceneState,
    theirs: SceneState,
    candidates: Iterable[str],
    conflict_id: ConflictId,
) -> MergeOutcome:
    """Merge `theirs` into `ours` over the `candidates` (a superset of changed nodes)."""
    return _Merge(base, ours, theirs, conflict_id).run(candidates)
