"""Webhooks: a studio's URLs told when its executions complete, fail or are canceled.

`WebhookCenter.run` does two things at once:

- it follows the log from its checkpoint (through the process's stream hub) and,
  for every `ExecutionFinished`, records
  one delivery per matching webhook of the execution's studio (at most one per
  webhook and event position, so a restart or a second API process adds nothing);
- it sends due deliveries, each leased to one sender at a time, and logs every
  attempt. A delivery that gets no 2xx is tried again after 1, 2, 4, ... seconds
  (`backoff`, doubling, at most `max_backoff`) until `max_attempts`, then is failed.

Each request is signed: `Scenestate-Signature: t=<unix time>,v1=<hex>`, the hex being
HMAC-SHA256 with the webhook's secret over `<t>.<body>`; `verify_signature` is what
a receiver runs (reject stale timestamps to stop replays).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import time
import uuid
from collections.abc import Sequence

from api.metrics import Metrics
from api.services.tenancy import now_micros
from api.streaming import StreamHub
from engine.events import ExecutionFinished, RecordedEvent
from engine.ports import EventStore, TenancyStore, WebhookTransport
from engine.tenancy import (
    DeliveryAttempt,
    DeliveryOutcome,
    DeliveryStatus,
    Webhook,
    WebhookDelivery,
)

log = logging.getLogger("scenestate.webhooks")

_BY_STATUS = {
    "succeeded": "execution.completed",
    "failed": "execution.failed",
    "canceled": "execution.canceled",
}
SIGNATURE_HEADER = "Scenestate-Signature"


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify_signature(
    secret: str, header: str, body: bytes, *, tolerance: float = 300.0, now: float | None = None
) -> bool:
    """True when `header` signs `body` with `secret` and is at most `tolerance` s old."""
    fields = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        timestamp = int(fields["t"])
    except (KeyError, ValueError):
        return False
    if abs((time.time() if now is None else now) - timestamp) > tolerance:
        return False
    expected = sign(secret, timestamp, body).split("v1=", 1)[1]
    return hmac.compare_digest(expected, fields.get("v1", ""))


def event_name(status: str) -> str:
    return _BY_STATUS.get(status, f"execution.{status}")


class WebhookCenter:
    CHECKPOINT = "api.webhooks"

    def __init__(
        self,
        events: EventStore,
        hub: StreamHub,
        store: TenancyStore,
        transport: WebhookTransport,
        metrics: Metrics,
        *,
        backoff: float = 1.0,
        max_backoff: float = 300.0,
        max_attempts: int = 8,
        poll: float = 1.0,
        lease: float = 60.0,
    ) -> None:
        self.events = events
        self.hub = hub
        self.store = store
        self.transport = transport
        self.metrics = metrics
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.max_attempts = max_attempts
        self.poll = poll
        self.lease = lease
        self._due = asyncio.Event()

    async def run(self) -> None:
        async with asyncio.TaskGroup() as group:
            group.create_task(self._record())
            group.create_task(self._send())

    async def _record(self) -> None:
        position = await self.events.load_checkpoint(self.CHECKPOINT)
        saved = time.monotonic()
        async for batch in self.hub.follow(position):
            finished = [e for e in batch if isinstance(e.payload, ExecutionFinished)]
            hooks = {
                studio: await self.store.list_webhooks(studio)
                for studio in {event.metadata.studio for event in finished}
            }
            deliveries = [d for event in finished for d in self._deliveries_for(event, hooks)]
            recorded = await self.store.add_deliveries(deliveries) if deliveries else 0
            if recorded:
                self._due.set()
            last = batch[-1].position
            assert last is not None
            # Deliveries are recorded once per webhook and position whatever happens,
            # so the checkpoint may lag: it is saved with news, or now and then.
            if deliveries or time.monotonic() - saved >= 1.0:
                await self.events.save_checkpoint(self.CHECKPOINT, last)
                saved = time.monotonic()

    def _deliveries_for(
        self, event: RecordedEvent, hooks: dict[str, list[Webhook]]
    ) -> list[WebhookDelivery]:
        """The deliveries of one finished execution, to the studio's webhooks (`hooks`,
        looked up once per batch) that asked for how it ended."""
        assert isinstance(event.payload, ExecutionFinished) and event.position is not None
        studio = event.metadata.studio
        name = event_name(event.payload.status)
        now = now_micros()
        deliveries = []
        for hook in hooks[studio]:
            if name not in hook.events:
                continue
            delivery = str(uuid.uuid4())
            body = {
                "id": delivery,
                "event": name,
                "created_at": event.recorded_at.isoformat(),
                "data": {
                    "execution_id": event.payload.execution,
                    "status": event.payload.status,
                    "scene": event.scene,
                    "branch": event.branch,
                    "version": event.version,
                    "position": event.position,
                    "intent_id": event.metadata.intent_id or None,
                },
            }
            deliveries.append(
                WebhookDelivery(
                    id=delivery,
                    webhook=hook.id,
                    studio=studio,
                    event=name,
                    execution=event.payload.execution,
                    scene=event.scene,
                    branch=event.branch,
                    position=event.position,
                    body=json.dumps(body, separators=(",", ":")),
                    status=DeliveryStatus.PENDING,
                    attempts=0,
                    created_at=now,
                    next_attempt_at=now,
                )
            )
        return deliveries

    async def _send(self) -> None:
        while True:
            now = now_micros()
            due = await self.store.claim_due(now, now + int(self.lease * 1e6), 32)
            if due:
                hooks = await self._secrets(due)
                await asyncio.gather(*(self._attempt(d, hooks) for d in due))
                continue
            self._due.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.poll):
                    await self._due.wait()

    async def _secrets(self, due: Sequence[WebhookDelivery]) -> dict[str, Webhook]:
        found = {}
        for delivery in due:
            hook = await self.store.webhook(delivery.studio, delivery.webhook)
            if hook is not None:
                found[hook.id] = hook
        return found

    async def _attempt(self, delivery: WebhookDelivery, hooks: dict[str, Webhook]) -> None:
        attempt = delivery.attempts + 1
        hook = hooks.get(delivery.webhook)
        started = time.perf_counter()
        status_code: int | None = None
        error: str | None = None
        if hook is None:
            error = "the webhook was deleted"
        else:
            body = delivery.body.encode()
            headers = {
                "Content-Type": "application/json",
                "User-Agent": "scenestate-webhooks/1",
                "Scenestate-Event": delivery.event,
                "Scenestate-Delivery": delivery.id,
                "Scenestate-Attempt": str(attempt),
                SIGNATURE_HEADER: sign(hook.secret, int(time.time()), body),
            }
            try:
                answer = await self.transport.post(hook.url, body, headers)
                status_code, error = answer.status_code, answer.error
            except Exception as exc:  # one delivery's trouble, never the sender's end
                log.exception("webhook delivery raised", extra={"delivery": delivery.id})
                error = f"not sent: {type(exc).__name__}: {exc}"[:500]
            if status_code is not None and not 200 <= status_code < 300:
                error = f"the receiver answered {status_code}"
        took = (time.perf_counter() - started) * 1000
        await self._settle(delivery, attempt, status_code, error, took, gone=hook is None)

    async def _settle(
        self,
        delivery: WebhookDelivery,
        attempt: int,
        status_code: int | None,
        error: str | None,
        took_ms: float,
        *,
        gone: bool,
    ) -> None:
        now = now_micros()
        if error is None:
            status, next_at = DeliveryStatus.DELIVERED, now
        elif gone or attempt >= self.max_attempts:
            status, next_at = DeliveryStatus.FAILED, now
        else:
            wait = min(self.backoff * 2 ** (attempt - 1), self.max_backoff)
            status, next_at = DeliveryStatus.PENDING, now + int(wait * 1e6)
        self.metrics.webhooks.labels("delivered" if error is None else "failed").inc()
        if error is not None:
            log.warning(
                "webhook delivery failed",
                extra={
                    "delivery": delivery.id,
                    "execution_id": delivery.execution,
                    "attempt": attempt,
                    "reason": error,
                },
            )
        await self.store.record_attempt(
            DeliveryAttempt(delivery.id, attempt, now, status_code, error, round(took_ms, 3)),
            DeliveryOutcome(
                status=status,
                attempts=attempt,
                next_attempt_at=next_at,
                delivered_at=now if error is None else None,
                last_status_code=status_code,
                last_error=error,
            ),
        )
