"""Deliveries of the JetStream bus: a task or result message and the ways to settle it.

A settle that does not reach the server is logged, not raised: the message then
comes back after the ack wait, which is what a crashed worker would cause too,
and every consumer of the bus already copes with that.

Acks are plain (sent, not confirmed): a worker acks a task after its result is
published and confirmed, and the folder acks results after their events are
appended, so an ack lost on the way costs a redelivery that is folded once (the
result's message id and the task lifecycle de-duplicate it), which is all a
confirmed ack that failed could have done too; waiting for the confirmation cost
a round trip per task.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

import msgspec
import nats.errors
from nats.aio.msg import Msg

from adapters.bus._errors import translates_bus_failures
from engine.tasks import Lane, TaskMessage, TaskResult

log = logging.getLogger(__name__)

T = TypeVar("T")


@translates_bus_failures
class JetStreamTaskDelivery:
    """One delivery of a task; `on_nak(lane, delay)` lets the bus wake workers when
    the task is due again."""

    def __init__(
        self,
        msg: Msg,
        task: TaskMessage,
        on_nak: Callable[[Lane, float], None],
    ) -> None:
        self._msg = msg
        self._on_nak = on_nak
        self.task = task
        self.delivery_count = msg.metadata.num_delivered

    async def ack(self) -> None:
        await self._settle("ack", self._msg.ack())

    async def nak(self, delay: float = 0.0) -> None:
        await self._settle("nak", self._msg.nak(delay=delay if delay > 0 else None))
        self._on_nak(self.task.lane, delay)

    async def term(self) -> None:
        await self._settle("term", self._msg.term())

    async def in_progress(self) -> None:
        await self._settle("in_progress", self._msg.in_progress())

    async def _settle(self, what: str, call: Awaitable[object]) -> None:
        try:
            await call
        except nats.errors.Error as exc:
            log.warning("%s of task %s failed: %r", what, self.task.message_id, exc)


@translates_bus_failures
class JetStreamResultDelivery:
    def __init__(self, msg: Msg, result: TaskResult) -> None:
        self._msg = msg
        self.result = result

    async def ack(self) -> None:
        try:
            await self._msg.ack()
        except nats.errors.Error as exc:
            log.warning("ack of result %s failed: %r", self.result.message_id, exc)


async def decode_or_term(msg: Msg, kind: type[T]) -> T | None:
    """The message body as `kind`; a body that cannot decode is poison: term it."""
    try:
        return msgspec.json.decode(msg.data, type=kind)
    except msgspec.DecodeError as exc:
        log.error("terminated a message on %s that does not decode: %s", msg.subject, exc)
        with contextlib.suppress(nats.errors.Error):
            await msg.term()
        return None
