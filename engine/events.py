"""The events of a scene stream: a msgspec tagged union, and the envelope around each one.

Payloads say what happened to the scene; the envelope says where it sits in the log
(stream, version, global position) and why it happened (studio, actor, intent,
execution, transform). Each payload type has a schema version (`SCHEMA_VERSIONS`);
stored events of older versions are upcast on read by `engine.codec`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeAlias

import msgspec

from engine.provenance import Binding, Prop, PropValue, Provenance
from engine.tasks import ExecutionStatus, TaskStatus


class Event(
    msgspec.Struct, frozen=True, gc=False, tag_field="type", tag=True, forbid_unknown_fields=True
):
    """Base of every event payload; the class name is the `type` tag."""


class SceneCreated(Event, frozen=True):
    title: str
    root: str = "root"


class NodeAdded(Event, frozen=True):
    node: str
    kind: str
    parent: str
    order: str
    props: dict[str, PropValue] = {}


class NodeRemoved(Event, frozen=True):
    node: str


class NodeMoved(Event, frozen=True):
    node: str
    parent: str
    order: str


class PropertySet(Event, frozen=True):
    node: str
    prop: str
    value: PropValue


class ArtifactBound(Event, frozen=True):
    """An artifact put into a node's slot; `task` names the task that made it, if any."""

    node: str
    slot: str
    artifact: str
    task: str | None = None


class ArtifactUnbound(Event, frozen=True):
    node: str
    slot: str
    artifact: str


class IntentAccepted(Event, frozen=True):
    """The record of what was asked, kept so audits can quote the request itself."""

    kind: str
    summary: str
    text: str | None = None
    audio: str | None = None


class RegenerationRequested(Event, frozen=True):
    node: str


class BranchForked(Event, frozen=True):
    """The first event of every branch but `main`: the state it starts from."""

    parent: str
    parent_version: int


class NodeImage(msgspec.Struct, frozen=True, gc=False):
    """A whole node as a merge resolved it, each value with the provenance it came with."""

    id: str
    kind: str
    parent: str | None
    order: str
    created: Provenance
    placed: Provenance
    props: dict[str, Prop] = {}
    slots: dict[str, list[Binding]] = {}


class MergeApplied(Event, frozen=True):
    """A three-way merge of `source` into this branch: the nodes it changed or removed.

    `kept` names the nodes where this branch's result differs from the source's state,
    so that a later merge from this branch can find what it changed since.
    """

    source: str
    source_version: int
    base_branch: str
    base_version: int
    upserts: list[NodeImage] = []
    removals: list[str] = []
    kept: list[str] = []
    includes: dict[str, int] = {}


class ConflictSide(msgspec.Struct, frozen=True, gc=False):
    """One side of a conflict: absent (deleted or never there), a prop value, a placement
    (`value` is the parent id, `order` the order key) or a whole node."""

    present: bool
    value: PropValue = None
    order: str | None = None
    provenance: Provenance | None = None
    node: NodeImage | None = None


class ConflictRecorded(Event, frozen=True):
    """A change both sides made differently; `field` is `node`, `parent`, `order` or
    `prop:NAME`. Ours is what this branch kept; theirs is the source's."""

    conflict: str
    node: str
    field: str
    source: str
    base: ConflictSide
    ours: ConflictSide
    theirs: ConflictSide


class ConflictResolved(Event, frozen=True):
    """A conflict closed; the state change that carries out the choice follows it."""

    conflict: str
    choice: str


class NodeRestored(Event, frozen=True):
    """A node brought back whole, as a conflict resolution chose the side that kept it."""

    image: NodeImage


class TaskInput(msgspec.Struct, frozen=True, array_like=True, gc=False):
    """An input of a planned task: the output of another task of the plan, or an
    artifact that already exists (a cached result reused as is)."""

    name: str
    task: str | None = None
    artifact: str | None = None
    content_key: str = ""


class TaskTarget(msgspec.Struct, frozen=True, array_like=True, gc=False):
    node: str
    slot: str


class ExecutionStarted(Event, frozen=True):
    """An intent set work in motion: `planned` tasks will run, `reused` were cached.
    `bound` are the nodes the intent targeted (binding), `goal` the fidelity of the
    output surface it affects."""

    execution: str
    goal: str
    planned: int = 0
    reused: int = 0
    bound: list[str] = []


class TaskPlanned(Event, frozen=True):
    """One task of an execution plan; its `content_key` names the work, not the node."""

    task: str
    execution: str
    operation: str
    model: str
    provider: str
    lane: str
    content_key: str
    params: dict[str, Any] = {}
    inputs: list[TaskInput] = []
    targets: list[TaskTarget] = []
    description: str = ""


class TaskDispatched(Event, frozen=True):
    task: str
    attempt: int


class TaskStarted(Event, frozen=True):
    task: str
    attempt: int
    worker: str = ""
    queue_wait: float = 0.0


class TaskSucceeded(Event, frozen=True):
    task: str
    attempt: int
    artifact: str | None = None
    outputs: dict[str, Any] = {}
    run_time: float = 0.0
    queue_wait: float = 0.0
    cost: float = 0.0
    deliveries: int = 1
    worker: str = ""


class TaskFailed(Event, frozen=True):
    task: str
    attempt: int
    error_kind: str
    message: str
    deliveries: int = 1
    run_time: float = 0.0
    worker: str = ""


class TaskBlocked(Event, frozen=True):
    """A task that cannot run because `cause` (a task it depends on) failed."""

    task: str
    cause: str
    reason: str


class TaskCanceled(Event, frozen=True):
    task: str
    reason: str = ""
    attempt: int = 0  # the attempt canceled; 0 in events written before it was recorded


class TaskRetryRequested(Event, frozen=True):
    """Run a failed, blocked or canceled task again in place, as a new attempt."""

    task: str
    attempt: int


class ExecutionFinished(Event, frozen=True):
    """Every task of the execution has finished; it leaves the scene's state (its
    record stays where executions are queried, `engine.ports.ExecutionArchive`)."""

    execution: str
    status: ExecutionStatus


class TaskImage(msgspec.Struct, frozen=True, gc=False, kw_only=True):
    """A whole task as it stood when its execution finished."""

    id: str
    execution: str
    operation: str
    model: str
    provider: str
    lane: str
    content_key: str
    planned: Provenance
    params: dict[str, Any] = {}
    inputs: list[TaskInput] = []
    targets: list[TaskTarget] = []
    description: str = ""
    status: TaskStatus = TaskStatus.PLANNED
    attempt: int = 1
    dispatched: int = 0
    artifact: str | None = None
    outputs: dict[str, Any] = {}
    error_kind: str | None = None
    error: str | None = None
    cause: str | None = None
    deliveries: int = 0
    queue_wait: float = 0.0
    run_time: float = 0.0
    cost: float = 0.0
    worker: str = ""


class ExecutionImage(msgspec.Struct, frozen=True, gc=False, kw_only=True):
    """A whole finished execution with its tasks, as it stood when it finished."""

    id: str
    intent_id: str
    goal: str
    started: Provenance
    status: ExecutionStatus
    planned: int = 0
    reused: int = 0
    bound: list[str] = []
    tasks: list[TaskImage] = []


class ExecutionResumed(Event, frozen=True):
    """A finished execution comes back into the scene's state as it finished, because a
    task of it is retried (the `TaskRetryRequested` events follow)."""

    image: ExecutionImage


AnyEvent: TypeAlias = (
    SceneCreated
    | NodeAdded
    | NodeRemoved
    | NodeMoved
    | PropertySet
    | ArtifactBound
    | ArtifactUnbound
    | IntentAccepted
    | RegenerationRequested
    | BranchForked
    | MergeApplied
    | ConflictRecorded
    | ConflictResolved
    | NodeRestored
    | ExecutionStarted
    | TaskPlanned
    | TaskDispatched
    | TaskStarted
    | TaskSucceeded
    | TaskFailed
    | TaskBlocked
    | TaskCanceled
    | TaskRetryRequested
    | ExecutionFinished
    | ExecutionResumed
)

EVENT_TYPES: dict[str, type[Event]] = {
    cls.__name__: cls
    for cls in (
        SceneCreated,
        NodeAdded,
        NodeRemoved,
        NodeMoved,
        PropertySet,
        ArtifactBound,
        ArtifactUnbound,
        IntentAccepted,
        RegenerationRequested,
        BranchForked,
        MergeApplied,
        ConflictRecorded,
        ConflictResolved,
        NodeRestored,
        ExecutionStarted,
        TaskPlanned,
        TaskDispatched,
        TaskStarted,
        TaskSucceeded,
        TaskFailed,
        TaskBlocked,
        TaskCanceled,
        TaskRetryRequested,
        ExecutionFinished,
        ExecutionResumed,
    )
}

# The current schema version of each payload type; a type not listed is at version 1.
# NodeAdded v1 placed a node by integer `index` among its siblings; v2 uses a
# fractional `order` key so that concurrent branches can insert without renumbering.
SCHEMA_VERSIONS: dict[str, int] = {"NodeAdded": 2}


def schema_version(event_type: str) -> int:
    return SCHEMA_VERSIONS.get(event_type, 1)


class EventMetadata(msgspec.Struct, frozen=True, gc=False, omit_defaults=True):
    """Why an event happened: the causation and correlation of every change."""

    studio: str
    actor: str
    intent_id: str
    execution_id: str
    transform: str
    transform_version: int
    idempotency_key: str | None = None


class NewEvent(msgspec.Struct, frozen=True, gc=False):
    """An event decided but not yet appended."""

    event_id: str
    payload: AnyEvent
    metadata: EventMetadata
    recorded_at: datetime


class RecordedEvent(msgspec.Struct, frozen=True, gc=False):
    """An event as the store holds it.

    `position` is the global position; on PostgreSQL it is assigned by the
    sequencer shortly after commit and is None until then (see adapters.store).
    """

    event_id: str
    scene: str
    branch: str
    version: int
    position: int | None
    recorded_at: datetime
    metadata: EventMetadata
    payload: AnyEvent
