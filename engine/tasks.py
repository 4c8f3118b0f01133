"""What travels over the task bus: a task to run, and the result a worker sends back.

Workers need no database: a `TaskMessage` carries everything needed to run the
task (operation, model, provider, parameters and the artifacts of its inputs),
and a `TaskResult` carries everything the engine needs to fold the outcome back
into the scene as events.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import msgspec


class Lane(StrEnum):
    """Latency profiles; workers serve them in this order of priority."""

    INTERACTIVE = "interactive"
    PREVIEW = "preview"
    PRODUCTION = "production"


LANES: tuple[Lane, ...] = (Lane.INTERACTIVE, Lane.PREVIEW, Lane.PRODUCTION)


class TaskStatus(StrEnum):
    """One status vocabulary for every task and every provider."""

    PLANNED = "planned"
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"
    BLOCKED = "blocked"


class ExecutionStatus(StrEnum):
    """Where an execution stands: running until every task has finished, then how it ended."""

    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"


class ErrorKind(StrEnum):
    """Why a task failed; the retry policy says which kinds are retried."""

    TIMEOUT = "timeout"
    RATE_LIMITED = "rate_limited"
    UNAVAILABLE = "unavailable"  # 5xx, connection refused, provider down
    LOST = "lost"  # the worker vanished; JetStream redelivered until max_deliver
    INVALID_INPUT = "invalid_input"
    CONTENT_REFUSED = "content_refused"
    INVALID_OUTPUT = "invalid_output"  # a model's output failed its checks: another take
    INTERNAL = "internal"


class WorkerPresence(msgspec.Struct, frozen=True):
    """A worker says it is there: its name, the lanes it serves, when it said so (unix
    seconds) and how often it says it. Silent for three of those, it is gone."""

    name: str
    lanes: tuple[Lane, ...]
    at: float
    every: float

    def alive(self, now: float) -> bool:
        return now - self.at <= 3 * self.every


class TaskMessage(msgspec.Struct, frozen=True, gc=False):
    """One unit of work as a worker receives it. `message_id` de-duplicates on the bus."""

    task_id: str
    attempt: int
    execution_id: str
    scene: str
    branch: str
    studio: str
    lane: Lane
    operation: str
    model: str
    provider: str
    content_key: str
    params: dict[str, Any] = {}
    inputs: dict[str, str] = {}  # input name -> artifact sha256
    tier: int = 0  # a higher studio tier goes first inside a lane
    description: str = ""  # "generating video for shot 2"
    published_at: float = 0.0  # unix time the dispatcher sent it, for queue wait

    @property
    def message_id(self) -> str:
        return f"{self.task_id}:{self.attempt}"


class TaskError(msgspec.Struct, frozen=True, gc=False):
    kind: ErrorKind
    message: str
    retry_after: float | None = None  # seconds, when the provider said so


class TaskMetrics(msgspec.Struct, frozen=True, gc=False):
    queue_wait: float = 0.0  # seconds from publish to start
    run_time: float = 0.0  # seconds spent running
    cost: float = 0.0  # provider cost in US dollars, when known
    deliveries: int = 1  # how many times the bus delivered this attempt


class TaskResult(msgspec.Struct, frozen=True, gc=False):
    """What a worker reports for one attempt of one task."""

    task_id: str
    attempt: int
    execution_id: str
    scene: str
    branch: str
    status: TaskStatus
    artifact: str | None = None  # sha256 of the output, when it made one
    outputs: dict[str, Any] = {}
    error: TaskError | None = None
    metrics: TaskMetrics = TaskMetrics()
    worker: str = ""
    studio: str = ""
    operation: str = ""

    @property
    def message_id(self) -> str:
        return f"{self.task_id}:{self.attempt}:{self.status}"


class Cancellation(msgspec.Struct, frozen=True, gc=False):
    """Stop a task, or every task of an execution when `task_id` is None. `attempt`: the
    attempt canceled, and those before it (0: every attempt); a retry's later attempt
    runs."""

    execution_id: str
    task_id: str | None = None
    reason: str = ""
    attempt: int = 0
