"""Webhooks and their delivery log."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Literal

from pydantic import AnyHttpUrl, BaseModel, Field

from api.schemas.common import CreateModel
from projections.times import from_micros

EventName = Literal["execution.completed", "execution.failed", "execution.canceled"]


def _finished() -> list[EventName]:
    return ["execution.completed", "execution.failed"]


class WebhookCreate(CreateModel):
    url: AnyHttpUrl = Field(examples=["https://studio.example/hooks/scenestate"])
    events: list[EventName] = Field(default_factory=_finished, min_length=1)


class WebhookPublic(BaseModel):
    id: str
    url: str
    events: list[str]
    created_at: datetime

    @classmethod
    def of(cls, row: dict[str, Any]) -> WebhookPublic:
        return cls(
            id=row["id"],
            url=row["url"],
            events=json.loads(row["events"]),
            created_at=from_micros(row["created_at"]),
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
    def of(cls, row: dict[str, Any], attempts: list[dict[str, Any]]) -> DeliveryPublic:
        delivered = row["delivered_at"]
        return cls(
            id=row["id"],
            event=row["event"],
            execution=row["execution"],
            scene=row["scene"],
            branch=row["branch"],
            position=row["position"],
            status=row["status"],
            attempts=row["attempts"],
            created_at=from_micros(row["created_at"]),
            next_attempt_at=from_micros(row["next_attempt_at"])
            if row["status"] == "pending"
            else None,
            delivered_at=None if delivered is None else from_micros(delivered),
            last_status_code=row["last_status_code"],
            last_error=row["last_error"],
            body=json.loads(row["body"]),
            attempt_log=[
                AttemptPublic(
                    attempt=a["attempt"],
                    at=from_micros(a["at"]),
                    status_code=a["status_code"],
                    error=a["error"],
                    duration_ms=a["duration_ms"],
                )
                for a in attempts
            ],
        )


class DeliveryList(BaseModel):
    webhook: str
    deliveries: list[DeliveryPublic]
