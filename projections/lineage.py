"""The lineage read model: where every artifact came from, across scenes and processes.

Rows record intents, executions, planned tasks with their inputs, the artifacts
tasks made and every binding of an artifact into a slot. `trace_artifact` walks
them back: artifact → the task that made it (operation, model, provider) → its
execution → the intent, and through the task's inputs recursively to the root
intents. An artifact no task made (uploaded and bound by a person) ends the walk
at the intent that bound it. The walk reads one snapshot, expands each artifact
once and remembers every execution and intent it looked up.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import msgspec

from engine.errors import NotFound
from engine.events import (
    ArtifactBound,
    ExecutionStarted,
    IntentAccepted,
    RecordedEvent,
    TaskPlanned,
    TaskSucceeded,
)
from projections.generations import active_generation
from projections.lineage_records import (
    ArtifactOrigin,
    Binding,
    ExecutionOrigin,
    InputOrigin,
    IntentOrigin,
    Lineage,
    TaskOrigin,
    summarise,
)
from projections.ports import ReadModelStore, ReadModelView, Record
from projections.projection import Rows
from projections.times import from_micros, to_micros

__all__ = ["TABLES", "LineageProjection", "artifacts_starting", "trace_artifact"]

_encode = msgspec.json.Encoder(order="sorted").encode
_decode_params = msgspec.json.Decoder(dict[str, Any]).decode

TABLES: Mapping[str, tuple[str, ...]] = {
    "lineage_intents": (
        "position",
        "intent_id",
        "scene",
        "branch",
        "studio",
        "actor",
        "kind",
        "summary",
        "text",
        "recorded_at",
    ),
    "lineage_executions": (
        "position",
        "execution",
        "intent_id",
        "goal",
        "scene",
        "branch",
        "studio",
        "actor",
    ),
    "lineage_tasks": (
        "position",
        "task",
        "execution",
        "scene",
        "branch",
        "studio",
        "operation",
        "model",
        "provider",
        "lane",
        "content_key",
        "params",
        "description",
        "transform",
    ),
    "lineage_inputs": (
        "position",
        "n",
        "task",
        "name",
        "input_task",
        "input_artifact",
        "content_key",
    ),
    "lineage_outputs": (
        "position",
        "artifact",
        "task",
        "attempt",
        "scene",
        "branch",
        "worker",
        "run_time",
        "cost",
        "recorded_at",
    ),
    "lineage_bindings": (
        "position",
        "artifact",
        "scene",
        "branch",
        "node",
        "slot",
        "task",
        "studio",
        "actor",
        "intent_id",
        "transform",
        "recorded_at",
    ),
}


class LineageProjection:
    name = "lineage"
    version = 1
    tables = TABLES

    def rows(self, event: RecordedEvent, out: Rows) -> None:
        row = _ROWS.get(type(event.payload))
        if row is not None:
            row(event, event.payload, out)


def _planned(event: RecordedEvent, task: TaskPlanned, out: Rows) -> None:
    meta = event.metadata
    out["lineage_tasks"].append(
        (
            event.position,
            task.task,
            task.execution,
            event.scene,
            event.branch,
            meta.studio,
            task.operation,
            task.model,
            task.provider,
            task.lane,
            task.content_key,
            _encode(task.params).decode(),
            task.description,
            f"{meta.transform}@{meta.transform_version}",
        )
    )
    inputs = out["lineage_inputs"]
    for n, item in enumerate(task.inputs):
        row = (item.name, item.task, item.artifact, item.content_key)
        inputs.append((event.position, n, task.task, *row))


def _succeeded(event: RecordedEvent, done: TaskSucceeded, out: Rows) -> None:
    if done.artifact is None:
        return
    out["lineage_outputs"].append(
        (
            event.position,
            done.artifact,
            done.task,
            done.attempt,
            event.scene,
            event.branch,
            done.worker,
            done.run_time,
            done.cost,
            to_micros(event.recorded_at),
        )
    )


def _bound(event: RecordedEvent, bound: ArtifactBound, out: Rows) -> None:
    meta = event.metadata
    out["lineage_bindings"].append(
        (
            event.position,
            bound.artifact,
            event.scene,
            event.branch,
            bound.node,
            bound.slot,
            bound.task,
            meta.studio,
            meta.actor,
            meta.intent_id,
            meta.transform,
            to_micros(event.recorded_at),
        )
    )


def _accepted(event: RecordedEvent, intent: IntentAccepted, out: Rows) -> None:
    meta = event.metadata
    out["lineage_intents"].append(
        (
            event.position,
            meta.intent_id,
            event.scene,
            event.branch,
            meta.studio,
            meta.actor,
            intent.kind,
            intent.summary,
            intent.text,
            to_micros(event.recorded_at),
        )
    )


def _started(event: RecordedEvent, started: ExecutionStarted, out: Rows) -> None:
    meta = event.metadata
    out["lineage_executions"].append(
        (
            event.position,
            started.execution,
            meta.intent_id,
            started.goal,
            event.scene,
            event.branch,
            meta.studio,
            meta.actor,
        )
    )


_ROWS: dict[type, Callable[[RecordedEvent, Any, Rows], None]] = {
    TaskPlanned: _planned,
    TaskSucceeded: _succeeded,
    ArtifactBound: _bound,
    IntentAccepted: _accepted,
    ExecutionStarted: _started,
}


async def artifacts_starting(
    read_models: ReadModelStore, start: str, studio: str | None = None, limit: int = 10
) -> list[str]:
    """Artifacts the lineage knows whose id starts with `start` (hex), at most `limit`."""
    upper = start + "g"  # past every hex id with this start
    found: set[str] = set()
    async with read_models.reading() as view:
        generation = await active_generation(view, LineageProjection.name)
        for table in ("lineage_outputs", "lineage_bindings"):
            rows = await view.find(
                table,
                generation,
                [("artifact", ">=", start), ("artifact", "<", upper)],
                order_by=["artifact"],
                limit=limit,
            )
            found.update(str(row["artifact"]) for row in rows)
    return sorted(found)[:limit]


async def trace_artifact(
    read_models: ReadModelStore, artifact: str, studio: str | None = None
) -> Lineage:
    """Where `artifact` came from, to the root intents; NotFound when nothing recorded
    it (in `studio`, when given)."""
    async with read_models.reading() as view:
        generation = await active_generation(view, LineageProjection.name)
        origin = await _Walk(view, generation, studio).artifact(artifact)
    if origin.made_by is None and not origin.bound_by:
        raise NotFound(f"no task made and no intent bound an artifact {artifact!r}")
    return summarise(origin)


class _Walk:
    """One lineage walk; remembers what it looked up, and expands each artifact once."""

    def __init__(self, read_models: ReadModelView, generation: int, studio: str | None):
        self._rm = read_models
        self._generation = generation
        self._studio = studio
        self._seen: set[str] = set()
        self._executions: dict[str, ExecutionOrigin | None] = {}
        self._intents: dict[str, IntentOrigin | None] = {}

    async def artifact(self, artifact: str, maker: str | None = None) -> ArtifactOrigin:
        """`maker`: the task known to have made it (an input's upstream task)."""
        if artifact in self._seen:
            return ArtifactOrigin(artifact, repeated=True)
        self._seen.add(artifact)
        made = await self._find("lineage_outputs", ("artifact", artifact))
        bound = [
            _binding(r, await self.intent(r["intent_id"]))
            for r in await self._find("lineage_bindings", ("artifact", artifact))
            if self._studio in (None, r["studio"])
        ]
        makers = list(dict.fromkeys([*([maker] if maker else []), *(r["task"] for r in made)]))
        outputs = {r["task"]: r for r in made}
        task = None
        for candidate in makers:
            task = await self.task(candidate, outputs.get(candidate))
            if task is not None:
                break
        others = [m for m in makers if task is None or m != task.task]
        return ArtifactOrigin(artifact, task, bound, others)

    async def task(self, task_id: str, output: Record | None) -> TaskOrigin | None:
        planned = await self._find("lineage_tasks", ("task", task_id))
        if not planned:
            return None
        row = planned[0]
        if self._studio is not None and row["studio"] != self._studio:
            return None
        fed = await self._find("lineage_inputs", ("task", task_id))
        inputs = [await self._input(r) for r in fed]
        return TaskOrigin(
            task=task_id,
            operation=row["operation"],
            model=row["model"],
            provider=row["provider"],
            lane=row["lane"],
            content_key=row["content_key"],
            params=_decode_params(row["params"]),
            description=row["description"],
            transform=row["transform"],
            scene=row["scene"],
            branch=row["branch"],
            execution=await self.execution(row["execution"]),
            inputs=inputs,
            worker=output["worker"] if output else None,
            attempt=output["attempt"] if output else None,
            run_time=output["run_time"] if output else None,
            cost=output["cost"] if output else None,
            finished_at=_moment(output["recorded_at"]) if output else None,
        )

    async def _input(self, row: Record) -> InputOrigin:
        upstream = row["input_task"]
        if upstream is None:
            artifact = row["input_artifact"]
            return InputOrigin(row["name"], artifact, await self.artifact(artifact))
        made = await self._find("lineage_outputs", ("task", upstream))
        if not made:  # recorded as planned, never as made: the walk still names the task
            task = await self.task(upstream, None)
            return InputOrigin(row["name"], None, None, task)
        artifact = made[-1]["artifact"]
        return InputOrigin(row["name"], artifact, await self.artifact(artifact, upstream))

    async def execution(self, execution_id: str) -> ExecutionOrigin | None:
        if execution_id not in self._executions:
            rows = await self._find("lineage_executions", ("execution", execution_id))
            found = None
            if rows:
                row = rows[0]
                intent = await self.intent(row["intent_id"])
                found = ExecutionOrigin(execution_id, row["goal"], row["actor"], intent)
            self._executions[execution_id] = found
        return self._executions[execution_id]

    async def intent(self, intent_id: str) -> IntentOrigin | None:
        if intent_id not in self._intents:
            rows = await self._find("lineage_intents", ("intent_id", intent_id))
            self._intents[intent_id] = _intent(rows[0]) if rows else None
        return self._intents[intent_id]

    async def _find(self, table: str, equals: tuple[str, str]) -> list[Record]:
        column, value = equals
        return await self._rm.find(table, self._generation, [(column, "=", value)], ("position",))


def _binding(row: Record, intent: IntentOrigin | None) -> Binding:
    return Binding(
        scene=row["scene"],
        branch=row["branch"],
        node=row["node"],
        slot=row["slot"],
        task=row["task"],
        studio=row["studio"],
        actor=row["actor"],
        intent_id=row["intent_id"],
        transform=row["transform"],
        bound_at=_moment(row["recorded_at"]),
        intent=intent,
    )


def _intent(row: Record) -> IntentOrigin:
    return IntentOrigin(
        intent_id=row["intent_id"],
        kind=row["kind"],
        summary=row["summary"],
        text=row["text"],
        actor=row["actor"],
        studio=row["studio"],
        scene=row["scene"],
        branch=row["branch"],
        accepted_at=_moment(row["recorded_at"]),
    )


def _moment(micros: int) -> datetime:
    return from_micros(micros)
