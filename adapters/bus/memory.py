"""The embedded task bus: everything in one process, on asyncio.

With no NATS configured, the engine and its workers share one `MemoryTaskBus`. It
keeps JetStream's semantics so that code written against one runs on the other:
a priority queue per lane (higher tier first, then first in first out), leases
with an ack wait, nak with a delay, term, in-progress, `max_deliver` ending in a
FAILED/LOST result, a duplicate window on message ids, results that are
delivered again until acknowledged, and cancellations broadcast to every
listener. Nothing survives the process: that is what NATS is for.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Sequence

from adapters.bus._dead_letter import lost_result
from adapters.bus._errors import BusClosed
from adapters.bus._memory_queue import Lease, LeaseQueue, RecentIds
from adapters.bus._signal import Signal
from engine.tasks import LANES, Cancellation, Lane, TaskMessage, TaskResult, WorkerPresence

__all__ = ["MemoryTaskBus"]


class MemoryTaskDelivery:
    """One delivery of a task; settling an outdated delivery does nothing."""

    def __init__(self, lease: Lease[TaskMessage], queue: LeaseQueue[TaskMessage]) -> None:
        self._lease = lease
        self._queue = queue
        self.task = lease.item
        self.delivery_count = lease.deliveries

    async def ack(self) -> None:
        self._queue.finish(self._lease)

    async def nak(self, delay: float = 0.0) -> None:
        self._queue.nak(self._lease, delay)

    async def term(self) -> None:
        self._queue.finish(self._lease)

    async def in_progress(self) -> None:
        self._queue.touch(self._lease)


class MemoryResultDelivery:
    def __init__(self, lease: Lease[TaskResult], queue: LeaseQueue[TaskResult]) -> None:
        self._lease = lease
        self._queue = queue
        self.result = lease.item

    async def ack(self) -> None:
        self._queue.finish(self._lease)


class MemoryTaskBus:
    """`engine.ports.TaskBus` inside one process.

    Options: `ack_wait` (seconds a delivery may stay unsettled before it is
    delivered again, default 30), `max_deliver` (deliveries before the task is
    given up as LOST, default 5), `duplicate_window` (seconds a message id is
    remembered, default 120).
    """

    def __init__(
        self, *, ack_wait: float = 30.0, max_deliver: int = 5, duplicate_window: float = 120.0
    ) -> None:
        if ack_wait <= 0 or max_deliver < 1 or duplicate_window < 0:
            raise ValueError("ack_wait must be > 0, max_deliver >= 1, duplicate_window >= 0")
        self._changed = Signal()
        self._tasks = {
            lane: LeaseQueue[TaskMessage](ack_wait, max_deliver, self._changed.fire, self._give_up)
            for lane in LANES
        }
        self._results = LeaseQueue[TaskResult](ack_wait, None, self._changed.fire)
        self._task_ids = RecentIds(duplicate_window)
        self._result_ids = RecentIds(duplicate_window)
        self._listeners: set[asyncio.Queue[Cancellation | None]] = set()
        self._present: dict[str, WorkerPresence] = {}
        self._closed = False

    async def publish_task(self, task: TaskMessage) -> None:
        self._check_open()
        if self._task_ids.add(task.message_id):
            self._tasks[task.lane].put(task, priority=task.tier)

    async def tasks(
        self, lanes: Sequence[Lane], capacity: Callable[[], int] | None = None
    ) -> AsyncIterator[MemoryTaskDelivery]:
        # one lease at a time: nothing to batch in memory, so `capacity` is not needed
        queues = [self._tasks[Lane(lane)] for lane in lanes]
        if not queues:
            raise ValueError("tasks() needs at least one lane")
        while not self._closed:
            ticket = self._changed.ticket()
            for queue in queues:  # the order asked for is the order of priority
                lease = queue.take()
                if lease is not None:
                    yield MemoryTaskDelivery(lease, queue)
                    break
            else:
                await ticket.wait()

    async def publish_result(self, result: TaskResult) -> None:
        self._check_open()
        self._put_result(result)

    async def results(self) -> AsyncIterator[MemoryResultDelivery]:
        while not self._closed:
            ticket = self._changed.ticket()
            lease = self._results.take()
            if lease is None:
                await ticket.wait()
            else:
                yield MemoryResultDelivery(lease, self._results)

    async def cancel(self, cancellation: Cancellation) -> None:
        self._check_open()
        for listener in self._listeners:
            listener.put_nowait(cancellation)

    async def cancellations(self) -> AsyncIterator[Cancellation]:
        listener: asyncio.Queue[Cancellation | None] = asyncio.Queue()
        self._listeners.add(listener)
        try:
            while not self._closed and (cancellation := await listener.get()) is not None:
                yield cancellation
        finally:
            self._listeners.discard(listener)

    async def queue_depth(self) -> dict[Lane, int]:
        """Tasks per lane not finished yet: waiting for a worker or being worked on."""
        return {lane: len(queue) for lane, queue in self._tasks.items()}

    async def announce(self, presence: WorkerPresence) -> None:
        self._check_open()
        self._present[presence.name] = presence

    async def workers(self) -> list[WorkerPresence]:
        now = time.time()
        return sorted((p for p in self._present.values() if p.alive(now)), key=lambda p: p.name)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for queue in self._tasks.values():
            queue.close()
        self._results.close()
        for listener in self._listeners:
            listener.put_nowait(None)
        self._changed.fire()

    def _give_up(self, task: TaskMessage, deliveries: int) -> None:
        self._put_result(lost_result(task, deliveries))

    def _put_result(self, result: TaskResult) -> None:
        if self._result_ids.add(result.message_id):
            self._results.put(result)

    def _check_open(self) -> None:
        if self._closed:
            raise BusClosed()
