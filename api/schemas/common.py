"""Shapes every resource shares: ids as the engine accepts them, provenance, and the
answer to an accepted intent."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from api.services.intake import Submission
from engine.intents import check_storable
from engine.provenance import Provenance

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$"
BRANCH_PATTERN = r"^[a-z0-9][a-z0-9._/-]{0,63}$"
ARTIFACT_PATTERN = r"^[0-9a-f]{64}$"
ARTIFACT_START_PATTERN = r"^[0-9a-f]{4,64}$"  # a sha256, or a unique start of one

Id = Annotated[str, Field(pattern=ID_PATTERN, examples=["promo"])]
BranchName = Annotated[str, Field(pattern=BRANCH_PATTERN, examples=["main"])]
ArtifactId = Annotated[str, Field(pattern=ARTIFACT_PATTERN)]
PropValue = str | int | float | bool | None


class CreateModel(BaseModel):
    """A request body: unknown fields are refused, naming them, and so is any text or
    number no store can hold (NUL, lone surrogates, integers past 64 bits, NaN): the
    core's `InvalidIntent`, which the API answers with 422 naming the field."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="after")
    def _storable(self) -> Self:
        check_storable(self.model_dump(mode="python", exclude_none=True))
        return self


class ProvenancePublic(BaseModel):
    branch: str
    version: int
    intent_id: str
    execution_id: str
    actor: str
    transform: str
    transform_version: int

    @classmethod
    def of(cls, provenance: Provenance) -> ProvenancePublic:
        return cls(
            branch=provenance.branch,
            version=provenance.version,
            intent_id=provenance.intent_id,
            execution_id=provenance.execution_id,
            actor=provenance.actor,
            transform=provenance.transform,
            transform_version=provenance.transform_version,
        )


class Links(BaseModel):
    execution: str | None = Field(
        description="The execution this intent started; null when it started none."
    )
    events: str | None = Field(
        description="SSE stream of that execution, from its first event; null likewise."
    )
    scene: str


class Accepted(BaseModel):
    """An intent appended (202): where it landed. Nothing waited for generation."""

    intent_id: str
    execution_id: str
    scene: str
    branch: str
    first_version: int
    last_version: int
    first_position: int = Field(description="Global position of the first event appended.")
    position: int = Field(description="Global position of the last event appended.")
    execution_started: bool = Field(description="Whether the intent set generation in motion.")
    links: Links

    @classmethod
    def of(cls, submitted: Submission) -> Accepted:
        receipt = submitted.receipt
        base = f"/scenes/{receipt.scene}"
        branch = f"?branch={receipt.branch}"
        execution = f"{base}/executions/{receipt.execution_id}"
        return cls(
            intent_id=receipt.intent_id,
            execution_id=receipt.execution_id,
            scene=receipt.scene,
            branch=receipt.branch,
            first_version=receipt.first_version,
            last_version=receipt.last_version,
            first_position=submitted.first_position,
            position=submitted.last_position,
            execution_started=submitted.execution_started,
            links=Links(
                execution=execution + branch if submitted.execution_started else None,
                events=f"{execution}/events{branch}" if submitted.execution_started else None,
                scene=base + branch,
            ),
        )


class Moment(BaseModel):
    at: datetime
