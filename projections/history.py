"""The history read model: every event with its provenance, found by scene, branch,
node, actor, execution and time range, across processes.

One row per event in `history_events` (naming the first node it touched) and one
row in `history_nodes` per further node, so that a merge that changed twenty nodes
is found from any of them. The rows index the log: a query reads each event's
payload from the log itself, so it is stored once and upcast as every read is.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import msgspec

from engine.codec import decode_event
from engine.events import (
    AnyEvent,
    ArtifactBound,
    ArtifactUnbound,
    ConflictRecorded,
    EventMetadata,
    MergeApplied,
    NodeAdded,
    NodeMoved,
    NodeRemoved,
    NodeRestored,
    PropertySet,
    RecordedEvent,
    RegenerationRequested,
    SceneCreated,
    TaskPlanned,
)
from projections.generations import active_generation
from projections.ports import Condition, ReadModelStore, ReadModelView, Record
from projections.projection import Rows
from projections.times import from_micros, to_micros

EVENT_COLUMNS = (
    "position",
    "scene",
    "branch",
    "version",
    "recorded_at",
    "type",
    "studio",
    "actor",
    "intent_id",
    "execution_id",
    "transform",
    "transform_version",
    "node",
)
NODE_COLUMNS = ("position", "scene", "branch", "version", "node")


def _one(event: Any) -> tuple[str, ...]:
    return (event.node,)


_NODES: dict[type, Callable[[Any], tuple[str, ...]]] = {
    SceneCreated: lambda e: (e.root,),
    NodeAdded: _one,
    NodeRemoved: _one,
    NodeMoved: _one,
    PropertySet: _one,
    ArtifactBound: _one,
    ArtifactUnbound: _one,
    RegenerationRequested: _one,
    ConflictRecorded: _one,
    NodeRestored: lambda e: (e.image.id,),
    MergeApplied: lambda e: tuple(sorted({*(i.id for i in e.upserts), *e.removals})),
    TaskPlanned: lambda e: tuple(dict.fromkeys(t.node for t in e.targets)),
}


def nodes_of(payload: AnyEvent) -> tuple[str, ...]:
    """The nodes an event changed or aimed at, the main one first."""
    nodes = _NODES.get(type(payload))
    return () if nodes is None else nodes(payload)


class HistoryProjection:
    name = "history"
    version = 1
    tables: Mapping[str, tuple[str, ...]] = {
        "history_events": EVENT_COLUMNS,
        "history_nodes": NODE_COLUMNS,
    }

    def rows(self, event: RecordedEvent, out: Rows) -> None:
        payload, meta = event.payload, event.metadata
        kind = type(payload).__name__
        nodes = nodes_of(payload)
        out["history_events"].append(
            (
                event.position,
                event.scene,
                event.branch,
                event.version,
                to_micros(event.recorded_at),
                kind,
                meta.studio,
                meta.actor,
                meta.intent_id,
                meta.execution_id,
                meta.transform,
                meta.transform_version,
                nodes[0] if nodes else None,
            )
        )
        for node in nodes[1:]:
            out["history_nodes"].append(
                (event.position, event.scene, event.branch, event.version, node)
            )


class HistoryQuery(msgspec.Struct, frozen=True, kw_only=True):
    """Which events to list; every field given narrows the answer."""

    scene: str | None = None
    branch: str | None = None
    node: str | None = None
    actor: str | None = None
    execution: str | None = None
    studio: str | None = None
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive
    limit: int | None = None


class HistoryEntry(msgspec.Struct, frozen=True):
    position: int
    scene: str
    branch: str
    version: int
    recorded_at: datetime
    payload: AnyEvent
    studio: str
    actor: str
    intent_id: str
    execution_id: str
    transform: str
    transform_version: int
    node: str | None


async def find_history(read_models: ReadModelStore, query: HistoryQuery) -> list[HistoryEntry]:
    """Events matching `query`, oldest first (by global position)."""
    async with read_models.reading() as view:
        generation = await active_generation(view, HistoryProjection.name)
        where = _conditions(query)
        if query.node is None:
            records = await view.find(
                "history_events", generation, where, ("position",), limit=query.limit
            )
        else:
            records = await _by_node(view, generation, where, query)
    return [_entry(record) for record in records]


async def version_at(read_models: ReadModelStore, scene: str, branch: str, moment: datetime) -> int:
    """The newest version of a branch recorded at or before `moment` (0: none yet)."""
    where: list[Condition] = [
        ("scene", "=", scene),
        ("branch", "=", branch),
        ("recorded_at", "<=", to_micros(moment)),
    ]
    async with read_models.reading() as view:
        generation = await active_generation(view, HistoryProjection.name)
        found = await view.find(
            "history_events", generation, where, ("version",), descending=True, limit=1
        )
    return int(found[0]["version"]) if found else 0


async def _by_node(
    read_models: ReadModelView, generation: int, where: list[Condition], query: HistoryQuery
) -> list[Record]:
    direct = await read_models.find(
        "history_events", generation, [*where, ("node", "=", query.node)], ("position",)
    )
    placed: list[Condition] = [("node", "=", query.node)]
    placed += [c for c in where if c[0] in ("scene", "branch")]
    versions: dict[tuple[str, str], list[int]] = {}
    for row in await read_models.find("history_nodes", generation, placed):
        versions.setdefault((row["scene"], row["branch"]), []).append(row["version"])
    found = {row["position"]: row for row in direct}
    for (scene, branch), numbers in versions.items():
        stream: list[Condition] = [("scene", "=", scene), ("branch", "=", branch)]
        more = [*where, *stream, ("version", "in", numbers)]
        for row in await read_models.find("history_events", generation, more):
            found[row["position"]] = row
    ordered = [found[position] for position in sorted(found)]
    return ordered if query.limit is None else ordered[: query.limit]


def _conditions(query: HistoryQuery) -> list[Condition]:
    where: list[Condition] = []
    for column, value in (
        ("scene", query.scene),
        ("branch", query.branch),
        ("actor", query.actor),
        ("execution_id", query.execution),
        ("studio", query.studio),
    ):
        if value is not None:
            where.append((column, "=", value))
    if query.since is not None:
        where.append(("recorded_at", ">=", to_micros(query.since)))
    if query.until is not None:
        where.append(("recorded_at", "<", to_micros(query.until)))
    return where


def as_recorded(entry: HistoryEntry) -> RecordedEvent:
    """The entry as the event it records (without its event id, which history omits)."""
    metadata = EventMetadata(
        studio=entry.studio,
        actor=entry.actor,
        intent_id=entry.intent_id,
        execution_id=entry.execution_id,
        transform=entry.transform,
        transform_version=entry.transform_version,
    )
    return RecordedEvent(
        "",
        entry.scene,
        entry.branch,
        entry.version,
        entry.position,
        entry.recorded_at,
        metadata,
        entry.payload,
    )


def _entry(record: Record) -> HistoryEntry:
    payload = decode_event(
        record["type"], record["schema_version"], record["data"], record["position"]
    )
    return HistoryEntry(
        position=record["position"],
        scene=record["scene"],
        branch=record["branch"],
        version=record["version"],
        recorded_at=from_micros(record["recorded_at"]),
        payload=payload,
        studio=record["studio"],
        actor=record["actor"],
        intent_id=record["intent_id"],
        execution_id=record["execution_id"],
        transform=record["transform"],
        transform_version=record["transform_version"],
        node=record["node"],
    )
