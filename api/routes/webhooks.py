"""Webhooks: register URLs for finished executions, and read back every delivery with
each attempt (status code or error, and how long it took)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from api.deps import CurrentStudio, ItemId, RetryDep, ServicesDep
from api.errors import ERROR_RESPONSES
from api.schemas.webhooks import (
    DeliveryList,
    DeliveryPublic,
    WebhookCreate,
    WebhookCreated,
    WebhookList,
    WebhookPublic,
)
from api.services import webhooks

router = APIRouter(tags=["webhooks"], responses=ERROR_RESPONSES)


@router.post(
    "/webhooks",
    status_code=201,
    response_model=WebhookCreated,
    summary="Register a URL for finished executions (its signing secret is shown once)",
)
async def create_webhook(
    body: WebhookCreate,
    principal: CurrentStudio,
    services: ServicesDep,
    retry: RetryDep,
    response: Response,
) -> WebhookCreated:
    made, replayed = await webhooks.register(
        services, principal.caller, str(body.url), body.events, retry
    )
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return WebhookCreated(secret=made.secret, **WebhookPublic.of(made).model_dump())


@router.get("/webhooks", response_model=WebhookList, summary="The studio's webhooks")
async def list_webhooks(principal: CurrentStudio, services: ServicesDep) -> WebhookList:
    found = await webhooks.list_webhooks(services, principal.caller)
    return WebhookList(webhooks=[WebhookPublic.of(hook) for hook in found])


@router.get("/webhooks/{webhook}", response_model=WebhookPublic, summary="One webhook")
async def get_webhook(
    webhook: ItemId, principal: CurrentStudio, services: ServicesDep
) -> WebhookPublic:
    return WebhookPublic.of(await webhooks.webhook(services, principal.caller, webhook))


@router.delete("/webhooks/{webhook}", status_code=204, summary="Stop a webhook")
async def delete_webhook(
    webhook: ItemId, principal: CurrentStudio, services: ServicesDep
) -> Response:
    await webhooks.delete(services, principal.caller, webhook)
    return Response(status_code=204)


@router.get(
    "/webhooks/{webhook}/deliveries",
    response_model=DeliveryList,
    summary="The delivery log: newest first, each with every attempt",
)
async def deliveries(
    webhook: ItemId,
    principal: CurrentStudio,
    services: ServicesDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> DeliveryList:
    found = await webhooks.deliveries(services, principal.caller, webhook, limit)
    return DeliveryList(
        webhook=webhook,
        deliveries=[DeliveryPublic.of(delivery, attempts) for delivery, attempts in found],
    )
