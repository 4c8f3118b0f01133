"""Three-way merge of scene state: base, ours (the target branch) and theirs (the source).

A node is its id and its kind: a node removed and added again with another kind is
another node, so a kind change meets the other side's edits as a node conflict
(replace or keep), never field by field. Within one node, per field: equal on both
sides, take it; changed on one side only, take that side; changed on both to
different values, a conflict. Delete on one side and modify on the other is a node
conflict. A slot's artifacts merge as adds and removes; its current artifact (the
last bound) is a field like any other.

Each conflict has two outcomes, so the merge looks at two whole results: the
*ours world* (every conflict kept as ours, which is what the merge writes) and the
*theirs world* (every conflict taken from theirs, what resolving all as theirs
makes). Where either world would break a rule of the scene (a parent gone or
unable to hold its child, a parent loop), the nodes involved take that world's
side as a conflict, until both worlds are valid scenes. Both worlds are treated
alike, so swapping source and target swaps ours and theirs and nothing else.

Only the `candidates` (nodes that may differ from the base on either side) are
looked at, so a merge costs what changed, not what the scene holds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import immutables
import msgspec

from engine.events import ConflictRecorded, ConflictSide, NodeImage
from engine.integrity import cycle_through, placement_problem
from engine.provenance import Binding, Prop, Provenance
from engine.scene import Node, SceneState

_replace = msgspec.structs.replace
_ABSENT: Any = object()
OURS, THEIRS = 0, 1

ConflictId = Callable[[str, str], str]
Placement = tuple[str | None, str, Provenance]
FieldConflict = tuple[str, ConflictSide, ConflictSide, ConflictSide]
Slots = immutables.Map[str, tuple[Binding, ...]]


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


@dataclass(frozen=True)
class _Entry:
    """One node merged: its two worlds before any structural conflict, and whether the
    node as a whole (`whole`) or some of its fields conflict."""

    sides: tuple[Node | None, Node | None]
    worlds: tuple[Node | None, Node | None]
    whole: bool = False
    fields: tuple[FieldConflict, ...] = ()


def merge_node(b: Node | None, o: Node | None, t: Node | None) -> _Entry:
    """The three-way merge of one node id, with identity (id and kind) decided first."""
    sides = (o, t)
    if o is None and t is None:
        return _Entry(sides, (None, None))
    if o is not None and t is not None and same_content(o, t):
        return _Entry(sides, (o, t))
    if b is None:
        if o is None or t is None:
            taken = t if o is None else o
            return _Entry(sides, (taken, taken))
    elif same_content(b, t):
        return _Entry(sides, (o, o))
    elif same_content(b, o):
        return _Entry(sides, (t, t))
    if o is None or t is None or o.kind != t.kind:
        return _Entry(sides, sides, whole=True)
    if b is None or b.kind != o.kind:  # both added the id, or both replaced it alike
        b = Node(o.id, o.kind, None, "", o.created, o.created)
    return _merge_fields(b, o, t)


def _merge_fields(b: Node, o: Node, t: Node) -> _Entry:
    conflicts: list[FieldConflict] = []
    o_props, t_props = _merge_props(b, o, t, conflicts)
    o_slots, t_slots = _merge_slots(b, o, t, conflicts)
    o_place, t_place = _merge_placement(b, o, t, conflicts)
    worlds = (_build(o, o_props, o_slots, o_place), _build(t, t_props, t_slots, t_place))
    return _Entry((o, t), worlds, fields=tuple(conflicts))


def _build(
    template: Node, props: immutables.Map[str, Prop], slots: Slots, place: Placement
) -> Node:
    if (
        props is template.props
        and slots is template.slots
        and place == (template.parent, template.order, template.placed)
    ):
        return template
    parent, order, placed = place
    return _replace(template, props=props, slots=slots, parent=parent, order=order, placed=placed)


def _merge_props(
    b: Node, o: Node, t: Node, conflicts: list[FieldConflict]
) -> tuple[immutables.Map[str, Prop], immutables.Map[str, Prop]]:
    o_props, t_props = o.props, t.props
    for name in sorted(set(o.props) | set(t.props) | set(b.props)):
        bp, op, tp = b.props.get(name), o.props.get(name), t.props.get(name)
        bv, ov, tv = (_key(p.value) if p else _ABSENT for p in (bp, op, tp))
        if ov == tv:
            continue
        if tv == bv:
            t_props = _put_prop(t_props, name, op)
        elif ov == bv:
            o_props = _put_prop(o_props, name, tp)
        else:
            sides = (_prop_side(bp), _prop_side(op), _prop_side(tp))
            conflicts.append((f"prop:{name}", *sides))
    return o_props, t_props


def _put_prop(
    props: immutables.Map[str, Prop], name: str, prop: Prop | None
) -> immutables.Map[str, Prop]:
    if prop is not None:
        return props.set(name, prop)
    return props.delete(name) if name in props else props


def _merge_placement(
    b: Node, o: Node, t: Node, conflicts: list[FieldConflict]
) -> tuple[Placement, Placement]:
    bp, op, tp = (b.parent, b.order), (o.parent, o.order), (t.parent, t.order)
    ours, theirs = (o.parent, o.order, o.placed), (t.parent, t.order, t.placed)
    if op == tp:
        return ours, theirs
    if tp == bp:
        return ours, ours
    if op == bp:
        return theirs, theirs
    which = "parent" if o.parent != t.parent else "order"
    base = b if b.parent is not None else None  # a node both sides added had no place
    conflicts.append((which, _place_side(base), _place_side(o), _place_side(t)))
    return ours, theirs


def _merge_slots(b: Node, o: Node, t: Node, conflicts: list[FieldConflict]) -> tuple[Slots, Slots]:
    o_slots, t_slots = o.slots, t.slots
    for slot in sorted(set(o.slots) | set(t.slots) | set(b.slots)):
        bs, os_, ts = b.slots.get(slot, ()), o.slots.get(slot, ()), t.slots.get(slot, ())
        mine, yours, conflict = merge_slot(bs, os_, ts)
        if mine != os_:
            o_slots = _put_slot(o_slots, slot, mine)
        if yours != ts:
            t_slots = _put_slot(t_slots, slot, yours)
        if conflict:
            sides = (_binding_side(bs), _binding_side(os_), _binding_side(ts))
            conflicts.append((f"slot:{slot}", *sides))
    return o_slots, t_slots


def _put_slot(slots: Slots, slot: str, bindings: tuple[Binding, ...]) -> Slots:
    if bindings:
        return slots.set(slot, bindings)
    return slots.delete(slot) if slot in slots else slots


def merge_slot(
    bs: tuple[Binding, ...], os_: tuple[Binding, ...], ts: tuple[Binding, ...]
) -> tuple[tuple[Binding, ...], tuple[Binding, ...], bool]:
    """One slot in the ours and theirs worlds, and whether its current artifact conflicts.

    A side that left the slot alone takes the other's list as it is. Otherwise the
    bindings merge as adds and removes (a re-bind removes the old binding and adds a
    new one), and the current artifact three ways: a side that bound something since
    the base made its last binding current. When each side made a different artifact
    current, both stay and each world puts its side's last, the other's just before
    it, so that resolving the conflict is binding that artifact again. The rest keep
    the base's order, then the new bindings by who bound them (branch, version), the
    same whichever branch is the target.
    """
    ba, oa, ta = _ids(bs), _ids(os_), _ids(ts)
    if oa == ta:
        return os_, ts, False
    if ta == ba:
        return os_, os_, False
    if oa == ba:
        return ts, ts, False
    base = set(bs)
    ours, theirs = set(os_), set(ts)
    chosen: dict[str, Binding] = {}
    for binding in sorted((ours & theirs) | (ours - base) | (theirs - base), key=_binding_order):
        chosen[binding.artifact] = binding  # an artifact both re-bound: the later key wins
    wo, wt = (side[-1].artifact if side and side[-1] not in base else None for side in (os_, ts))
    if wo is not None and wt is not None and wo != wt:
        rest = _canonical(chosen, bs, exclude={wo, wt})
        return (*rest, chosen[wt], chosen[wo]), (*rest, chosen[wo], chosen[wt]), True
    current = wo or wt or (ba[-1] if ba and ba[-1] in chosen else None)
    merged = tuple(_canonical(chosen, bs, exclude={current}))
    if current is not None:
        merged = (*merged, chosen[current])
    return merged, merged, False


def _ids(bindings: tuple[Binding, ...]) -> tuple[str, ...]:
    return tuple(b.artifact for b in bindings)


def _binding_order(binding: Binding) -> tuple[str, int, str]:
    prov = binding.provenance
    return (prov.branch, prov.version, binding.artifact)


def _canonical(
    chosen: dict[str, Binding], base: tuple[Binding, ...], exclude: set[str | None]
) -> list[Binding]:
    kept = [x for x in base if chosen.get(x.artifact) == x and x.artifact not in exclude]
    held = set(base)
    new = [x for a, x in chosen.items() if a not in exclude and x not in held]
    return [*kept, *sorted(new, key=_binding_order)]


class _Merge:
    def __init__(
        self, base: SceneState, ours: SceneState, theirs: SceneState, conflict_id: ConflictId
    ) -> None:
        self.base, self.ours, self.theirs = base, ours, theirs
        self.root = ours.root
        self.conflict_id = conflict_id
        self.entries: dict[str, _Entry] = {}
        self.forced: dict[str, set[str]] = {}

    def run(self, candidates: Iterable[str]) -> MergeOutcome:
        touched = sorted(set(candidates))
        for node_id in touched:
            self.entries[node_id] = merge_node(
                self.base.nodes.get(node_id),
                self.ours.nodes.get(node_id),
                self.theirs.nodes.get(node_id),
            )
        self._settle(touched)
        return self._outcome(touched)

    def world(self, node_id: str, side: int) -> Node | None:
        """The node as the ours (0) or theirs (1) world holds it."""
        entry = self.entries.get(node_id)
        if entry is None:  # untouched on both sides: ours is the base is theirs
            return self.ours.nodes.get(node_id)
        forced = self.forced.get(node_id, ())
        own = entry.sides[side]
        if entry.whole or "node" in forced:
            return own
        node = entry.worlds[side]
        if "parent" in forced and node is not None and own is not None:
            node = _replace(node, parent=own.parent, order=own.order, placed=own.placed)
        return node

    # -- structure ----------------------------------------------------------

    def _settle(self, touched: list[str]) -> None:
        """Turn into conflicts what either world cannot hold, until both are valid."""
        while True:
            wanted: dict[str, set[str]] = {}
            for side in (OURS, THEIRS):
                self._check_world(touched, side, wanted)
            new = {
                (node_id, what)
                for node_id, whats in wanted.items()
                for what in whats
                if what not in self.forced.get(node_id, ())
            }
            if not new:
                return
            for node_id, what in new:
                self.forced.setdefault(node_id, set()).add(what)

    def _check_world(self, touched: list[str], side: int, wanted: dict[str, set[str]]) -> None:
        def lookup(node_id: str) -> Node | None:
            return self.world(node_id, side)

        good: set[str] = set()
        for node_id in touched:
            node = lookup(node_id)
            if node is None:
                continue
            parent = lookup(node.parent) if node.parent is not None else None
            if placement_problem(node, parent, self.root) is not None:
                self._align(node_id, side, wanted, place=True)
                if node.parent is not None:
                    self._align(node.parent, side, wanted, place=False)
            for looped in cycle_through(node_id, lookup, self.root, good):
                self._align(looped, side, wanted, place=True)

    def _align(self, node_id: str, side: int, wanted: dict[str, set[str]], place: bool) -> None:
        """Ask for the conflict that makes this world hold `side`'s own version of the
        node (as a whole, or only its place), which that side shows to be valid."""
        held, own = self.world(node_id, side), self._side(node_id, side)
        if held is None and own is None:
            return
        if held is None or own is None or held.kind != own.kind:
            wanted.setdefault(node_id, set()).add("node")
        elif place and held.parent != own.parent:
            wanted.setdefault(node_id, set()).add("parent")

    def _side(self, node_id: str, side: int) -> Node | None:
        return (self.ours, self.theirs)[side].nodes.get(node_id)

    # -- outcome ------------------------------------------------------------

    def _outcome(self, touched: list[str]) -> MergeOutcome:
        outcome = MergeOutcome()
        for node_id in touched:
            node, mine = self.world(node_id, OURS), self.ours.nodes.get(node_id)
            if node is None:
                if mine is not None:
                    outcome.removals.append(node_id)
            elif node is not mine:
                outcome.upserts.append(node)
            outcome.conflicts.extend(self._conflicts(node_id))
        outcome.kept = [
            n for n in touched if not same_content(self.world(n, OURS), self.theirs.nodes.get(n))
        ]
        return outcome

    def _conflicts(self, node_id: str) -> list[ConflictRecorded]:
        entry, forced = self.entries[node_id], self.forced.get(node_id, set())
        b = self.base.nodes.get(node_id)
        o, t = entry.sides
        if entry.whole or "node" in forced:
            return [self._record(node_id, "node", _node_side(b), _node_side(o), _node_side(t))]
        found = {what: sides for what, *sides in entry.fields}
        if "parent" in forced:
            found.pop("order", None)
            base = b if b is not None and o is not None and b.kind == o.kind else None
            found["parent"] = [_place_side(base), _place_side(o), _place_side(t)]
        return [self._record(node_id, what, *found[what]) for what in sorted(found)]

    def _record(
        self, node_id: str, what: str, b: ConflictSide, o: ConflictSide, t: ConflictSide
    ) -> ConflictRecorded:
        return ConflictRecorded(
            conflict=self.conflict_id(node_id, what),
            node=node_id,
            field=what,
            source=self.theirs.branch,
            base=b,
            ours=o,
            theirs=t,
        )


_GONE = ConflictSide(False)


def _place_side(node: Node | None) -> ConflictSide:
    if node is None:
        return _GONE
    return ConflictSide(True, node.parent, node.order, node.placed)


def _node_side(node: Node | None) -> ConflictSide:
    if node is None:
        return _GONE
    return ConflictSide(True, provenance=node.placed, node=node_image(node))


def _prop_side(prop: Prop | None) -> ConflictSide:
    return _GONE if prop is None else ConflictSide(True, prop.value, provenance=prop.provenance)


def _binding_side(bindings: tuple[Binding, ...]) -> ConflictSide:
    if not bindings:
        return _GONE
    current = bindings[-1]
    return ConflictSide(True, current.artifact, provenance=current.provenance)


def merge_states(
    base: SceneState,
    ours: SceneState,
    theirs: SceneState,
    candidates: Iterable[str],
    conflict_id: ConflictId,
) -> MergeOutcome:
    """Merge `theirs` into `ours` over the `candidates` (a superset of changed nodes)."""
    return _Merge(base, ours, theirs, conflict_id).run(candidates)
