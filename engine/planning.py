"""Stage 3, planning: a scene becomes a DAG of generation tasks with content keys.

A task's content key is a Merkle hash of its operation, model, provider, sorted
parameters and the content keys of its inputs (never node ids), so equal work
has equal keys across scenes, runs and restarts. Work whose key already has an
artifact is reused instead of run, so after an edit only the tasks whose keys
changed run: re-execution is proportional to the change.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

import msgspec

from engine.events import (
    AnyEvent,
    ArtifactBound,
    ExecutionFinished,
    ExecutionStarted,
    TaskInput,
    TaskPlanned,
    TaskTarget,
)
from engine.executions import FINISHED
from engine.scene import SceneState
from engine.tasks import ExecutionStatus, Lane

_canonical = msgspec.json.Encoder(order="sorted")


class Work(msgspec.Struct, frozen=True, gc=False):
    """One step of a plan before it has a task id; `key` names it inside the plan and
    `inputs` maps an input name to the key of the work that produces it."""

    key: str
    operation: str
    model: str
    provider: str
    lane: Lane
    params: dict[str, Any] = {}
    inputs: dict[str, str] = {}
    targets: tuple[TaskTarget, ...] = ()
    description: str = ""


class CachedWork(msgspec.Struct, frozen=True, gc=False):
    """An artifact some earlier task made for a content key."""

    artifact: str
    task: str


def content_key(work: Work, input_keys: Mapping[str, str]) -> str:
    payload = {
        "operation": work.operation,
        "model": work.model,
        "provider": work.provider,
        "params": work.params,
        "inputs": dict(input_keys),
    }
    return hashlib.sha256(_canonical.encode(payload)).hexdigest()


def content_keys(works: Sequence[Work]) -> dict[str, str]:
    """Content key of every work, by its plan key; `works` are in dependency order."""
    keys: dict[str, str] = {}
    for work in works:
        keys[work.key] = content_key(work, {name: keys[dep] for name, dep in work.inputs.items()})
    return keys


def task_id(execution: str, key: str) -> str:
    return "t-" + hashlib.sha256(f"{execution}|{key}".encode()).hexdigest()[:16]


class Plan(msgspec.Struct, frozen=True, gc=False):
    """What an execution will run, what it reuses, and the events that record it."""

    events: tuple[AnyEvent, ...]
    planned: int
    reused: int
    keys: dict[str, str]


def plan_execution(
    state: SceneState,
    works: Sequence[Work],
    cache: Mapping[str, CachedWork],
    execution: str,
    goal: str,
    bound: Sequence[str] = (),
) -> Plan:
    """The events that start `execution`: a task for each work the goal needs whose key
    has no artifact yet (nor a task already under way), in dependency order."""
    keys = content_keys(works)
    by_key = {w.key: w for w in works}
    in_flight = _in_flight(state)
    needed, reused = _needed(works, keys, cache, in_flight)
    ids = {k: task_id(execution, k) for k in needed}
    events: list[AnyEvent] = [
        ExecutionStarted(
            execution, goal, planned=len(needed), reused=len(reused), bound=list(bound)
        )
    ]
    for work in works:
        if work.key in needed:
            inputs = [
                _input(name, dep, keys[dep], ids, cache, in_flight)
                for name, dep in work.inputs.items()
            ]
            events.append(_planned(work, ids[work.key], execution, keys[work.key], inputs))
    for key in sorted(reused):
        events.extend(_bind_reused(state, by_key[key], cache.get(keys[key])))
    if not needed:
        events.append(ExecutionFinished(execution, ExecutionStatus.SUCCEEDED))
    return Plan(tuple(events), len(needed), len(reused), keys)


def _needed(
    works: Sequence[Work],
    keys: Mapping[str, str],
    cache: Mapping[str, CachedWork],
    in_flight: Mapping[str, str],
) -> tuple[set[str], set[str]]:
    """Walk back from the goals (works nothing else takes as input): cached or in-flight
    work is reused and its inputs are not needed; everything else is needed."""
    by_key = {w.key: w for w in works}
    used = {dep for w in works for dep in w.inputs.values()}
    needed: set[str] = set()
    reused: set[str] = set()
    stack = [w.key for w in works if w.key not in used]
    while stack:
        key = stack.pop()
        if key in needed or key in reused:
            continue
        if keys[key] in cache or keys[key] in in_flight:
            reused.add(key)
            continue
        needed.add(key)
        stack.extend(by_key[key].inputs.values())
    return needed, reused


def _in_flight(state: SceneState) -> dict[str, str]:
    """Content key -> id of a task already planned for it and not finished."""
    return {
        task.content_key: task.id for task in state.tasks.values() if task.status not in FINISHED
    }


def _input(
    name: str,
    dep: str,
    key: str,
    ids: Mapping[str, str],
    cache: Mapping[str, CachedWork],
    in_flight: Mapping[str, str],
) -> TaskInput:
    if dep in ids:
        return TaskInput(name, task=ids[dep], content_key=key)
    cached = cache.get(key)
    if cached is not None:
        return TaskInput(name, artifact=cached.artifact, content_key=key)
    return TaskInput(name, task=in_flight[key], content_key=key)


def _planned(
    work: Work, task: str, execution: str, key: str, inputs: list[TaskInput]
) -> TaskPlanned:
    return TaskPlanned(
        task=task,
        execution=execution,
        operation=work.operation,
        model=work.model,
        provider=work.provider,
        lane=str(work.lane),
        content_key=key,
        params=work.params,
        inputs=inputs,
        targets=list(work.targets),
        description=work.description,
    )


def _bind_reused(state: SceneState, work: Work, cached: CachedWork | None) -> list[AnyEvent]:
    if cached is None:
        return []  # in flight: its own result will bind it
    events: list[AnyEvent] = []
    for target in work.targets:
        node = state.nodes.get(target.node)
        if node is not None and node.artifact(target.slot) != cached.artifact:
            events.append(ArtifactBound(target.node, target.slot, cached.artifact, cached.task))
    return events
