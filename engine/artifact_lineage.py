"""What made an artifact, from one scene's state: the task that produced it, the tasks
that produced that task's inputs, and so on back to the intents that asked for them.

Each step names its operation, model, provider and the execution and intent that
planned it; the props of the nodes a task wrote to say which intents and
transforms chose its parameters (a shot's prompt, say). The SQL read model in
`projections/` answers the same question across scenes; this one needs only a
loaded state, which is what the demo and the API's scene views have at hand.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import msgspec

from engine.executions import TaskState
from engine.provenance import Provenance
from engine.scene import SceneState
from engine.tasks import TaskStatus


class MadeBy(msgspec.Struct, frozen=True):
    """One artifact and the task that made it, with the lineage of its inputs."""

    artifact: str
    task: TaskState
    intent_id: str
    actor: str
    transform: str
    chosen_by: tuple[Provenance, ...]  # who set the props of the nodes it was made for
    inputs: tuple[tuple[str, MadeBy], ...] = ()

    def walk(self) -> Iterator[MadeBy]:
        """This step and every step upstream of it, each once, nearest first."""
        seen: set[str] = set()
        stack: list[MadeBy] = [self]
        while stack:
            step = stack.pop(0)
            if step.artifact in seen:
                continue
            seen.add(step.artifact)
            yield step
            stack.extend(made for _, made in step.inputs)


class LineageSummary(msgspec.Struct, frozen=True):
    intents: list[str]
    actors: list[str]
    models: list[str]  # "provider/model" for generation; media operations under "local/media"
    operations: list[str]
    transforms: list[str]


def lineage_of(state: SceneState, artifact: str) -> MadeBy | None:
    """The lineage of `artifact`, or None when no task of this scene made it."""
    makers = _makers(state)
    return _made_by(state, artifact, makers, set())


def summarise(made: MadeBy) -> LineageSummary:
    steps = list(made.walk())
    setters = [p for step in steps for p in step.chosen_by]
    return LineageSummary(
        intents=_ordered([s.intent_id for s in steps] + [p.intent_id for p in setters]),
        actors=_ordered([s.actor for s in steps] + [p.actor for p in setters]),
        models=_ordered(f"{s.task.provider}/{s.task.model}" for s in steps),
        operations=_ordered(s.task.operation for s in steps),
        transforms=_ordered([s.transform for s in steps] + [p.transform for p in setters]),
    )


def _makers(state: SceneState) -> dict[str, TaskState]:
    """Artifact -> the first task that made it (the one whose work later tasks reused)."""
    makers: dict[str, TaskState] = {}
    for task in state.tasks.values():
        if task.status == TaskStatus.SUCCEEDED and task.artifact is not None:
            makers.setdefault(task.artifact, task)
    return makers


def _made_by(
    state: SceneState, artifact: str, makers: dict[str, TaskState], visiting: set[str]
) -> MadeBy | None:
    task = makers.get(artifact)
    if task is None or artifact in visiting:
        return None
    visiting = visiting | {artifact}
    inputs = []
    for entry in task.inputs:
        source = entry.artifact or _artifact_of(state, entry.task)
        upstream = _made_by(state, source, makers, visiting) if source else None
        if upstream is not None:
            inputs.append((entry.name, upstream))
    return MadeBy(
        artifact=artifact,
        task=task,
        intent_id=task.planned.intent_id,
        actor=task.planned.actor,
        transform=f"{task.planned.transform}@{task.planned.transform_version}",
        chosen_by=_chosen_by(state, task),
        inputs=tuple(inputs),
    )


def _artifact_of(state: SceneState, task_id: str | None) -> str | None:
    task = state.tasks.get(task_id) if task_id is not None else None
    return task.artifact if task is not None else None


def _chosen_by(state: SceneState, task: TaskState) -> tuple[Provenance, ...]:
    found: list[Provenance] = []
    for target in task.targets:
        node = state.nodes.get(target.node)
        if node is not None:
            found.append(node.created)
            found.extend(prop.provenance for prop in node.props.values())
    return tuple(dict.fromkeys(found))


def _ordered(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(v for v in values if v))
