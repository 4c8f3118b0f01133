"""Pulling from JetStream durable consumers in a fixed order of priority.

A lingering fetch (a pull request that waits on the server for a message) cannot
do priority: a request left waiting on a low-priority consumer takes the next
message there even if more urgent work arrived meanwhile. So every pull here is a
`no_wait` request, asked of each consumer in priority order; the first consumer
that has messages wins, and gives as many as the caller can take at once (a
worker's free slots), so a busy queue costs one request per batch, not per task.
When none has, the loop sleeps until a wake-up (a publish through some bus sends
one on a core subject) or a short poll, which catches what wake-ups cannot
announce: nak delays and ack waits running out on the server. Wake-ups only
shorten the sleep; correctness never depends on them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator, Callable, Sequence

import nats.errors
import nats.js.errors
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from adapters.bus._signal import Signal, wait_for_ticket

log = logging.getLogger(__name__)

FIRST_IDLE_WAIT = 0.05  # seconds; doubled after each empty round up to the poll interval


class _NoAnswer(Exception):
    """The server did not answer a pull in time (a restart, or a busy server)."""


class Puller:
    """One-message, no-wait pulls from one durable consumer, answered on our own inbox.

    Answers that come late (after a pull timed out) are not lost: they wait in the
    inbox and the next pull returns them before it asks the server again.
    """

    def __init__(self, nc: NATS, stream: str, consumer: str) -> None:
        self._nc = nc
        self._next_subject = f"$JS.API.CONSUMER.MSG.NEXT.{stream}.{consumer}"
        self._inbox = nc.new_inbox()
        self._arrived: asyncio.Queue[Msg] = asyncio.Queue()
        self._sub: Subscription | None = None

    async def open(self) -> None:
        self._sub = await self._nc.subscribe(self._inbox, cb=self._on_message)

    async def close(self) -> None:
        if self._sub is not None:
            with contextlib.suppress(nats.errors.Error):
                await self._sub.unsubscribe()
            self._sub = None

    async def _on_message(self, msg: Msg) -> None:
        self._arrived.put_nowait(msg)

    async def next(self, answer_within: float, batch: int = 1) -> list[Msg]:
        """Up to `batch` of the consumer's messages that are ready now (none: [])."""
        late = [m for m in self._take_arrived() if _is_stream_message(m)]
        if late:
            return late
        request = b'{"batch":%d,"no_wait":true}' % max(batch, 1)
        await self._nc.publish(self._next_subject, request, reply=self._inbox)
        got: list[Msg] = []
        try:
            async with asyncio.timeout(answer_within):
                # fewer messages than asked end with a status answer; exactly `batch` do not
                while len(got) < batch and _is_stream_message(msg := await self._arrived.get()):
                    got.append(msg)
        except TimeoutError:
            if not got:
                raise _NoAnswer() from None
        return got

    @property
    def connected(self) -> bool:
        return bool(self._nc.is_connected)

    def _take_arrived(self) -> list[Msg]:
        arrived = []
        while not self._arrived.empty():
            arrived.append(self._arrived.get_nowait())
        return arrived


def _is_stream_message(msg: Msg) -> bool:
    # Status answers ("404 No Messages", "408 Request Timeout") carry no ack subject.
    return msg.reply.startswith("$JS.ACK.")


async def open_pullers(nc: NATS, stream: str, consumers: Sequence[str]) -> list[Puller]:
    pullers = [Puller(nc, stream, consumer) for consumer in consumers]
    for puller in pullers:
        await puller.open()
    return pullers


async def close_pullers(pullers: Sequence[Puller]) -> None:
    for puller in pullers:
        await puller.close()


async def pull_in_order(
    pullers: Sequence[Puller],
    wake: Signal,
    is_closed: Callable[[], bool],
    *,
    poll_interval: float,
    request_timeout: float,
    capacity: Callable[[], int] = lambda: 1,
) -> AsyncGenerator[Msg, None]:
    """Messages from `pullers`, always from the first one that has any, until closed;
    each pull asks for `capacity()` messages (what the caller can take right now)."""
    idle = FIRST_IDLE_WAIT
    sweep = EmptySweep(poll_interval)
    while not is_closed():
        ticket = wake.ticket()
        ready = await _first_ready(pullers, request_timeout, capacity(), sweep.starting(ticket))
        if ready:
            idle = FIRST_IDLE_WAIT
            for msg in ready:
                yield msg
        elif await wait_for_ticket(ticket, idle):
            idle = FIRST_IDLE_WAIT
        else:
            idle = min(idle * 2, poll_interval)


class EmptySweep:
    """Which consumers were found empty since the last wake-up, so a busy worker does
    not ask every higher-priority consumer again before each batch. Anything that
    wakes the bus forgets them all, and so does each poll interval, which catches
    what no wake-up announces (nak delays, ack waits running out)."""

    def __init__(self, poll_interval: float) -> None:
        self._poll_interval = poll_interval
        self._ticket: asyncio.Event | None = None
        self._since = 0.0
        self.empty: set[int] = set()

    def starting(self, ticket: asyncio.Event) -> EmptySweep:
        now = asyncio.get_running_loop().time()
        if ticket is not self._ticket or now - self._since >= self._poll_interval:
            self._ticket, self._since = ticket, now
            self.empty.clear()
        return self


async def _first_ready(
    pullers: Sequence[Puller], request_timeout: float, batch: int, sweep: EmptySweep
) -> list[Msg]:
    for index, puller in enumerate(pullers):
        if index in sweep.empty:
            continue
        if not puller.connected:
            return []
        try:
            ready = await puller.next(request_timeout, batch)
        except (_NoAnswer, nats.errors.Error) as exc:
            # Give up this round rather than skip to a lower priority: the next round
            # starts again from the top. (nats-server 2.9 also leaves the pull that
            # runs into a message past max_deliver unanswered.)
            log.debug("pull interrupted: %r", exc)
            return []
        if ready:
            return ready
        sweep.empty.add(index)
    return []
