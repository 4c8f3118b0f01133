"""The contract of `engine.ports.TaskBus`, one suite for every adapter.

A test module subclasses `BusContract` and provides a `backend` fixture: a
`BusBackend` whose buses share one set of queues (on JetStream one prefix, each
bus its own connection, as separate processes would have) and that removes
everything it made at the end. Timing assertions only ever say "within
PATIENCE" or "not before"; a slow machine makes these tests slower, never red.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, Generic, TypeVar

import pytest

from adapters.bus import BusClosed
from engine.ports import ResultDelivery, TaskBus, TaskDelivery
from engine.tasks import (
    LANES,
    Cancellation,
    ErrorKind,
    Lane,
    TaskMessage,
    TaskResult,
    TaskStatus,
    WorkerPresence,
)

PATIENCE = 30.0  # only a broken bus takes this long
QUIET = 1.5  # seconds of silence that show nothing more is coming (> the tests' ack wait)

T = TypeVar("T")


class BusBackend(ABC):
    """Buses over one set of queues, and the clean-up of all of it."""

    @abstractmethod
    def open(self, **options: Any) -> TaskBus:
        """A bus on this backend's queues; every call must pass the same options."""

    @abstractmethod
    async def cleanup(self) -> None:
        """Close every bus opened and delete what they stored."""


def task(
    task_id: str = "t1",
    *,
    attempt: int = 1,
    lane: Lane = Lane.INTERACTIVE,
    tier: int = 0,
    **fields: Any,
) -> TaskMessage:
    return TaskMessage(
        task_id=task_id,
        attempt=attempt,
        execution_id="x1",
        scene="scene-1",
        branch="main",
        studio="studio-a",
        lane=lane,
        operation="generate_image",
        model="local-image",
        provider="local",
        content_key=f"key-{task_id}",
        tier=tier,
        **fields,
    )


def result(task_id: str, status: TaskStatus = TaskStatus.SUCCEEDED) -> TaskResult:
    return TaskResult(
        task_id=task_id,
        attempt=1,
        execution_id="x1",
        scene="scene-1",
        branch="main",
        status=status,
        artifact="ab" * 32,
        worker="worker-1",
    )


class Collector(Generic[T]):
    """Drains an async iterator in the background into a queue the test reads."""

    def __init__(self, source: AsyncIterator[T]) -> None:
        self.items: asyncio.Queue[T] = asyncio.Queue()
        self._source = source
        self._runner = asyncio.create_task(self._run())

    async def _run(self) -> None:
        async for item in self._source:
            self.items.put_nowait(item)

    async def next(self, within: float = PATIENCE) -> T:
        async with asyncio.timeout(within):
            return await self.items.get()

    async def nothing_within(self, seconds: float = QUIET) -> None:
        with contextlib.suppress(TimeoutError):
            item = await self.next(within=seconds)
            pytest.fail(f"nothing more was expected, got {item!r}")

    async def finished(self, within: float = PATIENCE) -> None:
        async with asyncio.timeout(within):
            await self._runner

    async def stop(self) -> None:
        self._runner.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._runner


def worker(bus: TaskBus, lanes: Sequence[Lane] = LANES) -> Collector[TaskDelivery]:
    return Collector(bus.tasks(lanes))


async def eventually_equal(get: Callable[[], Awaitable[object]], expected: object) -> None:
    """Wait until `await get()` equals `expected`; PATIENCE is the limit."""
    async with asyncio.timeout(PATIENCE):
        while True:
            if await get() == expected:
                return
            await asyncio.sleep(0.05)


class BusContract:
    """Every test gets its own queues through the subclass's `backend` fixture."""

    @pytest.fixture
    async def buses(self, backend: BusBackend) -> AsyncIterator[BusBackend]:
        try:
            yield backend
        finally:
            await backend.cleanup()

    # -- delivery -----------------------------------------------------------------

    async def test_a_task_arrives_whole_on_its_first_delivery(self, buses: BusBackend) -> None:
        bus = buses.open()
        sent = task(params={"prompt": "a red fox", "seed": 7}, inputs={"ref": "cd" * 32})
        await bus.publish_task(sent)
        taker = worker(bus)
        delivery = await taker.next()
        assert delivery.task == sent
        assert delivery.delivery_count == 1
        await delivery.ack()
        await taker.stop()

    async def test_a_repeated_message_id_is_delivered_once(self, buses: BusBackend) -> None:
        bus = buses.open()
        await bus.publish_task(task("t1"))
        await bus.publish_task(task("t1"))  # the dispatcher repeating itself
        await bus.publish_task(task("t1", attempt=2))  # a retry is a new message
        taker = worker(bus)
        got = [await taker.next(), await taker.next()]
        assert sorted(d.task.message_id for d in got) == ["t1:1", "t1:2"]
        for delivery in got:
            await delivery.ack()
        await taker.nothing_within(0.5)  # a duplicate would have been ready at once
        await taker.stop()

    async def test_competing_workers_never_hold_the_same_task(self, buses: BusBackend) -> None:
        first, second = buses.open(), buses.open()  # two processes, one queue
        names = [f"t{i}" for i in range(24)]
        for name in names:
            await first.publish_task(task(name))
        holding: set[str] = set()
        done: dict[str, list[str]] = {"a": [], "b": []}

        async def work(bus: TaskBus, me: str) -> None:
            async for delivery in bus.tasks([Lane.INTERACTIVE]):
                name = delivery.task.task_id
                assert name not in holding, f"{name} was delivered to two workers"
                assert delivery.delivery_count == 1
                holding.add(name)
                await asyncio.sleep(random.uniform(0.005, 0.03))
                holding.discard(name)
                await delivery.ack()
                done[me].append(name)

        workers = [asyncio.create_task(work(first, "a")), asyncio.create_task(work(second, "b"))]
        try:
            async with asyncio.timeout(PATIENCE):
                while len(done["a"]) + len(done["b"]) < len(names):
                    await asyncio.sleep(0.02)
                    for runner in workers:
                        if runner.done():
                            runner.result()  # re-raise a worker's assertion
            await asyncio.sleep(0.5)  # room for a duplicate to show up
        finally:
            for runner in workers:
                runner.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
        assert sorted(done["a"] + done["b"]) == sorted(names)
        assert done["a"] and done["b"], "both workers should have had a share"

    async def test_lanes_in_the_order_asked_and_higher_tiers_first(self, buses: BusBackend) -> None:
        bus = buses.open()
        for name, lane, tier in [
            ("p0", Lane.PREVIEW, 0),
            ("p2", Lane.PREVIEW, 2),
            ("x0", Lane.PRODUCTION, 0),
            ("i0", Lane.INTERACTIVE, 0),
            ("i1", Lane.INTERACTIVE, 1),
            ("i2", Lane.INTERACTIVE, 2),
            ("i0b", Lane.INTERACTIVE, 0),
        ]:
            await bus.publish_task(task(name, lane=lane, tier=tier))
        taker = worker(bus, [Lane.INTERACTIVE, Lane.PREVIEW])
        order = [(await taker.next()).task.task_id for _ in range(6)]
        assert order == ["i2", "i1", "i0", "i0b", "p2", "p0"]
        await taker.nothing_within(0.5)  # production was not asked for
        await taker.stop()
        production = worker(bus, [Lane.PRODUCTION])
        assert (await production.next()).task.task_id == "x0"
        await production.stop()

    async def test_a_worker_may_put_a_later_lane_first(self, buses: BusBackend) -> None:
        bus = buses.open()
        await bus.publish_task(task("i", lane=Lane.INTERACTIVE))
        await bus.publish_task(task("p", lane=Lane.PREVIEW))
        taker = worker(bus, [Lane.PREVIEW, Lane.INTERACTIVE])
        assert [(await taker.next()).task.task_id for _ in range(2)] == ["p", "i"]
        await taker.stop()

    # -- settling a delivery ----------------------------------------------------------

    async def test_nak_with_a_delay_redelivers_after_the_delay(self, buses: BusBackend) -> None:
        bus = buses.open()
        await bus.publish_task(task())
        taker = worker(bus)
        first = await taker.next()
        naked_at = time.monotonic()
        await first.nak(delay=1.5)
        again = await taker.next()
        assert time.monotonic() - naked_at >= 1.2
        assert (again.task, again.delivery_count) == (first.task, 2)
        await again.ack()
        await taker.stop()

    async def test_term_is_never_redelivered(self, buses: BusBackend) -> None:
        bus = buses.open(ack_wait=1.0)
        await bus.publish_task(task())
        taker = worker(bus)
        await (await taker.next()).term()
        await taker.nothing_within()
        assert (await bus.queue_depth())[Lane.INTERACTIVE] == 0
        await taker.stop()

    async def test_an_unacked_delivery_comes_back_after_the_ack_wait(
        self, buses: BusBackend
    ) -> None:
        bus = buses.open(ack_wait=1.0)
        await bus.publish_task(task())
        taker = worker(bus)
        first = await taker.next()
        taken_at = time.monotonic()
        again = await taker.next()  # `first` is never settled: its worker "died"
        assert time.monotonic() - taken_at >= 0.8
        assert (again.task, again.delivery_count) == (first.task, 2)
        await again.ack()
        await taker.nothing_within()
        await taker.stop()

    async def test_in_progress_keeps_a_slow_task_from_coming_back(self, buses: BusBackend) -> None:
        bus = buses.open(ack_wait=1.0)
        await bus.publish_task(task())
        taker = worker(bus)
        slow = await taker.next()
        until = time.monotonic() + 2.2  # more than twice the ack wait
        while time.monotonic() < until:
            await slow.in_progress()
            await asyncio.sleep(0.25)
        assert taker.items.empty(), "the task came back while it was in progress"
        await slow.ack()
        await taker.nothing_within()
        await taker.stop()

    async def test_max_deliver_ends_in_exactly_one_lost_result(self, buses: BusBackend) -> None:
        bus = buses.open(ack_wait=1.0, max_deliver=2)
        await bus.publish_task(task("doomed", description="rendering shot 2"))
        taker = worker(bus)
        first = await taker.next()
        await first.nak()  # the first worker gives up at once, the second just dies
        second = await taker.next()
        assert second.delivery_count == 2
        results = Collector(bus.results())
        lost = await results.next()
        assert (lost.result.task_id, lost.result.attempt) == ("doomed", 1)
        assert lost.result.status is TaskStatus.FAILED
        assert lost.result.error is not None and lost.result.error.kind is ErrorKind.LOST
        assert "2 deliveries" in lost.result.error.message
        await lost.ack()
        await taker.nothing_within()
        await results.nothing_within(0.5)
        await eventually_equal(bus.queue_depth, dict.fromkeys(LANES, 0))
        await taker.stop()
        await results.stop()

    # -- results --------------------------------------------------------------------

    async def test_results_are_delivered_until_acked(self, buses: BusBackend) -> None:
        engine = buses.open(ack_wait=1.0)
        await engine.publish_result(result("t1"))
        await engine.publish_result(result("t2"))
        await engine.publish_result(result("t1"))  # a worker repeating itself
        first: Collector[ResultDelivery] = Collector(engine.results())
        got = [await first.next(), await first.next()]
        assert [d.result.task_id for d in got] == ["t1", "t2"]
        await got[1].ack()
        await first.stop()  # the engine stopped before it acked t1
        second: Collector[ResultDelivery] = Collector(engine.results())
        again = await second.next()
        assert again.result == result("t1")
        await again.ack()
        await second.nothing_within()
        await second.stop()

    async def test_results_reach_an_engine_in_another_process(self, buses: BusBackend) -> None:
        workers_side, engine_side = buses.open(), buses.open()
        engine: Collector[ResultDelivery] = Collector(engine_side.results())
        await workers_side.publish_result(result("t1", TaskStatus.FAILED))
        delivery = await engine.next()
        assert delivery.result == result("t1", TaskStatus.FAILED)
        await delivery.ack()
        await engine.stop()

    # -- cancellations ----------------------------------------------------------------

    async def test_cancellations_reach_every_listener(self, buses: BusBackend) -> None:
        first, second = buses.open(), buses.open()
        listeners = [Collector(first.cancellations()), Collector(second.cancellations())]
        # A listener hears what is sent once it listens; wait until both do.
        warm_up = Cancellation(execution_id="warm-up")
        async with asyncio.timeout(PATIENCE):
            heard = [False, False]
            while not all(heard):
                await first.cancel(warm_up)
                await asyncio.sleep(0.05)
                for i, listener in enumerate(listeners):
                    while not listener.items.empty():
                        if listener.items.get_nowait() == warm_up:
                            heard[i] = True
        sent = [
            Cancellation(execution_id="x1", task_id="t1", reason="user"),
            Cancellation(execution_id="x2"),
        ]
        for cancellation in sent:
            await second.cancel(cancellation)
        for listener in listeners:
            got = [c async for c in _skip(listener, warm_up, len(sent))]
            assert got == sent
            await listener.stop()

    # -- depth and shutdown ---------------------------------------------------------

    async def test_queue_depth_counts_unfinished_tasks_per_lane(self, buses: BusBackend) -> None:
        bus = buses.open()
        assert await bus.queue_depth() == dict.fromkeys(LANES, 0)
        for name in ("a", "b", "c", "a"):
            await bus.publish_task(task(name))
        await bus.publish_task(task("p", lane=Lane.PREVIEW))
        expected = {Lane.INTERACTIVE: 3, Lane.PREVIEW: 1, Lane.PRODUCTION: 0}
        assert await bus.queue_depth() == expected
        taker = worker(bus, [Lane.INTERACTIVE])
        delivery = await taker.next()
        await delivery.ack()
        await eventually_equal(bus.queue_depth, {**expected, Lane.INTERACTIVE: 2})
        await (await taker.next()).term()
        await eventually_equal(bus.queue_depth, {**expected, Lane.INTERACTIVE: 1})
        await taker.stop()

    async def test_workers_that_announced_themselves_lately_are_known(
        self, buses: BusBackend
    ) -> None:
        """Workers say which lanes they serve; another process's bus hears it, and a
        worker silent for three of its periods is gone."""
        bus, elsewhere = buses.open(), buses.open()
        now = time.time()
        await bus.announce(WorkerPresence("host:1:0", (Lane.PREVIEW,), now, 5.0))
        await bus.announce(WorkerPresence("host:2:0", (Lane.INTERACTIVE,), now - 16.0, 5.0))
        await bus.announce(WorkerPresence("host:1:0", (Lane.PREVIEW, Lane.PRODUCTION), now, 5.0))
        found = await elsewhere.workers()
        if not found:  # another process's bus may hear it a moment later
            await eventually_equal(lambda: _names(elsewhere), ["host:1:0"])
            found = await elsewhere.workers()
        assert [(w.name, w.lanes) for w in found] == [("host:1:0", (Lane.PREVIEW, Lane.PRODUCTION))]

    async def test_close_ends_every_iterator(self, buses: BusBackend) -> None:
        bus = buses.open()
        await bus.publish_task(task())
        tasks, results = worker(bus), Collector(bus.results())
        cancellations = Collector(bus.cancellations())
        await (await tasks.next()).ack()  # the task iterator is surely running
        await bus.close()  # whether or not the other two have started yet
        for iterator in (tasks, results, cancellations):
            await iterator.finished()
        assert [d async for d in bus.tasks(LANES)] == []
        with pytest.raises(BusClosed):
            await bus.publish_task(task("late"))


async def _skip(listener: Collector[T], unwanted: T, count: int) -> AsyncIterator[T]:
    """The next `count` items of `listener` that are not `unwanted`."""
    while count:
        item = await listener.next()
        if item != unwanted:
            count -= 1
            yield item


async def _names(bus: TaskBus) -> list[str]:
    return [worker.name for worker in await bus.workers()]
