"""What a lineage walk answers: a tree from an artifact back to the intents that caused
it, and the models, providers, operations and transforms named anywhere in it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import msgspec


class IntentOrigin(msgspec.Struct, frozen=True, kw_only=True):
    intent_id: str
    kind: str
    summary: str
    text: str | None
    actor: str
    studio: str
    scene: str
    branch: str
    accepted_at: datetime


class ExecutionOrigin(msgspec.Struct, frozen=True):
    execution: str
    goal: str
    actor: str
    intent: IntentOrigin | None


class Binding(msgspec.Struct, frozen=True, kw_only=True):
    """An artifact put into a slot: by a task's result, or directly by an intent."""

    scene: str
    branch: str
    node: str
    slot: str
    task: str | None
    studio: str
    actor: str
    intent_id: str
    transform: str
    bound_at: datetime
    intent: IntentOrigin | None = None


class TaskOrigin(msgspec.Struct, frozen=True, kw_only=True):
    """The task that made an artifact. `operation` is the transform the task applied;
    `transform` is the planning step that planned it."""

    task: str
    operation: str
    model: str
    provider: str
    lane: str
    content_key: str
    params: dict[str, Any]
    description: str
    transform: str
    scene: str
    branch: str
    execution: ExecutionOrigin | None
    inputs: list[InputOrigin]
    worker: str | None = None
    attempt: int | None = None
    run_time: float | None = None
    cost: float | None = None
    finished_at: datetime | None = None


class InputOrigin(msgspec.Struct, frozen=True):
    """One input of a task: the artifact it was given and where that came from (or,
    for an upstream task with no recorded output, that task)."""

    name: str
    artifact: str | None
    source: ArtifactOrigin | None
    task: TaskOrigin | None = None


class ArtifactOrigin(msgspec.Struct, frozen=True):
    """`repeated`: already shown elsewhere in the same tree. `also_made_by`: other tasks
    that made the very same bytes (equal work, equal content)."""

    artifact: str
    made_by: TaskOrigin | None = None
    bound_by: list[Binding] = []
    also_made_by: list[str] = []
    repeated: bool = False


class Lineage(msgspec.Struct, frozen=True):
    origin: ArtifactOrigin
    models: list[str]
    providers: list[str]
    operations: list[str]
    transforms: list[str]
    actors: list[str]
    root_intents: list[IntentOrigin]


def summarise(origin: ArtifactOrigin) -> Lineage:
    """The tree, with every model, provider, operation, transform, actor and root intent
    named anywhere in it (sorted, each once)."""
    tasks = list(_tasks(origin))
    intents: dict[str, IntentOrigin] = {}
    for task in tasks:
        if task.execution is not None and task.execution.intent is not None:
            intents.setdefault(task.execution.intent.intent_id, task.execution.intent)
    for binding in _direct_bindings(origin):
        if binding.intent is not None:
            intents.setdefault(binding.intent.intent_id, binding.intent)
    actors = {i.actor for i in intents.values()}
    actors |= {t.execution.actor for t in tasks if t.execution is not None}
    return Lineage(
        origin=origin,
        models=sorted({t.model for t in tasks}),
        providers=sorted({t.provider for t in tasks}),
        operations=sorted({t.operation for t in tasks}),
        transforms=sorted({t.transform for t in tasks}),
        actors=sorted(actors),
        root_intents=sorted(intents.values(), key=lambda i: (i.accepted_at, i.intent_id)),
    )


def _tasks(origin: ArtifactOrigin | None) -> Iterator[TaskOrigin]:
    if origin is None or origin.made_by is None:
        return
    yield from _task_tree(origin.made_by)


def _task_tree(task: TaskOrigin) -> Iterator[TaskOrigin]:
    yield task
    for item in task.inputs:
        if item.task is not None:
            yield from _task_tree(item.task)
        yield from _tasks(item.source)


def _direct_bindings(origin: ArtifactOrigin | None) -> Iterator[Binding]:
    """Bindings by people of artifacts no task made: the leaves of the walk."""
    if origin is None:
        return
    if origin.made_by is None:
        yield from (b for b in origin.bound_by if b.task is None)
        return
    for item in origin.made_by.inputs:
        yield from _direct_bindings(item.source)
