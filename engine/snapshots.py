"""Scene state to snapshot bytes and back (msgpack, compact array-like structs).

A snapshot carries `SNAPSHOT_SCHEMA`; one written by another schema, or one that no
longer decodes, is reported as unreadable and the caller rebuilds from events.
Schema 6: the state holds open executions only, each slot its current binding, and
the slot failures the draft view shows (see `engine.scene.SceneState`). Schema 7: the
same shape; a branch no longer starts with the executions still running on its parent
at the fork (their states in older snapshots are folded again from the events).
"""

from __future__ import annotations

import immutables
import msgspec

from engine.events import ConflictRecorded
from engine.executions import ExecutionState, TaskState, waiting
from engine.provenance import Binding, Prop, PropValue, Provenance
from engine.scene import (
    EMPTY_CHILDREN,
    EMPTY_FAILURES,
    EMPTY_PROPS,
    EMPTY_SLOTS,
    MergeMark,
    Node,
    SceneState,
)

SNAPSHOT_SCHEMA = 7


class _NodeRecord(msgspec.Struct, array_like=True, gc=False):
    """A node with its provenances as indexes into the snapshot's provenance table."""

    id: str
    kind: str
    parent: str | None
    order: str
    created: int
    placed: int
    props: dict[str, tuple[PropValue, int]]
    slots: dict[str, list[tuple[str, int, str | None]]]


class _SceneRecord(msgspec.Struct, array_like=True, gc=False):
    scene: str
    branch: str
    version: int
    created: bool
    title: str
    root: str
    provenances: list[Provenance]
    nodes: list[_NodeRecord]
    parent: str | None
    fork_version: int
    includes: dict[str, int]
    merges: list[MergeMark]
    conflicts: list[ConflictRecorded]
    executions: list[ExecutionState]
    tasks: list[TaskState]
    finished_executions: int
    slot_failures: list[tuple[str, str, TaskState]]


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(_SceneRecord)


class _Interner:
    """Numbers each distinct provenance once: one event sets many values."""

    def __init__(self) -> None:
        self.table: list[Provenance] = []
        self._index: dict[Provenance, int] = {}

    def __call__(self, prov: Provenance) -> int:
        index = self._index.get(prov)
        if index is None:
            index = self._index[prov] = len(self.table)
            self.table.append(prov)
        return index


def encode_snapshot(state: SceneState) -> bytes:
    ref = _Interner()
    nodes = [
        _NodeRecord(
            n.id,
            n.kind,
            n.parent,
            n.order,
            ref(n.created),
            ref(n.placed),
            {name: (p.value, ref(p.provenance)) for name, p in n.props.items()},
            {
                slot: [(b.artifact, ref(b.provenance), b.task) for b in bindings]
                for slot, bindings in n.slots.items()
            },
        )
        for n in state.nodes.values()
    ]
    record = _SceneRecord(
        state.scene,
        state.branch,
        state.version,
        state.created,
        state.title,
        state.root,
        ref.table,
        nodes,
        state.parent,
        state.fork_version,
        dict(state.includes.items()),
        list(state.merges),
        list(state.conflicts.values()),
        list(state.executions.values()),
        list(state.tasks.values()),
        state.finished_executions,
        [
            (node, slot, task)
            for node, slots in state.slot_failures.items()
            for slot, task in slots.items()
        ],
    )
    return _encoder.encode(record)


def decode_snapshot(data: bytes, schema: int) -> SceneState | None:
    """The state a snapshot holds, or None when it cannot be read by this build."""
    if schema != SNAPSHOT_SCHEMA:
        return None
    try:
        record = _decoder.decode(data)
        return _state(record)
    except (msgspec.DecodeError, msgspec.ValidationError, IndexError):
        return None


def _state(record: _SceneRecord) -> SceneState:
    provs = record.provenances
    nodes: dict[str, Node] = {}
    children: dict[str, dict[str, str]] = {}
    empty_props, empty_slots = EMPTY_PROPS, EMPTY_SLOTS
    for n in record.nodes:
        props = (
            immutables.Map({k: Prop(v, provs[i]) for k, (v, i) in n.props.items()})
            if n.props
            else empty_props
        )
        slots = (
            immutables.Map(
                {s: tuple(Binding(a, provs[i], t) for a, i, t in bs) for s, bs in n.slots.items()}
            )
            if n.slots
            else empty_slots
        )
        nodes[n.id] = Node(
            n.id, n.kind, n.parent, n.order, provs[n.created], provs[n.placed], props, slots
        )
        if n.parent is not None:
            children.setdefault(n.parent, {})[n.id] = n.order
    return SceneState(
        scene=record.scene,
        branch=record.branch,
        version=record.version,
        created=record.created,
        title=record.title,
        root=record.root,
        nodes=immutables.Map(nodes),
        children=immutables.Map({p: EMPTY_CHILDREN.update(kids) for p, kids in children.items()}),
        parent=record.parent,
        fork_version=record.fork_version,
        includes=immutables.Map(record.includes),
        merges=tuple(record.merges),
        conflicts=immutables.Map({c.conflict: c for c in record.conflicts}),
        executions=immutables.Map({e.id: e for e in record.executions}),
        tasks=immutables.Map({t.id: t for t in record.tasks}),
        waiting=immutables.Map({t.id: True for t in record.tasks if waiting(t)}),
        finished_executions=record.finished_executions,
        slot_failures=_failures(record.slot_failures),
    )


def _failures(
    found: list[tuple[str, str, TaskState]],
) -> immutables.Map[str, immutables.Map[str, TaskState]]:
    by_node: dict[str, dict[str, TaskState]] = {}
    for node, slot, task in found:
        by_node.setdefault(node, {})[slot] = task
    return immutables.Map({node: EMPTY_FAILURES.update(slots) for node, slots in by_node.items()})
