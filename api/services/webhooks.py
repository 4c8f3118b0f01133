"""A studio's webhooks: register a URL for finished executions (its signing secret is
shown once), list and delete them, and read back every delivery with each attempt.
Deliveries themselves are made by `api.webhooks.WebhookCenter`."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterable

from api.services import Caller, Services
from api.services.tenancy import now_micros
from engine.errors import NotFound
from engine.tenancy import DeliveryAttempt, Webhook, WebhookDelivery

EVENT_NAMES = ("execution.completed", "execution.failed", "execution.canceled")


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


async def register(services: Services, caller: Caller, url: str, events: Iterable[str]) -> Webhook:
    """A new webhook of the caller's studio; a destination that is not public (or
    whose URL carries credentials) is refused, naming the reason."""
    await services.webhook_transport.check(url)
    webhook = Webhook(
        id=f"wh_{uuid.uuid4().hex[:16]}",
        studio=caller.studio,
        url=url,
        secret=new_secret(),
        events=tuple(sorted(set(events))),
        created_at=now_micros(),
    )
    await services.tenancy_store.create_webhook(webhook)
    return webhook


async def list_webhooks(services: Services, caller: Caller) -> list[Webhook]:
    return await services.tenancy_store.list_webhooks(caller.studio)


async def webhook(services: Services, caller: Caller, webhook_id: str) -> Webhook:
    found = await services.tenancy_store.webhook(caller.studio, webhook_id)
    if found is None:
        raise NotFound(f"no webhook {webhook_id!r}")
    return found


async def delete(services: Services, caller: Caller, webhook_id: str) -> None:
    store = services.tenancy_store
    if not await store.delete_webhook(caller.studio, webhook_id, now_micros()):
        raise NotFound(f"no webhook {webhook_id!r}")


async def deliveries(
    services: Services, caller: Caller, webhook_id: str, limit: int = 100
) -> list[tuple[WebhookDelivery, list[DeliveryAttempt]]]:
    """The newest deliveries of a webhook, each with every attempt."""
    await webhook(services, caller, webhook_id)
    return await services.tenancy_store.list_deliveries(caller.studio, webhook_id, limit)
