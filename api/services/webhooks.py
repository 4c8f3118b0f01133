"""A studio's webhooks: register a URL for finished executions (its signing secret is
shown once), list and delete them, and read back every delivery with each attempt.
Deliveries themselves are made by `api.webhooks.WebhookCenter`."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Iterable
from typing import Any

import msgspec

from api.services import Caller, Services, idempotency
from api.services.idempotency import Retry
from api.services.tenancy import now_micros
from engine.errors import NotFound
from engine.tenancy import DeliveryAttempt, Webhook, WebhookDelivery

EVENT_NAMES = ("execution.completed", "execution.failed", "execution.canceled")


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


async def register(
    services: Services,
    caller: Caller,
    url: str,
    events: Iterable[str],
    retry: Retry | None = None,
) -> tuple[Webhook, bool]:
    """A new webhook of the caller's studio, and whether it is a retry's answer (with
    an idempotency key, the first request's webhook, secret included); a destination
    that is not public (or whose URL carries credentials) is refused, naming why."""
    await services.webhook_transport.check(url)
    chosen = tuple(sorted(set(events)))
    if retry is None or retry.key is None:
        return await _create(services, caller, url, chosen, f"wh_{uuid.uuid4().hex[:16]}"), False
    fields = {"url": url, "events": list(chosen), "idempotency_key": retry.key}

    async def first(held: dict[str, Any]) -> bytes:
        # the id follows the key's record, so a retry taking over a dead holder's
        # request finds the webhook that request may have made
        hook = "wh_" + hashlib.sha256(str(held["id"]).encode()).hexdigest()[:16]
        made = await services.tenancy_store.webhook(caller.studio, hook)
        return msgspec.json.encode(made or await _create(services, caller, url, chosen, hook))

    return await idempotency.once(
        services,
        caller,
        fields,
        retry.request,
        first,
        lambda b: msgspec.json.decode(b, type=Webhook),
    )


async def _create(
    services: Services, caller: Caller, url: str, events: tuple[str, ...], hook: str
) -> Webhook:
    webhook = Webhook(
        id=hook,
        studio=caller.studio,
        url=url,
        secret=new_secret(),
        events=events,
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
