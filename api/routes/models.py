"""The models a studio's recipes plan, per kind of work (image, video, voice, music,
text, code): read them, choose one, or go back to the local model. A key acts for its
own studio."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from api.deps import CurrentStudio, ServicesDep
from api.errors import ERROR_RESPONSES
from api.schemas.models import ModelChoose, ModelsPublic
from api.services import models

router = APIRouter(tags=["models"], responses=ERROR_RESPONSES)
Kind = Annotated[str, Path(max_length=20, examples=["text"])]


@router.get("/models", response_model=ModelsPublic, summary="The models this studio plans")
async def studio_models(principal: CurrentStudio, services: ServicesDep) -> ModelsPublic:
    studio = principal.caller.studio
    return ModelsPublic.of(studio, await models.model_choices(services, studio))


@router.put(
    "/models/{kind}", response_model=ModelsPublic, summary="Choose the model for a kind of work"
)
async def choose_model(
    kind: Kind, body: ModelChoose, principal: CurrentStudio, services: ServicesDep
) -> ModelsPublic:
    studio = principal.caller.studio
    chosen = await models.choose_model(services, studio, kind, body.model, body.provider)
    return ModelsPublic.of(studio, chosen)


@router.delete("/models/{kind}", response_model=ModelsPublic, summary="Go back to the local model")
async def use_local_model(
    kind: Kind, principal: CurrentStudio, services: ServicesDep
) -> ModelsPublic:
    studio = principal.caller.studio
    return ModelsPublic.of(studio, await models.use_local_model(services, studio, kind))
