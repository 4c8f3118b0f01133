"""The task bus on NATS JetStream (nats-py), for engines and workers in many processes.

Layout on the server (names from the `prefix` option, default "scenestate"):

    stream <prefix>_tasks     work queue, subjects <prefix>.tasks.<lane>.<band>
        consumer tasks_<lane>_<band>   durable pull, explicit ack, ack_wait, max_deliver
    stream <prefix>_results   work queue, subject <prefix>.results
        consumer results                durable pull, explicit ack, delivered until acked
    stream <prefix>_dead      work queue, captures $JS.EVENT.ADVISORY.CONSUMER.
                              MAX_DELIVERIES.<prefix>_tasks.* (the server's advisories)
        consumer dead_letters           durable pull, explicit ack
    core subjects             <prefix>.cancel (broadcast cancellations),
                              <prefix>.ready.<lane|results> (wake-ups, no payload)

Every message body is msgspec JSON; `Nats-Msg-Id` is the task's or result's
`message_id`, so the streams' duplicate window drops a repeated publish.

Priority: a band is a range of studio tiers (`tier` 0..tiers-1 each get one; higher
tiers share the top band). Work-queue consumers may not overlap, so each
lane-and-band subject has its own durable consumer, shared by every worker that
serves the lane (JetStream hands each message to one puller at a time). A worker
asks the consumers one by one in order of priority, lanes as it asked for them
and bands from the top down, with `no_wait` pulls (see `adapters.bus._pull`).

Dead letters: after `max_deliver` deliveries the server stops delivering a task
and publishes a max-deliveries advisory naming its stream sequence. The
`<prefix>_dead` stream stores those advisories, so none is lost while no bus
runs; every bus drains them through one shared consumer: fetch the task by
sequence, publish a FAILED/LOST result (de-duplicated by its message id, so a
second attempt changes nothing), delete the task from the stream, ack the
advisory. nats-server notices an exhausted task when the consumer is next asked
for work, which the workers of that lane do all the time
(`adapters.bus._jetstream_dead` does the burying).

Reconnects: the client reconnects forever (`max_reconnect_attempts=-1`), every
iterator survives a server restart by treating failed pulls as an empty round,
publishes are retried with the same message id until `publish_timeout`, and the
layout is re-asserted after each reconnect in case the server came back empty.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import msgspec
import nats
import nats.errors
import nats.js.errors
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js import api as js_api

from adapters.bus._errors import BusClosed, BusUnavailable, translates_bus_failures
from adapters.bus._jetstream_dead import bury
from adapters.bus._jetstream_delivery import (
    JetStreamResultDelivery,
    JetStreamTaskDelivery,
    decode_or_term,
)
from adapters.bus._jetstream_layout import Layout, delete_layout, ensure_layout
from adapters.bus._pull import close_pullers, open_pullers, pull_in_order
from adapters.bus._signal import Signal
from engine.tasks import LANES, Cancellation, Lane, TaskMessage, TaskResult, WorkerPresence

__all__ = ["JetStreamTaskBus"]

log = logging.getLogger(__name__)

RESULTS_PER_PULL = 256  # the result folder folds them in batches of about this size
_STORAGE = {"file": js_api.StorageType.FILE, "memory": js_api.StorageType.MEMORY}

# Errors a restart or a slow server cause; the operation is worth trying again.
TRANSIENT_ERRORS: tuple[type[Exception], ...] = (
    nats.errors.TimeoutError,
    nats.errors.NoRespondersError,
    nats.errors.StaleConnectionError,
    nats.errors.ConnectionReconnectingError,
    nats.errors.OutboundBufferLimitError,
    nats.js.errors.NoStreamResponseError,
    nats.js.errors.ServiceUnavailableError,
    nats.js.errors.ServerError,
    TimeoutError,
)


@translates_bus_failures
class JetStreamTaskBus:
    """`engine.ports.TaskBus` on NATS JetStream; connects on first use.

    Options: `prefix` (names of streams and subjects, default "scenestate"),
    `ack_wait` (seconds, default 30), `max_deliver` (default 5),
    `duplicate_window` (seconds, default 120), `tiers` (tier bands per lane,
    default 4), `poll_interval` (longest idle sleep between pulls, default 0.5 s),
    `request_timeout` (per server request, default 2 s), `publish_timeout` (how
    long a publish is retried through outages, default 30 s),
    `reconnect_time_wait` (default 0.25 s), `storage` ("file" or "memory").
    """

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "scenestate",
        ack_wait: float = 30.0,
        max_deliver: int = 5,
        duplicate_window: float = 120.0,
        tiers: int = 4,
        poll_interval: float = 0.5,
        request_timeout: float = 2.0,
        publish_timeout: float = 30.0,
        reconnect_time_wait: float = 0.25,
        storage: str = "file",
    ) -> None:
        if ack_wait <= 0 or max_deliver < 1 or duplicate_window < 0 or poll_interval <= 0:
            raise ValueError("ack_wait and poll_interval must be > 0 and max_deliver >= 1")
        if storage not in _STORAGE:
            raise ValueError(f"storage is 'file' or 'memory', not {storage!r}")
        self._url = url
        self._layout = Layout(prefix, tiers)
        self._ack_wait = ack_wait
        self._max_deliver = max_deliver
        self._duplicate_window = duplicate_window
        self._storage = _STORAGE[storage]
        self._poll_interval = poll_interval
        self.request_timeout = request_timeout
        self._publish_timeout = publish_timeout
        self._reconnect_time_wait = reconnect_time_wait
        self._nc: NATS | None = None
        self._js: JetStreamContext | None = None
        self._connecting = asyncio.Lock()
        self._closed = False
        self._tasks_ready, self._results_ready, self._dead_ready = Signal(), Signal(), Signal()
        self._listeners: set[asyncio.Queue[Cancellation | None]] = set()
        self._background: set[asyncio.Task[None]] = set()
        self._waking: set[str] = set()  # wake-ups about to be sent (see _wake_soon)

    # -- tasks --------------------------------------------------------------------

    async def publish_task(self, task: TaskMessage) -> None:
        nc, js = await self._connected()
        subject = self._layout.task_subject(task.lane, task.tier)
        await self._publish(js, subject, msgspec.json.encode(task), task.message_id)
        self._wake_soon(nc, task.lane)

    async def tasks(
        self, lanes: Sequence[Lane], capacity: Callable[[], int] | None = None
    ) -> AsyncIterator[JetStreamTaskDelivery]:
        wanted = tuple(Lane(lane) for lane in lanes)
        if not wanted:
            raise ValueError("tasks() needs at least one lane")
        consumers = self._layout.task_consumers(wanted)
        pulled = self._pull(self._layout.tasks_stream, consumers, self._tasks_ready, capacity)
        async for msg in pulled:
            task = await decode_or_term(msg, TaskMessage)
            if task is not None:
                yield JetStreamTaskDelivery(msg, task, self._on_nak)

    async def queue_depth(self) -> dict[Lane, int]:
        """Tasks per lane not finished yet: waiting for a worker or being worked on."""
        _, js = await self._connected()
        info = await js.stream_info(
            self._layout.tasks_stream, subjects_filter=f"{self._layout.prefix}.tasks.>"
        )
        depth = dict.fromkeys(LANES, 0)
        for subject, count in (info.state.subjects or {}).items():
            depth[self._layout.lane_of(subject)] += count
        return depth

    # -- results ------------------------------------------------------------------

    async def publish_result(self, result: TaskResult) -> None:
        nc, js = await self._connected()
        await self._publish(
            js, self._layout.results_subject, msgspec.json.encode(result), result.message_id
        )
        self._wake_soon(nc, "results")

    async def results(self) -> AsyncIterator[JetStreamResultDelivery]:
        consumers = [self._layout.results_consumer]
        pulled = self._pull(
            self._layout.results_stream, consumers, self._results_ready, _results_per_pull
        )
        async for msg in pulled:
            result = await decode_or_term(msg, TaskResult)
            if result is not None:
                yield JetStreamResultDelivery(msg, result)

    # -- cancellations ------------------------------------------------------------

    async def cancel(self, cancellation: Cancellation) -> None:
        nc, _ = await self._connected()
        await nc.publish(self._layout.cancel_subject, msgspec.json.encode(cancellation))
        try:
            # Out to the server before this returns, unless the connection is down: then
            # the client sends it after reconnecting.
            await nc.flush(timeout=max(1, round(self.request_timeout)))
        except nats.errors.TimeoutError:
            log.warning("cancellation of %s is waiting for the connection", cancellation)

    async def cancellations(self) -> AsyncIterator[Cancellation]:
        if self._closed:
            return
        nc, _ = await self._connected()
        listener: asyncio.Queue[Cancellation | None] = asyncio.Queue()

        async def arrived(msg: Msg) -> None:
            try:
                listener.put_nowait(msgspec.json.decode(msg.data, type=Cancellation))
            except msgspec.DecodeError as exc:
                log.error("dropped a cancellation that does not decode: %s", exc)

        self._listeners.add(listener)
        sub = await nc.subscribe(self._layout.cancel_subject, cb=arrived)
        try:
            while not self._closed and (cancellation := await listener.get()) is not None:
                yield cancellation
        finally:
            self._listeners.discard(listener)
            with contextlib.suppress(nats.errors.Error):
                await sub.unsubscribe()

    # -- workers ------------------------------------------------------------------

    async def announce(self, presence: WorkerPresence) -> None:
        _, js = await self._connected()
        subject = self._layout.worker_subject(presence.name)
        await js.publish(subject, msgspec.json.encode(presence), timeout=self.request_timeout)

    async def workers(self) -> list[WorkerPresence]:
        _, js = await self._connected()
        stream = self._layout.workers_stream
        info = await js.stream_info(stream, subjects_filter=f"{self._layout.prefix}.workers.*")
        now, found = time.time(), []
        for subject in info.state.subjects or {}:
            with contextlib.suppress(nats.js.errors.NotFoundError, msgspec.DecodeError):
                last = await js.get_last_msg(stream, subject)
                presence = msgspec.json.decode(last.data or b"", type=WorkerPresence)
                if presence.alive(now):
                    found.append(presence)
        return sorted(found, key=lambda p: p.name)

    # -- lifecycle ----------------------------------------------------------------

    async def close(self, delete: bool = False) -> None:
        """Stop every iterator and disconnect; `delete=True` also removes the streams
        (tests use it; production never should)."""
        if self._closed:
            return
        self._closed = True
        for signal in (self._tasks_ready, self._results_ready, self._dead_ready):
            signal.fire()
        for listener in self._listeners:
            listener.put_nowait(None)
        for task in self._background:
            task.cancel()
        for task in list(self._background):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        nc = self._nc or (await self._plain_connection() if delete else None)
        if nc is None:
            return
        with contextlib.suppress(nats.errors.Error):
            if delete:
                await delete_layout(nc.jetstream(timeout=self.request_timeout), self._layout)
            await nc.close()

    # -- internals ----------------------------------------------------------------

    async def _connected(self) -> tuple[NATS, JetStreamContext]:
        if self._closed:
            raise BusClosed()
        if self._nc is None or self._js is None:
            async with self._connecting:  # one connection, however many callers wait
                if self._nc is None or self._js is None:
                    await self._connect()
        assert self._nc is not None and self._js is not None
        return self._nc, self._js

    async def _connect(self) -> None:
        # The client below reconnects forever, its first connection too: a server that
        # is not there at all would be waited for in silence. Ask once first.
        probe = await self._plain_connection()
        if probe is None:
            raise BusUnavailable(f"no NATS server answers at {self._url}")
        await probe.close()
        nc = await nats.connect(
            self._url,
            name=f"scenestate-bus-{self._layout.prefix}",
            allow_reconnect=True,
            max_reconnect_attempts=-1,
            reconnect_time_wait=self._reconnect_time_wait,
            error_cb=_log_error,
            reconnected_cb=self._on_reconnected,
        )
        try:
            js = nc.jetstream(timeout=self.request_timeout)
            await self._ensure_layout(js)
            await nc.subscribe(self._layout.ready_subject("*"), cb=self._on_ready)
            await nc.subscribe(self._layout.advisory_subject, cb=self._on_advisory)
        except BaseException:
            await nc.close()
            raise
        if self._closed:  # closed while we were connecting
            await nc.close()
            raise BusClosed()
        self._nc, self._js = nc, js
        self._spawn(self._bury_dead_letters())

    async def _plain_connection(self) -> NATS | None:
        with contextlib.suppress(nats.errors.Error, OSError):
            return await nats.connect(
                self._url,
                allow_reconnect=False,
                # a server is dropped after this many tries (0 would mean never, and
                # the default 60 tries two minutes)
                max_reconnect_attempts=1,
                reconnect_time_wait=0.2,
                connect_timeout=2,
                error_cb=_quiet,
            )
        return None

    async def _ensure_layout(self, js: JetStreamContext) -> None:
        await ensure_layout(
            js,
            self._layout,
            ack_wait=self._ack_wait,
            max_deliver=self._max_deliver,
            duplicate_window=self._duplicate_window,
            storage=self._storage,
        )

    async def _pull(
        self,
        stream: str,
        consumers: Sequence[str],
        wake: Signal,
        capacity: Callable[[], int] | None = None,
    ) -> AsyncIterator[Msg]:
        if self._closed:
            return  # like every iterator of a closed bus: at its end
        nc, _ = await self._connected()
        pullers = await open_pullers(nc, stream, consumers)
        messages = pull_in_order(
            pullers,
            wake,
            lambda: self._closed,
            poll_interval=self._poll_interval,
            request_timeout=self.request_timeout,
            capacity=capacity or (lambda: 1),
        )
        try:
            async with contextlib.aclosing(messages):
                async for msg in messages:
                    yield msg
        finally:
            await close_pullers(pullers)

    async def _publish(self, js: JetStreamContext, subject: str, body: bytes, msg_id: str) -> None:
        """Publish until the stream confirms; the same `Nats-Msg-Id` makes a retry after
        a lost confirmation a no-op on the server."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._publish_timeout
        while True:
            try:
                await js.publish(
                    subject, body, timeout=self.request_timeout, headers={"Nats-Msg-Id": msg_id}
                )
                return
            except TRANSIENT_ERRORS as exc:
                if self._closed:
                    raise BusClosed() from exc
                if loop.time() >= deadline:
                    raise BusUnavailable(f"NATS did not store {msg_id}: {exc!r}") from exc
                await asyncio.sleep(self._reconnect_time_wait)

    def _wake_soon(self, nc: NATS, what: str) -> None:
        """One wake-up for every publish of `what` confirmed in this turn of the event
        loop: the dispatcher's many publishes at once would otherwise send as many
        wake-ups, and each sets every worker of the lane pulling."""
        if what in self._waking:
            return
        self._waking.add(what)

        async def wake() -> None:
            self._waking.discard(what)
            await self._wake(nc, what)

        self._spawn(wake())

    async def _wake(self, nc: NATS, what: str) -> None:
        with contextlib.suppress(nats.errors.Error):
            await nc.publish(self._layout.ready_subject(what), b"")

    def _on_nak(self, lane: Lane, delay: float) -> None:
        """After a nak: wake this process's workers when the task is due again, and
        other processes' at once for an immediate redelivery."""
        if delay > 0:
            asyncio.get_running_loop().call_later(delay, self._tasks_ready.fire)
        elif self._nc is not None:
            self._spawn(self._wake(self._nc, lane))

    async def _on_ready(self, msg: Msg) -> None:
        if msg.subject.rsplit(".", 1)[-1] == "results":
            self._results_ready.fire()
        else:
            self._tasks_ready.fire()

    async def _on_advisory(self, msg: Msg) -> None:
        self._dead_ready.fire()

    async def _on_reconnected(self) -> None:
        self._spawn(self._restore_layout())

    async def _restore_layout(self) -> None:
        """A server that came back without its store has lost the streams: make them
        again (with a store, this changes nothing)."""
        while not self._closed and self._js is not None:
            try:
                await self._ensure_layout(self._js)
            except nats.errors.Error as exc:
                log.debug("layout not restored yet: %r", exc)
                await asyncio.sleep(self._reconnect_time_wait)
            else:
                self._tasks_ready.fire()
                self._results_ready.fire()
                self._dead_ready.fire()
                return

    async def _bury_dead_letters(self) -> None:
        consumers = [self._layout.dead_consumer]
        async for advisory in self._pull(self._layout.dead_stream, consumers, self._dead_ready):
            try:
                _, js = await self._connected()
                await bury(
                    js,
                    self._layout.tasks_stream,
                    advisory,
                    self.publish_result,
                    self.request_timeout,
                )
            except BusClosed:
                return
            except Exception as exc:
                # Not acked, so the advisory comes back after the ack wait and is tried
                # again (here or in another process); the loop itself must live on.
                log.warning("dead letter not buried yet: %r", exc)

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)


async def _quiet(error: Exception) -> None:
    """A probe's failure is its answer (None), not news to log."""


async def _log_error(exc: Exception) -> None:
    # Disconnects during a server restart land here; the client reconnects by itself.
    log.info("NATS connection: %r", exc)


def _results_per_pull() -> int:
    return RESULTS_PER_PULL
