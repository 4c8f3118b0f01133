"""Intents as clients send them. The studio and actor come from the API key and the
scene from the path, never from the body; the engine's intake checks the rest."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.common import ArtifactId, BranchName, CreateModel, Id, PropValue
from engine.intents import ACTION_NAMES

ActionName = Literal[ACTION_NAMES]  # type: ignore[valid-type]


class ActionCreate(BaseModel):
    """A structured action: `name` and that action's fields (see the README)."""

    model_config = ConfigDict(extra="allow")
    name: ActionName


class IntentBase(CreateModel):
    id: Id | None = Field(None, description="Default: a new id.")
    scene: Id | None = Field(None, description="If given, must be the scene in the path.")
    branch: BranchName | None = Field(None, description="Default: the `branch` query, or main.")
    idempotency_key: str | None = Field(
        None, min_length=1, max_length=200, description="Or the Idempotency-Key header."
    )


class TextPromptCreate(IntentBase):
    kind: Literal["text_prompt"]
    text: str = Field(min_length=1, max_length=10_000)


class SpeechNoteCreate(IntentBase):
    kind: Literal["speech_note"]
    transcript: str = Field(min_length=1, max_length=10_000)
    audio: ArtifactId | None = None


class DirectEditCreate(IntentBase):
    kind: Literal["direct_edit"]
    node: Id
    prop: str = Field(min_length=1, max_length=64)
    value: PropValue


class StructuredActionCreate(IntentBase):
    kind: Literal["structured_action"]
    action: ActionCreate


IntentCreate = Annotated[
    TextPromptCreate | SpeechNoteCreate | DirectEditCreate | StructuredActionCreate,
    Field(discriminator="kind"),
]


def intent_fields(intent: BaseModel) -> dict[str, Any]:
    """The body as the engine's intake takes it (fields left out stay out)."""
    return intent.model_dump(exclude_none=True, exclude={"scene"})
