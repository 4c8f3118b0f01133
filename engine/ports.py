"""What the engine needs from the outside world, as protocols that adapters implement.

The engine never imports an adapter; `api.bootstrap` builds adapters from
configuration and hands them to `engine.service.SceneService`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Collection, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Literal, NamedTuple, Protocol

import msgspec

from engine.events import NewEvent, RecordedEvent
from engine.executions import ExecutionRecord, ExecutionState, TaskState
from engine.models import ModelChoice, ModelChoices
from engine.planning import CachedWork
from engine.scene import SceneState
from engine.tasks import Cancellation, Lane, TaskMessage, TaskResult, WorkerPresence
from engine.tenancy import (
    ApiKey,
    DeliveryAttempt,
    DeliveryOutcome,
    IdempotencyRecord,
    Studio,
    Webhook,
    WebhookDelivery,
)


class StreamId(msgspec.Struct, frozen=True, order=True):
    """One branch of one scene: the unit of optimistic concurrency."""

    scene: str
    branch: str = "main"

    def __str__(self) -> str:
        return f"{self.scene}@{self.branch}"


class AppendResult(msgspec.Struct, frozen=True):
    """Where an append landed. `duplicate` is true when an idempotency key repeated
    and nothing new was written; the versions are then those of the first append.
    Positions are None on stores that assign them after commit (PostgreSQL)."""

    scene: str
    branch: str
    first_version: int
    last_version: int
    first_position: int | None = None
    last_position: int | None = None
    duplicate: bool = False


class AppendRun(NamedTuple):
    """One intent's events in an `EventStore.append_runs`, under the key that records
    that intent's append (its own first and last version), as `append` records one."""

    events: Sequence[NewEvent]
    idempotency_key: str


class StoredSnapshot(msgspec.Struct, frozen=True):
    scene: str
    branch: str
    version: int
    schema: int
    data: bytes


class EventStore(Protocol):
    """An append-only log of scene streams with one global order.

    Contract (held by tests/adapters/store_contract.py on every adapter):
    - `append` is atomic; it raises ConcurrencyConflict unless the stream's head is
      `expected_version`; a repeated `idempotency_key` returns the first result and
      writes nothing; an event over the size limit raises PayloadTooLarge and nothing
      is written.
    - `read_all` and `subscribe` deliver every committed event exactly once in global
      position order, with no gaps and no skips, however many writers commit at once.
    - reading an event no decoder knows raises UnknownEventType naming its position.
    - `append_runs` appends several keyed runs to one stream at once, all or nothing
      (tests/adapters/store_contract_runs.py).
    """

    async def append(
        self,
        stream: StreamId,
        events: Sequence[NewEvent],
        expected_version: int,
        idempotency_key: str | None = None,
    ) -> AppendResult: ...

    async def append_runs(
        self, stream: StreamId, runs: Sequence[AppendRun], expected_version: int
    ) -> list[AppendResult]:
        """Append several runs of events to one stream in one atomic write, one after
        the other from `expected_version` + 1, each recorded under its own key: one
        result per run, in order, holding that run's versions (and positions where the
        store knows them), so `find_append(run's key)` later returns the same.

        All or nothing: ConcurrencyConflict unless the stream's head is
        `expected_version`; KeysUsed (naming them) when a run's key was used before or
        repeats in `runs`, so that the caller appends those runs one at a time and
        hears about each key as `append` says; ValueError for no runs or an empty run;
        PayloadTooLarge as `append`. In every such case nothing is written."""
        ...

    async def find_append(self, idempotency_key: str) -> AppendResult | None: ...

    async def head_version(self, stream: StreamId) -> int: ...

    async def read_stream(
        self, stream: StreamId, after_version: int = 0, up_to_version: int | None = None
    ) -> list[RecordedEvent]: ...

    async def head_position(self) -> int: ...

    async def read_all(self, after_position: int, limit: int = 1000) -> list[RecordedEvent]: ...

    def subscribe(
        self, after_position: int, batch_size: int = 1000
    ) -> AsyncIterator[RecordedEvent]: ...

    def follow(
        self, after_position: int, batch_size: int = 1000
    ) -> AsyncIterator[list[RecordedEvent]]:
        """The log after `after_position` in batches of whatever has arrived (at most
        `batch_size` events): a follower catches up fast, then keeps pace live."""
        ...

    async def positions_of(
        self, stream: StreamId, first_version: int, last_version: int
    ) -> tuple[int, int]:
        """The global positions of two versions of a stream, numbering them now on a
        store that numbers events after commit; StoreError if they have none."""
        ...

    async def save_snapshot(self, snapshot: StoredSnapshot) -> None: ...

    async def load_snapshot(
        self, stream: StreamId, up_to_version: int | None = None
    ) -> StoredSnapshot | None: ...

    async def prune_snapshots(self, stream: StreamId, keep: int) -> None:
        """Delete all but the newest `keep` snapshots of a stream."""
        ...

    async def list_scenes(self, studio: str | None = None) -> list[str]: ...

    async def list_branches(self, scene: str) -> list[str]:
        """Branches of `scene` that hold at least one event, sorted by name."""
        ...

    async def load_checkpoint(self, name: str) -> int:
        """The position the log follower `name` has processed (0 when none)."""
        ...

    async def save_checkpoint(self, name: str, position: int) -> None: ...

    async def close(self) -> None: ...


class SnapshotWriter(Protocol):
    """Saves scene states as snapshots off the caller's path (`adapters.snapshotter`),
    keeping only the newest few of each stream."""

    def snapshot_due(self, state: SceneState) -> None:
        """Save `state` as its stream's snapshot soon; returns at once."""
        ...


IdKind = Literal["execution", "task"]


class ExecutionArchive(Protocol):
    """Finished executions, which scene state no longer holds, each as it finished (with
    its tasks), found for a branch as its state would have held them: its own and its
    ancestors' up to each fork point, as of version `up_to` of the branch. State stays
    the truth for what it holds: an execution the state has (running, or resumed by a
    retry) is the state's, whatever is archived under its id.

    Adapters: `engine.archive.LogArchive` (folds the log: exact, costs the branch's
    history) and `projections.executions.ExecutionsReadModel` (the read model)."""

    async def execution(
        self, stream: StreamId, execution_id: str, up_to: int
    ) -> ExecutionRecord | None: ...

    async def holding(self, stream: StreamId, task_id: str, up_to: int) -> ExecutionRecord | None:
        """The finished execution that holds task `task_id`."""
        ...

    async def blocked_by(self, stream: StreamId, task_id: str, up_to: int) -> list[ExecutionRecord]:
        """Finished executions holding a task blocked by task `task_id`."""
        ...

    async def executions(self, stream: StreamId, up_to: int) -> list[ExecutionRecord]:
        """Every finished execution, oldest first (by the version that started it)."""
        ...

    async def tasks_for(
        self, stream: StreamId, content_keys: Collection[str], up_to: int
    ) -> list[TaskState]:
        """The tasks of finished executions that worked on any of `content_keys`."""
        ...

    async def newest(self, stream: StreamId, goal: str, up_to: int) -> ExecutionState | None:
        """The finished execution of `goal` started last."""
        ...

    async def ids_starting(
        self, stream: StreamId, kind: IdKind, start: str, up_to: int, limit: int
    ) -> list[str]:
        """Ids of finished executions (or of their tasks) that start with `start`, in
        order, at most `limit`: how a pasted prefix is made whole."""
        ...


class TaskDelivery(Protocol):
    """One delivery of a task to a worker. Exactly one of ack, nak or term ends it;
    a delivery left unacknowledged past the bus's ack wait is delivered again."""

    task: TaskMessage
    delivery_count: int  # 1 on the first delivery

    async def ack(self) -> None: ...

    async def nak(self, delay: float = 0.0) -> None:
        """Deliver it again after `delay` seconds (a transient error)."""
        ...

    async def term(self) -> None:
        """Never deliver it again (a permanent error, or the task was cancelled)."""
        ...

    async def in_progress(self) -> None:
        """Still working: restart the ack-wait clock (long tasks send this often)."""
        ...


class ResultDelivery(Protocol):
    result: TaskResult

    async def ack(self) -> None: ...


class TaskBus(Protocol):
    """Carries tasks to workers and results back.

    Contract (held by tests/adapters/bus_contract.py on every adapter):
    - a task published twice with the same `message_id` is delivered once;
    - each task is delivered to one worker at a time, lanes in the order asked
      for, and inside a lane higher `tier` first;
    - nak redelivers after the delay; term never redelivers; an unacknowledged
      delivery is redelivered after the ack wait; after `max_deliver` deliveries
      the bus publishes a FAILED result (ErrorKind.LOST) for it: a dead letter
      no one can lose;
    - results are delivered until acknowledged; cancellations reach every worker
      that is listening.
    """

    async def publish_task(self, task: TaskMessage) -> None: ...

    def tasks(
        self, lanes: Sequence[Lane], capacity: Callable[[], int] | None = None
    ) -> AsyncIterator[TaskDelivery]:
        """Deliveries from `lanes`. `capacity()`, when given, says how many deliveries
        the caller can start right now (a worker's free slots): a bus may fetch that
        many at once, and never holds more for the caller than it can start."""
        ...

    async def publish_result(self, result: TaskResult) -> None: ...

    def results(self) -> AsyncIterator[ResultDelivery]: ...

    async def cancel(self, cancellation: Cancellation) -> None: ...

    def cancellations(self) -> AsyncIterator[Cancellation]: ...

    async def queue_depth(self) -> dict[Lane, int]: ...

    async def announce(self, presence: WorkerPresence) -> None:
        """Say that a worker is there and which lanes it serves (workers repeat it)."""
        ...

    async def workers(self) -> list[WorkerPresence]:
        """The workers that announced themselves lately, whatever process they run in."""
        ...

    async def close(self) -> None: ...


class WorkCache(Protocol):
    """Content key -> the artifact some task made for it, per studio, across scenes,
    runs and restarts. Losing an entry only means the work runs again."""

    async def find_work(self, studio: str, keys: Collection[str]) -> dict[str, CachedWork]: ...

    async def remember_work(self, studio: str, works: Mapping[str, CachedWork]) -> None:
        """Remember the artifacts made for content keys (one write for them all); for
        a key already known, the first one recorded stays."""
        ...


class StudioModels(Protocol):
    """Which model and provider each studio wants per kind of work (`engine.models`)."""

    async def model_choices(self, studio: str) -> ModelChoices:
        """The studio's choices; kinds it has not chosen are the local models."""
        ...


class TenancyStore(Protocol):
    """Studios, API keys, which scenes and artifacts belong to which studio, and
    webhooks with their deliveries (`engine.tenancy`).

    Contract (held by tests/adapters/tenancy_contract.py on every adapter):
    - a studio id, a key id, a webhook id and a scene claim are each written once;
      the first writer wins and a second write changes nothing;
    - at most one delivery per webhook and event position, however often it is added;
    - a due delivery is leased to one caller of `claim_due` at a time.
    """

    async def create_studio(self, studio: Studio) -> bool:
        """False, writing nothing, when a studio with this id exists already."""
        ...

    async def studio(self, studio_id: str) -> Studio | None: ...

    async def list_studios(self) -> list[Studio]: ...

    async def create_key(self, key: ApiKey) -> None: ...

    async def key(self, key_id: str) -> ApiKey | None: ...

    async def list_keys(self, studio: str) -> list[ApiKey]: ...

    async def revoke_key(self, studio: str, key_id: str, now: int) -> bool:
        """False when the studio has no such key, or it was revoked already."""
        ...

    async def revoked_since(self, since: int) -> list[ApiKey]:
        """Keys revoked at or after `since` (any process may have revoked them)."""
        ...

    async def scene_owner(self, scene: str) -> str | None:
        """The studio a scene belongs to: its claim, or else (scenes made outside the
        API) the one studio of its events; None for a scene no one has."""
        ...

    async def claim_scene(self, scene: str, studio: str, now: int) -> str:
        """Claim a scene id for `studio` unless someone holds it; returns the owner."""
        ...

    async def release_scene(self, scene: str, studio: str, claimed_at: int) -> bool:
        """Undo the claim `studio` made at `claimed_at`, unless the scene has events
        by now (a refused request leaves no claim behind); True if it was undone."""
        ...

    async def list_scenes(self, studio: str) -> list[str]: ...

    async def grant_artifacts(self, grants: Iterable[tuple[str, str]]) -> int:
        """Let each (studio, artifact) pair's studio read the artifact; returns how
        many grants are new."""
        ...

    async def has_artifact(self, studio: str, artifact: str) -> bool: ...

    async def artifacts_starting(self, studio: str, start: str, limit: int = 10) -> list[str]:
        """The studio's artifacts whose id starts with `start`, at most `limit`."""
        ...

    async def create_webhook(self, webhook: Webhook) -> None: ...

    async def webhook(self, studio: str, webhook_id: str) -> Webhook | None:
        """A live (not deleted) webhook of the studio."""
        ...

    async def list_webhooks(self, studio: str | None = None) -> list[Webhook]:
        """Live webhooks of `studio` (of every studio when None), oldest first."""
        ...

    async def delete_webhook(self, studio: str, webhook_id: str, now: int) -> bool: ...

    async def add_deliveries(self, deliveries: Sequence[WebhookDelivery]) -> int:
        """Record deliveries to make; returns how many were new."""
        ...

    async def claim_due(self, now: int, lease_until: int, limit: int) -> list[WebhookDelivery]:
        """Pending deliveries whose time has come and that no sender holds, each leased
        to the caller until `lease_until` (a sender that dies lets its lease lapse)."""
        ...

    async def record_attempt(self, attempt: DeliveryAttempt, outcome: DeliveryOutcome) -> None:
        """Log one attempt and move its delivery on, releasing the lease."""
        ...

    async def list_deliveries(
        self, studio: str, webhook_id: str, limit: int = 100
    ) -> list[tuple[WebhookDelivery, list[DeliveryAttempt]]]:
        """The newest deliveries of a webhook with every attempt of each, newest first."""
        ...

    async def pending_deliveries(self) -> int: ...

    async def hold_key(self, record: IdempotencyRecord, now: int) -> IdempotencyRecord:
        """Record the first use of an idempotency key (taking the place of a record
        that expired before `now`); returns the record that holds the key now, this
        one or the one that was there."""
        ...

    async def take_over_key(
        self, studio: str, key: str, intent_id: str, now: int, lease_until: int
    ) -> bool:
        """Take over a key whose holder's lease lapsed before `now`, unanswered."""
        ...

    async def answer_key(self, studio: str, key: str, intent_id: str, answer: str) -> None: ...

    async def release_key(self, studio: str, key: str, intent_id: str) -> None:
        """Forget an unanswered use of a key (its request was refused: it wrote nothing)."""
        ...

    async def find_key(self, studio: str, key: str) -> IdempotencyRecord | None: ...

    async def forget_expired_keys(self, now: int) -> int: ...

    async def model_choices(self, studio: str) -> ModelChoices:
        """The studio's choices; kinds it has not chosen are the local models."""
        ...

    async def choose_model(
        self, studio: str, kind: str, choice: ModelChoice | None, now: int
    ) -> None:
        """Set the model for a kind of the studio's work (None: back to the local one)."""
        ...

    async def ping(self) -> None:
        """One round trip to the database (readiness checks)."""
        ...

    async def close(self) -> None: ...


class ArtifactStore(Protocol):
    """Immutable media files addressed by the sha256 of their bytes."""

    async def put(self, data: bytes, media_type: str) -> str:
        """Store the bytes (idempotent) and return their sha256."""
        ...

    async def get(self, artifact: str) -> bytes:
        """The bytes of an artifact; NotFound when there is none, ValueError for a
        name that is not a sha256."""
        ...

    async def exists(self, artifact: str) -> bool: ...


class ArtifactMetadata(msgspec.Struct, frozen=True):
    """Facts about one artifact; a fact the probe could not find (or that does not
    apply, such as the frame rate of a still image) is None."""

    media_type: str
    size: int
    duration: float | None = None  # seconds
    fps: float | None = None
    width: int | None = None
    height: int | None = None
    sample_rate: int | None = None
    channels: int | None = None
    codec: str | None = None  # the first stream's: video for video, audio for audio


class MediaArtifactStore(ArtifactStore, Protocol):
    """An artifact store that can also describe artifacts and serve parts of them."""

    async def metadata(self, artifact: str) -> ArtifactMetadata:
        """What was recorded when the artifact was put; NotFound when there is none."""
        ...

    async def open_range(
        self, artifact: str, start: int = 0, end: int | None = None
    ) -> AsyncIterator[bytes]:
        """The bytes `start` (inclusive) to `end` (exclusive, None for the end of the
        artifact) in chunks; NotFound before any chunk when there is no artifact,
        ValueError when the range does not fit inside it."""
        ...


class TaskOutput(msgspec.Struct, frozen=True):
    data: bytes | None
    media_type: str = "application/octet-stream"
    outputs: dict[str, Any] = {}
    cost: float = 0.0


class TaskContext(Protocol):
    """What an operation may use while it runs."""

    async def input(self, name: str) -> bytes: ...

    @property
    def tries(self) -> int:
        """How often this attempt was tried before (0 the first time): a model whose
        output failed its checks makes another take on the next try."""
        ...

    async def heartbeat(self) -> None:
        """Tell the bus the task is alive (long operations call this now and then)."""
        ...


class Operation(Protocol):
    """One kind of work a worker can do; raises engine.errors.TaskFailure when it fails."""

    async def run(self, task: TaskMessage, context: TaskContext) -> TaskOutput: ...


class WebhookAnswer(msgspec.Struct, frozen=True):
    """What a webhook receiver answered: its status code, or why there was none."""

    status_code: int | None
    error: str | None = None


class WebhookTransport(Protocol):
    """Carries a signed webhook delivery to its receiver (one POST, no redirects), to
    public destinations only."""

    async def check(self, url: str) -> None:
        """Refuse (InvalidIntent naming `url`) a destination no delivery may go to."""
        ...

    async def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> WebhookAnswer:
        """POST to `url` once: the receiver's status, or why nothing was sent or heard
        (a destination that resolves inward is not sent to)."""
        ...

    async def close(self) -> None: ...


class Clock(Protocol):
    def now(self) -> datetime: ...


class IdSource(Protocol):
    """Where fresh ids come from (uuid4 in production, a counter in tests)."""

    def new_id(self) -> str: ...
