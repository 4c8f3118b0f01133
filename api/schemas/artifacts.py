"""Artifacts: what an artifact is (media type, size, what a probe found) and where it
came from."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
from pydantic import BaseModel, Field

from engine.ports import ArtifactMetadata
from projections.lineage_records import Lineage


class ArtifactPublic(BaseModel):
    id: str
    media_type: str
    size: int
    duration: float | None = Field(None, description="Seconds.")
    fps: float | None = None
    width: int | None = None
    height: int | None = None
    sample_rate: int | None = None
    channels: int | None = None
    codec: str | None = None
    content: str = Field(description="Where the bytes are (HTTP range requests welcome).")

    @classmethod
    def of(cls, artifact: str, metadata: ArtifactMetadata) -> ArtifactPublic:
        return cls(
            id=artifact,
            content=f"/artifacts/{artifact}/content",
            **msgspec.to_builtins(metadata),
        )


class LineagePublic(BaseModel):
    artifact: str
    models: list[str]
    providers: list[str]
    operations: list[str]
    transforms: list[str]
    actors: list[str]
    root_intents: list[dict[str, Any]]
    origin: dict[str, Any] = Field(description="The tree: task, inputs, execution, intent.")

    @classmethod
    def of(cls, lineage: Lineage) -> LineagePublic:
        plain = msgspec.to_builtins(lineage)
        return cls(
            artifact=lineage.origin.artifact,
            models=list(lineage.models),
            providers=list(lineage.providers),
            operations=list(lineage.operations),
            transforms=list(lineage.transforms),
            actors=list(lineage.actors),
            root_intents=plain["root_intents"],
            origin=plain["origin"],
        )


class ContentTokenPublic(BaseModel):
    token: str = Field(
        description="Pass as ?token= to the artifact's content; it opens nothing else."
    )
    expires_at: datetime = Field(
        description="Start reading before then (a player's later ranges too)."
    )
    content: str = Field(description="The content URL, token included (ranges welcome).")
