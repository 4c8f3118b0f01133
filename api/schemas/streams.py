"""What a live stream carries: one message per event, its id the event's global
position, its `event` name one of scene, task, execution or result; the data is the
event with its provenance, the progress of its execution (for execution events) and,
for a result, the artifact it made (a preview proxy, a first frame, a clip)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import msgspec

from engine.events import (
    ExecutionFinished,
    ExecutionResumed,
    ExecutionStarted,
    RecordedEvent,
    TaskSucceeded,
)
from engine.progress import progress_of
from engine.scene import SceneState
from engine.tasks import TaskStatus
from projections.timeline import timeline_of

SCENE, TASK, EXECUTION, RESULT = "scene", "task", "execution", "result"
_TASK_EVENTS = frozenset(
    {
        "TaskPlanned",
        "TaskDispatched",
        "TaskStarted",
        "TaskSucceeded",
        "TaskFailed",
        "TaskBlocked",
        "TaskCanceled",
        "TaskRetryRequested",
    }
)


@dataclass(eq=False, slots=True)
class Message:
    """One event as clients see it; `kind` is the SSE event name."""

    position: int
    kind: str
    scene: str
    branch: str
    execution: str | None
    data: dict[str, Any]
    state: SceneState
    frames: dict[bool, bytes] = field(default_factory=dict)

    def payload(self, view: bool) -> dict[str, Any]:
        if not view:
            return self.data
        timeline = timeline_of(self.state, self.position)
        return {**self.data, "view": msgspec.to_builtins(timeline)}

    def sse(self, view: bool) -> bytes:
        frame = self.frames.get(view)
        if frame is None:
            body = msgspec.json.encode(self.payload(view)).decode()
            frame = f"id: {self.position}\nevent: {self.kind}\ndata: {body}\n\n".encode()
            self.frames[view] = frame
        return frame

    def json(self, view: bool) -> bytes:
        return msgspec.json.encode(
            {"id": self.position, "event": self.kind, "data": self.payload(view)}
        )


def execution_of(event: RecordedEvent, state: SceneState) -> str | None:
    """The execution an event belongs to: named in it, through its task, or by the
    correlation id of the intent that caused it."""
    payload: Any = event.payload
    if isinstance(payload, ExecutionResumed):
        return payload.image.id
    execution = getattr(payload, "execution", None)
    if isinstance(execution, str):
        return execution
    task_id = getattr(payload, "task", None)
    if isinstance(task_id, str):
        task = state.tasks.get(task_id)
        if task is not None:
            return task.execution
    return event.metadata.execution_id or None


def narrate(event: RecordedEvent, state: SceneState, before: SceneState | None = None) -> Message:
    """The message for `event`, given the branch's state just after it (and, for an
    `ExecutionFinished`, the one just before it: the execution leaves the state)."""
    assert event.position is not None  # only sequenced events are streamed
    payload: Any = event.payload
    name = type(payload).__name__
    execution = execution_of(event, state)
    data: dict[str, Any] = {
        "position": event.position,
        "scene": event.scene,
        "branch": event.branch,
        "version": event.version,
        "type": name,
        "recorded_at": event.recorded_at.isoformat(),
        "actor": event.metadata.actor,
        "intent_id": event.metadata.intent_id or None,
        "execution_id": execution,
        "payload": msgspec.to_builtins(payload),
    }
    kind = SCENE
    if isinstance(payload, ExecutionStarted | ExecutionFinished | ExecutionResumed):
        kind = EXECUTION
    elif name in _TASK_EVENTS:
        kind = TASK
    if isinstance(payload, TaskSucceeded) and payload.artifact:
        kind = RESULT
        data["artifact"] = _result(payload, state, execution)
    if kind != SCENE and execution is not None:
        progress = progress_of(state, execution)
        if progress is None and before is not None and isinstance(payload, ExecutionFinished):
            last = progress_of(before, execution)
            progress = (
                None if last is None else msgspec.structs.replace(last, status=payload.status)
            )
        if progress is not None:
            data["progress"] = {
                "execution": progress.execution,
                "status": progress.status,
                "total": progress.total,
                "done": progress.done,
                "reused": progress.reused,
                "by_status": progress.by_status,
                "now": progress.now,
            }
    return Message(event.position, kind, event.scene, event.branch, execution, data, state)


def _result(payload: TaskSucceeded, state: SceneState, execution: str | None) -> dict[str, Any]:
    assert payload.artifact is not None
    task = state.tasks.get(payload.task)
    made = 0
    if execution is not None and (run := state.executions.get(execution)) is not None:
        made = sum(
            1
            for t in run.tasks
            if state.tasks[t].status == TaskStatus.SUCCEEDED and state.tasks[t].artifact
        )
    return {
        "id": payload.artifact,
        "url": f"/artifacts/{payload.artifact}/content",
        "task": payload.task,
        "operation": task.operation if task else None,
        "lane": task.lane if task else None,
        "targets": [{"node": t.node, "slot": t.slot} for t in (task.targets if task else ())],
        "first": made == 1,
    }
