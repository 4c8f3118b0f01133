"""Studios and API keys. The admin key (SCENESTATE_ADMIN_KEY) creates studios and
their keys; a studio's key can see who it is and list its studio's keys (never
their secrets: a key is shown once, when it is made)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from api.deps import Admin, CurrentStudio, ItemId, ServicesDep, studio_of
from api.errors import ERROR_RESPONSES, ApiError, not_found
from api.schemas.studios import KeyCreate, KeyCreated, KeyPublic, Me, StudioCreate, StudioPublic
from api.tenancy import mint_key, now_micros

router = APIRouter(tags=["studios and keys"], responses=ERROR_RESPONSES)


@router.post("/studios", status_code=201, response_model=StudioPublic, summary="Create a studio")
async def create_studio(body: StudioCreate, admin: Admin, found: ServicesDep) -> StudioPublic:
    if not await found.tenancy.store.create_studio(body.id, body.name, now_micros()):
        raise ApiError(409, f"a studio {body.id!r} exists already", field="id")
    row = await found.tenancy.store.studio(body.id)
    assert row is not None
    return StudioPublic.of(row)


@router.get("/studios", response_model=list[StudioPublic], summary="Every studio")
async def list_studios(admin: Admin, found: ServicesDep) -> list[StudioPublic]:
    return [StudioPublic.of(row) for row in await found.tenancy.store.list_studios()]


@router.post(
    "/studios/{studio}/keys",
    status_code=201,
    response_model=KeyCreated,
    summary="Make an API key for a studio (its token is shown this once)",
)
async def create_key(
    studio: ItemId, body: KeyCreate, admin: Admin, found: ServicesDep
) -> KeyCreated:
    if await found.tenancy.store.studio(studio) is None:
        raise not_found(f"no studio {studio!r}")
    minted = mint_key()
    row = {
        "id": minted.key_id,
        "studio": studio,
        "name": body.name,
        "actor": body.actor or f"key:{body.name}",
        "secret_hash": minted.secret_hash,
        "rate_per_second": body.rate_per_second,
        "burst": body.burst,
        "created_at": now_micros(),
        "revoked_at": None,
    }
    await found.tenancy.store.create_key(row)
    return KeyCreated(token=minted.token, **KeyPublic.of(row).model_dump())


@router.get("/studios/{studio}/keys", response_model=list[KeyPublic], summary="A studio's API keys")
async def studio_keys(studio: ItemId, admin: Admin, found: ServicesDep) -> list[KeyPublic]:
    if await found.tenancy.store.studio(studio) is None:
        raise not_found(f"no studio {studio!r}")
    return [KeyPublic.of(row) for row in await found.tenancy.store.list_keys(studio)]


@router.delete(
    "/studios/{studio}/keys/{key}", status_code=204, summary="Revoke a key, effective at once"
)
async def revoke_key(studio: ItemId, key: ItemId, admin: Admin, found: ServicesDep) -> Response:
    if not await found.tenancy.store.revoke_key(studio, key, now_micros()):
        raise not_found(f"no live key {key!r} in studio {studio!r}")
    found.keys.forget(key)
    return Response(status_code=204)


@router.get("/me", response_model=Me, summary="Who this key is")
async def me(principal: CurrentStudio) -> Me:
    return Me(
        studio=studio_of(principal),
        key_id=principal.key_id,
        actor=principal.actor,
        rate_per_second=principal.rate_per_second,
        burst=principal.burst,
    )


@router.get("/keys", response_model=list[KeyPublic], summary="The keys of this key's studio")
async def own_keys(principal: CurrentStudio, found: ServicesDep) -> list[KeyPublic]:
    rows = await found.tenancy.store.list_keys(studio_of(principal))
    return [KeyPublic.of(row) for row in rows]
