"""Who owns what: studios, their API keys, the scenes and artifacts that belong to
each, the webhooks a studio registered with every delivery made to them, and the
idempotency keys a studio's requests carried.

These are the records of the `TenancyStore` port (`engine.ports`); times are
microseconds since the epoch (UTC). A key's secret is never a field: only the
sha256 of its secret part is kept, and a webhook's signing secret is shown once.
"""

from __future__ import annotations

from enum import StrEnum

import msgspec

# A studio's id, as `POST /studios` and the CLI accept it.
STUDIO_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$"


class Studio(msgspec.Struct, frozen=True):
    """A tenant: every scene, artifact and API key belongs to one."""

    id: str
    name: str
    created_at: int


class ApiKey(msgspec.Struct, frozen=True):
    """One API key of a studio; requests made with it act as `actor`."""

    id: str
    studio: str
    name: str
    actor: str
    secret_hash: str
    rate_per_second: float
    burst: int
    created_at: int
    revoked_at: int | None = None


class Webhook(msgspec.Struct, frozen=True):
    """A studio's URL, told about the execution events it names."""

    id: str
    studio: str
    url: str
    secret: str
    events: tuple[str, ...]
    created_at: int
    deleted_at: int | None = None


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


class WebhookDelivery(msgspec.Struct, frozen=True):
    """One event to deliver to one webhook (at most one per webhook and position)."""

    id: str
    webhook: str
    studio: str
    event: str
    execution: str
    scene: str
    branch: str
    position: int
    body: str
    status: DeliveryStatus
    attempts: int
    created_at: int
    next_attempt_at: int
    lease_until: int | None = None
    delivered_at: int | None = None
    last_status_code: int | None = None
    last_error: str | None = None


class DeliveryAttempt(msgspec.Struct, frozen=True):
    """One try of a delivery: the receiver's status code, or why there was none."""

    delivery: str
    attempt: int
    at: int
    status_code: int | None
    error: str | None
    duration_ms: float


class DeliveryOutcome(msgspec.Struct, frozen=True):
    """Where a delivery stands after an attempt."""

    status: DeliveryStatus
    attempts: int
    next_attempt_at: int
    delivered_at: int | None
    last_status_code: int | None
    last_error: str | None


class IdempotencyRecord(msgspec.Struct, frozen=True):
    """What a studio's idempotency key was first used for: the request (`request`, a
    person's description; `fingerprint`, a digest of all of it), the intent id it was
    given, and once answered the answer. In flight until `answer` is set; a holder
    that dies lets `lease_until` lapse and a retry takes over. Gone at `expires_at`."""

    studio: str
    key: str
    request: str
    fingerprint: str
    intent_id: str
    created_at: int
    expires_at: int
    lease_until: int
    answer: str | None = None
