"""Webhooks and their delivery log."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AnyHttpUrl, BaseModel, Field, UrlConstraints

from api.schemas.common import CreateModel
from engine.tenancy import DeliveryAttempt, DeliveryStatus, Webhook, WebhookDelivery
from projections.times import from_micros

EventName = Literal["execution.completed", "execution.failed", "execution.canceled"]


def _finished() -> list[EventName]:
    return ["execution.completed", "execution.failed"]


MAX_URL = 2048  # what browsers and HTTP clients reliably take

WebhookUrl = Annotated[AnyHttpUrl, UrlConstraints(max_length=MAX_URL)]


class WebhookCreate(CreateModel):
    url: WebhookUrl = Field(examples=["https://studio.example/hooks/scenestate"])
    events: list[EventName] = Field(default_factory=_finished, min_length=1)


class WebhookPublic(BaseModel):
    id: str
    url: str
    events: list[str]
    created_at: datetime

    @classmethod
    def of(cls, webhook: Webhook) -> WebhookPublic:
        return cls(
            id=webhook.id,
            url=webhook.url,
            events=list(webhook.events),
            created_at=from_micros(webhook.created_at),
        )


class WebhookCreated(WebhookPublic):
    secret: str = Field(description="Signs every delivery (HMAC-SHA256); shown this once.")


class WebhookList(BaseModel):
    webhooks: list[WebhookPublic]


class AttemptPublic(BaseModel):
    attempt: int
    at: datetime
    status_code: int | None
    error: str | None
    duration_ms: float


class DeliveryPublic(BaseModel):
    id: str
    event: str
    execution: str
    scene: str
    branch: str
    position: int
    status: str = Field(description="pending, delivered or failed.")
    attempts: int
    created_at: datetime
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    body: dict[str, Any]
    attempt_log: list[AttemptPublic]

    @classmethod
    def of(cls, delivery: WebhookDelivery, attempts: list[DeliveryAttempt]) -> DeliveryPublic:
        delivered = delivery.delivered_at
        pending = delivery.status == DeliveryStatus.PENDING
        return cls(
            id=delivery.id,
            event=delivery.event,
            execution=delivery.execution,
            scene=delivery.scene,
            branch=delivery.branch,
            position=delivery.position,
            status=str(delivery.status),
            attempts=delivery.attempts,
            created_at=from_micros(delivery.created_at),
            next_attempt_at=from_micros(delivery.next_attempt_at) if pending else None,
            delivered_at=None if delivered is None else from_micros(delivered),
            last_status_code=delivery.last_status_code,
            last_error=delivery.last_error,
            body=json.loads(delivery.body),
            attempt_log=[
                AttemptPublic(
                    attempt=a.attempt,
                    at=from_micros(a.at),
                    status_code=a.status_code,
                    error=a.error,
                    duration_ms=a.duration_ms,
                )
                for a in attempts
            ],
        )


class DeliveryList(BaseModel):
    webhook: str
    deliveries: list[DeliveryPublic]
