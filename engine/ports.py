"""What the engine needs from the outside world, as protocols that adapters implement.

The engine never imports an adapter; `api.bootstrap` builds adapters from
configuration and hands them to `engine.service.SceneService`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Collection, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

import msgspec

from engine.events import NewEvent, RecordedEvent
from engine.planning import CachedWork
from engine.tasks import Cancellation, Lane, TaskMessage, TaskResult


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
    """

    async def append(
        self,
        stream: StreamId,
        events: Sequence[NewEvent],
        expected_version: int,
        idempotency_key: str | None = None,
    ) -> AppendResult: ...

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

    async def save_snapshot(self, snapshot: StoredSnapshot) -> None: ...

    async def load_snapshot(
        self, stream: StreamId, up_to_version: int | None = None
    ) -> StoredSnapshot | None: ...

    async def list_scenes(self, studio: str | None = None) -> list[str]: ...

    async def list_branches(self, scene: str) -> list[str]:
        """Branches of `scene` that hold at least one event, sorted by name."""
        ...

    async def load_checkpoint(self, name: str) -> int:
        """The position the log follower `name` has processed (0 when none)."""
        ...

    async def save_checkpoint(self, name: str, position: int) -> None: ...

    async def close(self) -> None: ...


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

    async def close(self) -> None: ...


class WorkCache(Protocol):
    """Content key -> the artifact some task made for it, per studio, across scenes,
    runs and restarts. Losing an entry only means the work runs again."""

    async def find_work(self, studio: str, keys: Collection[str]) -> dict[str, CachedWork]: ...

    async def remember_work(self, studio: str, works: Mapping[str, CachedWork]) -> None:
        """Remember the artifacts made for content keys (one write for them all); for
        a key already known, the first one recorded stays."""
        ...


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


class TaskOutput(msgspec.Struct, frozen=True):
    data: bytes | None
    media_type: str = "application/octet-stream"
    outputs: dict[str, Any] = {}
    cost: float = 0.0


class TaskContext(Protocol):
    """What an operation may use while it runs."""

    async def input(self, name: str) -> bytes: ...

    async def heartbeat(self) -> None:
        """Tell the bus the task is alive (long operations call this now and then)."""
        ...


class Operation(Protocol):
    """One kind of work a worker can do; raises engine.errors.TaskFailure when it fails."""

    async def run(self, task: TaskMessage, context: TaskContext) -> TaskOutput: ...


class Clock(Protocol):
    def now(self) -> datetime: ...


class IdSource(Protocol):
    """Where fresh ids come from (uuid4 in production, a counter in tests)."""

    def new_id(self) -> str: ...
