"""Every error the engine and its ports raise, as one hierarchy.

    ScenestateError
    ├── InvalidIntent            bad input: names the field and the reason
    │   ├── UnknownNode
    │   └── UnknownAction
    ├── NotFound                 a scene, branch or stream that does not exist
    ├── AlreadyExists            an id that is taken (a studio); names the field
    │   ├── IntentIdTaken        an intent id another intent used; ids are used once
    │   └── KeysUsed             runs of one `append_runs` under keys used before or
    │                            twice in it; nothing written: append them one by one
    ├── ConcurrencyConflict      the stream moved on past the expected version
    ├── StoreError               the event store refused or could not read
    │   ├── PayloadTooLarge      an event over the size limit; nothing written
    │   ├── UnknownEventType     a stored event no decoder knows; names its position
    │   ├── CorruptEvent         a stored event that does not decode; names its position
    │   └── RowsRefused          a read model's database refused a batch's rows (its
    │                            own data, not a failing database): that read model stops
    ├── Unavailable              a backend (database, task bus, artifact store) failed or
    │                            did not answer; nothing was wrong with the request: retry
    ├── Misconfigured            a backend refused us for good (no such database, wrong
    │                            credentials): the configuration must change
    ├── BusError                 the task bus refused or could not carry out an operation
    │   ├── BusClosed            the bus was closed; nothing more can be published
    │   └── BusUnavailable       the broker did not answer or confirm in time (also
    │                            an Unavailable)
    └── TaskFailure              a generation or media task failed; `kind` says whether
                                 it is worth retrying

Adapters translate their drivers' errors (asyncpg, SQLAlchemy, sqlite3, nats, a
failing disk) into `Unavailable` at their boundary, so nothing above them needs to
know which driver ran. The API maps each class to one HTTP status; the CLI prints
the message.
"""

from __future__ import annotations

from collections.abc import Sequence


class ScenestateError(Exception):
    """Base of every error scenestate raises on purpose."""


class InvalidIntent(ScenestateError):
    """An intent that cannot be accepted; `field` is a dotted path into it."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class UnknownNode(InvalidIntent):
    def __init__(self, field: str, node_id: str) -> None:
        super().__init__(field, f"no node {node_id!r} in this scene")
        self.node_id = node_id


class UnknownAction(InvalidIntent):
    def __init__(self, field: str, name: str, known: tuple[str, ...]) -> None:
        super().__init__(field, f"unknown action {name!r}; known actions: {', '.join(known)}")
        self.name = name


class NotFound(ScenestateError):
    """Something that was named does not exist."""


class AlreadyExists(ScenestateError):
    """A new thing whose id is taken; `field` names the input that holds the id."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class IntentIdTaken(AlreadyExists):
    def __init__(self, intent_id: str) -> None:
        super().__init__(
            "id", f"intent id {intent_id!r} was used before; an intent id is used once"
        )
        self.intent_id = intent_id


class KeysUsed(AlreadyExists):
    """An `append_runs` refused whole: some runs' keys were used before, or repeat."""

    def __init__(self, keys: Sequence[str]) -> None:
        named = ", ".join(repr(key) for key in keys)
        super().__init__(
            "idempotency_key", f"append keys used before or twice in one append: {named}"
        )
        self.keys = tuple(keys)


class ConcurrencyConflict(ScenestateError):
    """An append whose expected version is no longer the head of its stream."""

    def __init__(self, stream: str, expected: int, actual: int) -> None:
        super().__init__(
            f"stream {stream} is at version {actual}, not the expected {expected}; "
            "reload the scene and try again"
        )
        self.stream = stream
        self.expected = expected
        self.actual = actual


class StoreError(ScenestateError):
    """The event store refused a write or could not read what it holds."""


class PayloadTooLarge(StoreError):
    def __init__(self, index: int, event_type: str, size: int, limit: int) -> None:
        super().__init__(
            f"event {index} ({event_type}) is {size} bytes, over the {limit}-byte limit; "
            "nothing was written"
        )
        self.size = size
        self.limit = limit


class RowsRefused(StoreError):
    """The database refused the rows of a read model's batch (a constraint, text it
    cannot hold); trying again would fail the same way."""


class UnknownEventType(StoreError):
    def __init__(self, position: int | None, event_type: str, version: int) -> None:
        where = f"position {position}" if position is not None else "an unsequenced position"
        super().__init__(
            f"event at {where} has type {event_type!r} version {version}, "
            "which this build cannot read"
        )
        self.position = position
        self.event_type = event_type


class CorruptEvent(StoreError):
    def __init__(self, position: int | None, event_type: str, reason: str) -> None:
        super().__init__(f"event at position {position} ({event_type}) does not decode: {reason}")
        self.position = position
        self.event_type = event_type


class Unavailable(ScenestateError):
    """A backend failed or did not answer (a lost connection, a full pool, a deadlock
    the database broke, a failing disk); the same request may pass on a retry."""

    def __init__(self, backend: str, reason: str) -> None:
        super().__init__(f"the {backend} could not answer: {reason}")
        self.backend = backend
        self.reason = reason


class Misconfigured(ScenestateError):
    """A backend turned us away for a reason no retry fixes (the database does not
    exist, the credentials are wrong): its configuration must change."""

    def __init__(self, backend: str, reason: str) -> None:
        super().__init__(f"the {backend} refused the connection: {reason}")
        self.backend = backend
        self.reason = reason


class BusError(ScenestateError):
    """The task bus refused or could not carry out an operation."""


class BusClosed(BusError):
    def __init__(self) -> None:
        super().__init__("the task bus is closed")


class BusUnavailable(BusError, Unavailable):
    """The broker did not answer, or did not confirm a publish in time."""

    def __init__(self, reason: str) -> None:
        Unavailable.__init__(self, "task bus", reason)


class TaskFailure(ScenestateError):
    """Raised by an operation; `kind` is an engine.tasks.ErrorKind value."""

    def __init__(self, kind: str, message: str, retry_after: float | None = None) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind = kind
        self.message = message
        self.retry_after = retry_after
