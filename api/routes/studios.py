"""Studios and API keys. The admin key (SCENESTATE_ADMIN_KEY) creates studios and
their keys; a studio's key can see who it is and list its studio's keys (never
their secrets: a key is shown once, when it is made)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from api.deps import Admin, ApiDep, CurrentStudio, ItemId, RetryDep, ServicesDep
from api.errors import ERROR_RESPONSES, ApiError
from api.schemas.studios import KeyCreate, KeyCreated, KeyPublic, Me, StudioCreate, StudioPublic
from api.services import studios

router = APIRouter(tags=["studios and keys"], responses=ERROR_RESPONSES)


@router.post("/studios", status_code=201, response_model=StudioPublic, summary="Create a studio")
async def create_studio(body: StudioCreate, admin: Admin, services: ServicesDep) -> StudioPublic:
    return StudioPublic.of(await studios.create_studio(services, body.id, body.name))


@router.get("/studios", response_model=list[StudioPublic], summary="Every studio")
async def list_studios(admin: Admin, services: ServicesDep) -> list[StudioPublic]:
    return [StudioPublic.of(studio) for studio in await studios.list_studios(services)]


@router.post(
    "/studios/{studio}/keys",
    status_code=201,
    response_model=KeyCreated,
    summary="Make an API key for a studio (its token is shown this once)",
)
async def create_key(
    studio: ItemId, body: KeyCreate, admin: Admin, services: ServicesDep, retry: RetryDep
) -> KeyCreated:
    if retry.key is not None:
        # a replay would have to keep the token, which is shown once and never kept
        raise ApiError(
            422,
            "Idempotency-Key: making a key takes none (its token is never kept to be "
            "shown again); list the studio's keys to see whether a retry made one",
            field="Idempotency-Key",
        )
    minted = await studios.create_key(
        services, studio, body.name, body.actor, body.rate_per_second, body.burst
    )
    return KeyCreated(token=minted.token, **KeyPublic.of(minted.key).model_dump())


@router.get("/studios/{studio}/keys", response_model=list[KeyPublic], summary="A studio's API keys")
async def studio_keys(studio: ItemId, admin: Admin, services: ServicesDep) -> list[KeyPublic]:
    return [KeyPublic.of(key) for key in await studios.list_keys(services, studio)]


@router.delete(
    "/studios/{studio}/keys/{key}", status_code=204, summary="Revoke a key, effective at once"
)
async def revoke_key(studio: ItemId, key: ItemId, admin: Admin, api: ApiDep) -> Response:
    await studios.revoke_key(api.services, studio, key)
    api.keys.forget(key)
    return Response(status_code=204)


@router.get("/me", response_model=Me, summary="Who this key is")
async def me(principal: CurrentStudio) -> Me:
    return Me(
        studio=principal.caller.studio,
        key_id=principal.key_id,
        actor=principal.actor,
        rate_per_second=principal.rate_per_second,
        burst=principal.burst,
    )


@router.get("/keys", response_model=list[KeyPublic], summary="The keys of this key's studio")
async def own_keys(principal: CurrentStudio, services: ServicesDep) -> list[KeyPublic]:
    keys = await studios.list_keys(services, principal.caller.studio, check=False)
    return [KeyPublic.of(key) for key in keys]
