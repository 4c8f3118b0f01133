"""Scene state to snapshot bytes and back (msgpack, compact array-like structs).

A snapshot carries `SNAPSHOT_SCHEMA`; one written by another schema, or one that no
longer decodes, is reported as unreadable and the caller rebuilds from events.
"""

from __future__ import annotations

import immutables
import msgspec

from engine.events import ConflictRecorded
from engine.provenance import Binding, Prop, Provenance
from engine.scene import EMPTY_CHILDREN, MergeMark, Node, SceneState

SNAPSHOT_SCHEMA = 2


class _NodeRecord(msgspec.Struct, array_like=True):
    id: str
    kind: str
    parent: str | None
    order: str
    created: Provenance
    placed: Provenance
    props: dict[str, Prop]
    slots: dict[str, list[Binding]]


class _SceneRecord(msgspec.Struct, array_like=True):
    scene: str
    branch: str
    version: int
    created: bool
    title: str
    root: str
    nodes: list[_NodeRecord]
    parent: str | None
    fork_version: int
    includes: dict[str, int]
    merges: list[MergeMark]
    conflicts: list[ConflictRecorded]


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(_SceneRecord)


def encode_snapshot(state: SceneState) -> bytes:
    nodes = [
        _NodeRecord(
            n.id,
            n.kind,
            n.parent,
            n.order,
            n.created,
            n.placed,
            dict(n.props.items()),
            {slot: list(bindings) for slot, bindings in n.slots.items()},
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
        nodes,
        state.parent,
        state.fork_version,
        dict(state.includes.items()),
        list(state.merges),
        list(state.conflicts.values()),
    )
    return _encoder.encode(record)


def decode_snapshot(data: bytes, schema: int) -> SceneState | None:
    """The state a snapshot holds, or None when it cannot be read by this build."""
    if schema != SNAPSHOT_SCHEMA:
        return None
    try:
        record = _decoder.decode(data)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
    nodes: dict[str, Node] = {}
    children: dict[str, dict[str, str]] = {}
    for n in record.nodes:
        slots = {slot: tuple(bindings) for slot, bindings in n.slots.items()}
        nodes[n.id] = Node(
            n.id,
            n.kind,
            n.parent,
            n.order,
            n.created,
            n.placed,
            immutables.Map(n.props),
            immutables.Map(slots),
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
    )
