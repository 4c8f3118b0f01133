"""Webhooks: register URLs for finished executions, and read back every delivery with
each attempt (status code or error, and how long it took)."""

from __future__ import annotations

import json
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from api.deps import CurrentStudio, ItemId, ServicesDep, studio_of
from api.errors import ERROR_RESPONSES, not_found
from api.schemas.webhooks import (
    DeliveryList,
    DeliveryPublic,
    WebhookCreate,
    WebhookCreated,
    WebhookList,
    WebhookPublic,
)
from api.tenancy import now_micros
from api.webhooks import new_secret

router = APIRouter(tags=["webhooks"], responses=ERROR_RESPONSES)


@router.post(
    "/webhooks",
    status_code=201,
    response_model=WebhookCreated,
    summary="Register a URL for finished executions (its signing secret is shown once)",
)
async def create_webhook(
    body: WebhookCreate, principal: CurrentStudio, found: ServicesDep
) -> WebhookCreated:
    row: dict[str, Any] = {
        "id": f"wh_{uuid.uuid4().hex[:16]}",
        "studio": studio_of(principal),
        "url": str(body.url),
        "secret": new_secret(),
        "events": json.dumps(sorted(set(body.events))),
        "created_at": now_micros(),
        "deleted_at": None,
    }
    await found.tenancy.store.create_webhook(row)
    return WebhookCreated(secret=row["secret"], **WebhookPublic.of(row).model_dump())


@router.get("/webhooks", response_model=WebhookList, summary="The studio's webhooks")
async def list_webhooks(principal: CurrentStudio, found: ServicesDep) -> WebhookList:
    rows = await found.tenancy.store.list_webhooks(studio_of(principal))
    return WebhookList(webhooks=[WebhookPublic.of(row) for row in rows])


@router.get("/webhooks/{webhook}", response_model=WebhookPublic, summary="One webhook")
async def get_webhook(
    webhook: ItemId, principal: CurrentStudio, found: ServicesDep
) -> WebhookPublic:
    row = await found.tenancy.store.webhook(studio_of(principal), webhook)
    if row is None:
        raise not_found(f"no webhook {webhook!r}")
    return WebhookPublic.of(row)


@router.delete("/webhooks/{webhook}", status_code=204, summary="Stop a webhook")
async def delete_webhook(webhook: ItemId, principal: CurrentStudio, found: ServicesDep) -> Response:
    if not await found.tenancy.store.delete_webhook(studio_of(principal), webhook, now_micros()):
        raise not_found(f"no webhook {webhook!r}")
    return Response(status_code=204)


@router.get(
    "/webhooks/{webhook}/deliveries",
    response_model=DeliveryList,
    summary="The delivery log: newest first, each with every attempt",
)
async def deliveries(
    webhook: ItemId,
    principal: CurrentStudio,
    found: ServicesDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> DeliveryList:
    studio = studio_of(principal)
    if await found.tenancy.store.webhook(studio, webhook) is None:
        raise not_found(f"no webhook {webhook!r}")
    rows = await found.tenancy.store.list_deliveries(studio, webhook, limit)
    return DeliveryList(
        webhook=webhook, deliveries=[DeliveryPublic.of(row, attempts) for row, attempts in rows]
    )
