"""The worker loop: take tasks from the bus, run their operation, store the artifact,
report the result. Workers need no database.

Per delivery: a RUNNING result when it starts, heartbeats (`in_progress`) while it
runs, then SUCCEEDED and ack; or, on a transient failure, `nak` with the retry
policy's delay; or, on a permanent failure or when the policy gives up, FAILED and
`term`. A cancellation from the bus stops a running task within a heartbeat.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from engine.errors import ScenestateError, TaskFailure
from engine.ports import ArtifactStore, Operation, TaskBus, TaskDelivery, TaskOutput
from engine.retry import RetryPolicy, policy_for
from engine.tasks import (
    Cancellation,
    ErrorKind,
    Lane,
    TaskError,
    TaskMessage,
    TaskMetrics,
    TaskResult,
    TaskStatus,
    WorkerPresence,
)

log = logging.getLogger("scenestate.worker")


@dataclass
class ProviderLimit:
    """At most `concurrency` calls at once and `per_second` calls a second to a provider."""

    concurrency: int = 4
    per_second: float = 0.0  # 0: no rate limit
    _slots: asyncio.Semaphore = field(init=False)
    _next_start: float = field(default=0.0, init=False)

    def __post_init__(self) -> None:
        self._slots = asyncio.Semaphore(self.concurrency)

    @contextlib.asynccontextmanager
    async def held(self):  # type: ignore[no-untyped-def]
        async with self._slots:
            if self.per_second > 0:
                now = time.monotonic()
                start = max(now, self._next_start)
                self._next_start = start + 1.0 / self.per_second
                await asyncio.sleep(start - now)
            yield


class _Context:
    def __init__(self, delivery: TaskDelivery, artifacts: ArtifactStore, every: float) -> None:
        self._delivery = delivery
        self._artifacts = artifacts
        self._every = every
        self._last = time.monotonic()

    @property
    def tries(self) -> int:
        return self._delivery.delivery_count - 1

    async def input(self, name: str) -> bytes:
        artifact = self._delivery.task.inputs.get(name)
        if artifact is None:
            raise TaskFailure(ErrorKind.INVALID_INPUT, f"the task has no input {name!r}")
        return await self._artifacts.get(artifact)

    async def heartbeat(self) -> None:
        if time.monotonic() - self._last >= self._every:
            self._last = time.monotonic()
            await self._delivery.in_progress()


ANNOUNCE_AFTER = 0.2  # seconds a task runs before the worker reports it running
PRESENCE_EVERY = 5.0  # seconds between a worker's announcements that it is there


class Worker:
    def __init__(
        self,
        bus: TaskBus,
        artifacts: ArtifactStore,
        operations: Mapping[tuple[str, str], Operation],
        lanes: Sequence[Lane],
        *,
        name: str,
        concurrency: int = 2,
        heartbeat: float = 5.0,
        task_timeout: float = 900.0,
        policies: Mapping[str, RetryPolicy] | None = None,
        limits: Mapping[str, ProviderLimit] | None = None,
    ) -> None:
        self.bus, self.artifacts, self.operations = bus, artifacts, operations
        self.lanes = list(lanes)
        self.name = name
        self.concurrency = concurrency
        self.heartbeat = heartbeat
        self.task_timeout = task_timeout
        self.policies = policies
        self.limits = dict(limits or {})
        self._running: dict[str, tuple[TaskMessage, asyncio.Task[TaskOutput]]] = {}
        # canceled task or execution -> the attempt canceled (0: every attempt); a
        # retry's later attempt of the task runs
        self._canceled: dict[str, int] = {}

    async def run(self) -> None:
        """Serve tasks until cancelled, saying now and then that it is there."""
        listener = asyncio.create_task(self._listen_for_cancellations())
        announcer = asyncio.create_task(self._announce())
        slots = asyncio.Semaphore(self.concurrency)
        handlers: set[asyncio.Task[None]] = set()
        # the slot just taken, plus any still free
        free = lambda: self.concurrency - len(handlers)  # noqa: E731
        deliveries = aiter(self.bus.tasks(self.lanes, capacity=free))
        try:
            while True:
                # take a slot before taking a task: a task held without a slot would
                # get no heartbeats and be redelivered to another worker meanwhile
                await slots.acquire()
                try:
                    delivery = await anext(deliveries)
                except StopAsyncIteration:
                    slots.release()
                    return
                handler = asyncio.create_task(self._handle(delivery))
                handlers.add(handler)
                handler.add_done_callback(handlers.discard)
                handler.add_done_callback(lambda _: slots.release())
        finally:
            listener.cancel()
            announcer.cancel()
            for handler in handlers:
                handler.cancel()
            await asyncio.gather(listener, announcer, *handlers, return_exceptions=True)

    async def _announce(self) -> None:
        """Tell the bus which lanes this worker serves, every `PRESENCE_EVERY` seconds,
        so that whoever waits on its lanes knows someone works them."""
        while True:
            presence = WorkerPresence(self.name, tuple(self.lanes), time.time(), PRESENCE_EVERY)
            try:
                await self.bus.announce(presence)
            except ScenestateError as exc:  # the bus is down: the tasks will say so too
                log.warning("worker %s could not announce itself: %s", self.name, exc)
            await asyncio.sleep(PRESENCE_EVERY)

    async def _handle(self, delivery: TaskDelivery) -> None:
        task = delivery.task
        if self._is_canceled(task):
            await self._report(task, TaskStatus.CANCELED)
            await delivery.term()
            return
        operation = self.operations.get((task.provider, task.operation))
        if operation is None:
            message = f"this worker has no operation {task.operation!r} of {task.provider!r}"
            await self._report(task, TaskStatus.FAILED, TaskError(ErrorKind.INVALID_INPUT, message))
            await delivery.term()
            return
        queue_wait = max(time.time() - task.published_at, 0.0) if task.published_at else 0.0
        started = time.monotonic()
        try:
            output = await self._run(operation, delivery, queue_wait)
        except asyncio.CancelledError:
            if self._is_canceled(task):
                await self._report(task, TaskStatus.CANCELED)
                await delivery.term()
                return
            raise
        except TaskFailure as failure:
            await self._failed(delivery, failure, time.monotonic() - started)
            return
        except Exception as exc:  # an operation's own bug: retried like any transient error
            log.exception("task %s crashed", task.task_id)
            crash = TaskFailure(ErrorKind.INTERNAL, f"{type(exc).__name__}: {exc}")
            await self._failed(delivery, crash, time.monotonic() - started)
            return
        run_time = time.monotonic() - started
        artifact = None
        if output.data is not None:
            artifact = await self.artifacts.put(output.data, output.media_type)
        metrics = TaskMetrics(
            queue_wait=queue_wait,
            run_time=run_time,
            cost=output.cost,
            deliveries=delivery.delivery_count,
        )
        await self._report(
            task, TaskStatus.SUCCEEDED, artifact=artifact, outputs=output.outputs, metrics=metrics
        )
        await delivery.ack()

    async def _run(
        self, operation: Operation, delivery: TaskDelivery, queue_wait: float
    ) -> TaskOutput:
        task = delivery.task
        context = _Context(delivery, self.artifacts, self.heartbeat)
        limit = self.limits.get(task.provider)
        running = asyncio.create_task(self._call(operation, task, context, limit))
        # its outcome is read below, unless the worker is stopped at that moment: then
        # it is seen here, not logged as an exception nobody retrieved
        running.add_done_callback(lambda done: done.cancelled() or done.exception())
        self._running[task.task_id] = (task, running)
        try:
            # A task over within moments is reported once, by its outcome (which
            # implies it started); a longer one says it is running first.
            done, _ = await asyncio.wait({running}, timeout=min(ANNOUNCE_AFTER, self.heartbeat))
            if done:
                return running.result()
            await self._report(task, TaskStatus.RUNNING, metrics=TaskMetrics(queue_wait=queue_wait))
            while True:
                done, _ = await asyncio.wait({running}, timeout=self.heartbeat)
                if done:
                    return running.result()
                await delivery.in_progress()
        finally:
            self._running.pop(task.task_id, None)
            if not running.done():
                running.cancel()

    async def _call(
        self,
        operation: Operation,
        task: TaskMessage,
        context: _Context,
        limit: ProviderLimit | None,
    ) -> TaskOutput:
        try:
            async with asyncio.timeout(self.task_timeout):
                if limit is None:
                    return await operation.run(task, context)
                async with limit.held():
                    return await operation.run(task, context)
        except TimeoutError:
            raise TaskFailure(
                ErrorKind.TIMEOUT, f"ran longer than {self.task_timeout:g} s"
            ) from None

    async def _failed(self, delivery: TaskDelivery, failure: TaskFailure, run_time: float) -> None:
        task = delivery.task
        kind = ErrorKind(failure.kind)
        policy = policy_for(task.operation, self.policies)
        delay = policy.next_delay(delivery.delivery_count, kind, failure.retry_after)
        if delay is not None:
            log.info("task %s: %s; retrying in %.1f s", task.task_id, failure, delay)
            await delivery.nak(delay)
            return
        error = TaskError(kind, failure.message, failure.retry_after)
        metrics = TaskMetrics(run_time=run_time, deliveries=delivery.delivery_count)
        await self._report(task, TaskStatus.FAILED, error, metrics=metrics)
        await delivery.term()

    async def _report(
        self,
        task: TaskMessage,
        status: TaskStatus,
        error: TaskError | None = None,
        *,
        artifact: str | None = None,
        outputs: Mapping[str, object] | None = None,
        metrics: TaskMetrics | None = None,
    ) -> None:
        await self.bus.publish_result(
            TaskResult(
                task_id=task.task_id,
                attempt=task.attempt,
                execution_id=task.execution_id,
                scene=task.scene,
                branch=task.branch,
                status=status,
                artifact=artifact,
                outputs=dict(outputs or {}),
                error=error,
                metrics=metrics or TaskMetrics(),
                worker=self.name,
                studio=task.studio,
                operation=task.operation,
            )
        )

    async def _listen_for_cancellations(self) -> None:
        async for cancellation in self.bus.cancellations():
            self._cancel(cancellation)

    def _cancel(self, cancellation: Cancellation) -> None:
        target = cancellation.task_id or cancellation.execution_id
        self._canceled[target] = cancellation.attempt
        if len(self._canceled) > 10_000:
            del self._canceled[next(iter(self._canceled))]  # the oldest
        for _, (task, running) in list(self._running.items()):
            if self._is_canceled(task):
                running.cancel()

    def _is_canceled(self, task: TaskMessage) -> bool:
        """Whether this attempt of `task` was canceled (a later one, a retry, was not)."""
        for target in (task.task_id, task.execution_id):
            upto = self._canceled.get(target)
            if upto is not None and (upto == 0 or task.attempt <= upto):
                return True
        return False
