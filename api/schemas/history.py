"""A scene's history: every event with who and what caused it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
from pydantic import BaseModel

from engine.events import RecordedEvent


class HistoryEntryPublic(BaseModel):
    position: int | None
    scene: str
    branch: str
    version: int
    recorded_at: datetime
    type: str
    payload: dict[str, Any]
    actor: str
    intent_id: str
    execution_id: str
    transform: str
    transform_version: int

    @classmethod
    def of(cls, event: RecordedEvent) -> HistoryEntryPublic:
        payload = msgspec.to_builtins(event.payload)
        return cls(
            position=event.position,
            scene=event.scene,
            branch=event.branch,
            version=event.version,
            recorded_at=event.recorded_at,
            type=type(event.payload).__name__,
            payload=payload,
            actor=event.metadata.actor,
            intent_id=event.metadata.intent_id,
            execution_id=event.metadata.execution_id,
            transform=event.metadata.transform,
            transform_version=event.metadata.transform_version,
        )


class HistoryPage(BaseModel):
    scene: str
    branch: str
    entries: list[HistoryEntryPublic]
