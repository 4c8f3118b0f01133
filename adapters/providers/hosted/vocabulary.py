"""The words every hosted provider answers in: the request, the job it became, the job's
status in the engine's one status vocabulary, and the media it made."""

from __future__ import annotations

from typing import Any, Protocol

import msgspec

from engine.tasks import ErrorKind, TaskStatus

SETTLED = frozenset({TaskStatus.SUCCEEDED, TaskStatus.FAILED, TaskStatus.CANCELED})


class HostedRequest(msgspec.Struct, frozen=True):
    """One call of one model: `model` is the provider's own id for it, `input` the input
    that model's API documents."""

    model: str
    input: dict[str, Any]


class JobStatus(msgspec.Struct, frozen=True):
    """Where a job stands, in `queued`, `running`, `succeeded`, `failed` or `canceled`,
    with the provider's own word for it beside."""

    state: TaskStatus
    provider_status: str
    message: str = ""
    error_kind: ErrorKind | None = None  # why it did not succeed, when it did not
    queue_position: int | None = None
    outputs: tuple[str, ...] = ()  # URLs (or data: URIs) of the media it made
    text: str | None = None  # what a language model answered, when it answers in text
    usage: dict[str, float] = {}  # what the provider measured: seconds, characters

    @property
    def settled(self) -> bool:
        return self.state in SETTLED


class Job(msgspec.Struct, frozen=True):
    """What a provider answered when it accepted the work, and the last status seen.
    `data` holds media that came back with the answer itself (ElevenLabs)."""

    provider: str
    id: str
    model: str
    urls: dict[str, str] = {}
    last: JobStatus | None = None
    data: bytes | None = None
    media_type: str = ""

    def __repr__(self) -> str:
        state = self.last.state if self.last else "submitted"
        return f"Job({self.provider} {self.model} {self.id}: {state})"


class JobResult(msgspec.Struct, frozen=True):
    data: bytes
    media_type: str
    source: str  # the URL it was downloaded from, or "inline"

    def __repr__(self) -> str:
        return f"JobResult({len(self.data)} bytes of {self.media_type} from {self.source})"


class HostedProvider(Protocol):
    """One hosted API. Every method raises engine.errors.TaskFailure when the provider
    refuses or cannot be reached; `cancel` of a settled job does nothing."""

    name: str
    billed_by: str  # the `JobStatus.usage` entry the provider charges by

    async def submit(self, request: HostedRequest) -> Job: ...

    async def status(self, job: Job) -> JobStatus: ...

    async def result(self, job: Job) -> JobResult: ...

    async def cancel(self, job: Job) -> None: ...

    async def upload(self, data: bytes, media_type: str) -> str:
        """Put an input too large for a data: URI in the provider's file storage; the
        URL its models read it from."""
        ...

    async def aclose(self) -> None: ...
