"""A studio's model choices: per kind of work, the model and the provider that runs it."""

from __future__ import annotations

from pydantic import BaseModel, Field

from api.schemas.common import CreateModel
from engine.models import ModelChoices


class ModelChoose(CreateModel):
    model: str = Field(min_length=1, max_length=200, examples=["llama-3-8b-instruct"])
    provider: str = Field(
        min_length=1,
        max_length=50,
        examples=["replicate"],
        description="local, replicate, fal, elevenlabs, or hosted (whichever offers it).",
    )


class ModelChoicePublic(BaseModel):
    model: str
    provider: str
    chosen: bool = Field(description="False: the local model, which no one chose.")


class ModelsPublic(BaseModel):
    studio: str
    models: dict[str, ModelChoicePublic]

    @classmethod
    def of(cls, studio: str, choices: ModelChoices) -> ModelsPublic:
        models = {
            kind: ModelChoicePublic(
                model=choice.model, provider=choice.provider, chosen=kind in choices.chosen
            )
            for kind, choice in choices.all().items()
        }
        return cls(studio=studio, models=models)
